/**
 * /api/v1/tenants: tenants own scopes, and a delegated TUF role of their own signs those
 * scopes' trust documents (service/repo/tenants.ts). Adding and removing tenants is admin-only
 * (default deny in middleware/auth.ts; `audited` checks again). An offline tenant's pending
 * roles (service/repo/tenant-pending.ts) may be read and signed by an admin, or by an editor
 * whose patterns cover all of the tenant's (service/auth/authorize.ts).
 */
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { AppEnv } from '../context.js';
import { ErrorBody } from '../schemas.js';
import { validationHook } from '../validation.js';
import { audited } from '../authz.js';
import { Actions } from '../../auth/authorize.js';

export const TENANT_ADD = 'tenant.add';
export const TENANT_REMOVE = 'tenant.remove';

const json = <T extends z.ZodType>(schema: T, description: string) => ({ content: { 'application/json': { schema } }, description });
const errors = {
  400: json(ErrorBody, 'invalid request (TENANT_INVALID, SCOPE_INVALID, TENANT_OVERLAP)'),
  401: json(ErrorBody, 'missing or invalid token'),
  403: json(ErrorBody, 'not allowed for this token'),
  404: json(ErrorBody, 'no such tenant (TENANT_NOT_FOUND), or nothing to sign (NOTHING_TO_SIGN)'),
  409: json(ErrorBody, 'the tenant exists (TENANT_EXISTS), or the signatures are over a pending set since rebuilt (STALE_SIGNING_REQUEST)'),
};

const Tenant = z
  .object({
    name: z.string(),
    role: z.string().openapi({ description: 'the delegated TUF role that signs the tenant\'s trust documents' }),
    binPrefix: z.string(),
    bins: z.number(),
    patterns: z.array(z.string()),
    offline: z.boolean(),
    keyid: z.string(),
    published: z.boolean(),
    awaitingSignature: z.boolean().openapi({ description: 'an offline tenant\'s roles wait for its signature' }),
    scopes: z.array(z.string()),
    createdAt: z.string(),
  })
  .openapi('Tenant');
const TenantCreate = z
  .object({
    name: z.string().min(1).max(40),
    scopes: z.array(z.string().min(1)).min(1).max(64).openapi({ description: 'scope patterns the tenant owns: each a scope and everything under it' }),
    offline: z.boolean().optional().openapi({ description: 'the tenant holds its role key; give its public key. Its delegation is published once it signs its first roles' }),
    publicKey: z.string().optional().openapi({ description: 'PEM public key (Ed25519 or ECDSA P-256) of an offline tenant\'s role key' }),
    token: z.boolean().optional().openapi({ description: 'also issue an editor token restricted to the tenant\'s scopes (shown once)' }),
  })
  .openapi('TenantCreate');
const CreatedToken = z.object({ id: z.string(), token: z.string(), role: z.string(), scopes: z.array(z.string()).nullable(), expiresAt: z.string().nullable() });
const Published = z.object({ timestampVersion: z.number(), rolesSigned: z.array(z.string()) }).passthrough();
const NameParam = z.object({ name: z.string().min(1).openapi({ param: { name: 'name', in: 'path' }, example: 'team-a' }) });

const listTenants = createRoute({
  method: 'get',
  path: '/tenants',
  tags: ['tenants'],
  summary: 'List tenants',
  responses: { 200: json(z.object({ tenants: z.array(Tenant) }), 'every tenant'), ...errors },
});
const getTenant = createRoute({
  method: 'get',
  path: '/tenants/{name}',
  tags: ['tenants'],
  summary: 'Read a tenant',
  request: { params: NameParam },
  responses: { 200: json(z.object({ tenant: Tenant }), 'the tenant'), ...errors },
});
const addTenant = createRoute({
  method: 'post',
  path: '/tenants',
  tags: ['tenants'],
  summary: 'Create a tenant: a delegated role of its own signs the trust documents of its scopes',
  request: { body: { content: { 'application/json': { schema: TenantCreate } }, required: true } },
  responses: { 201: json(z.object({ tenant: Tenant, published: Published.nullable(), token: CreatedToken.optional() }), 'created and published'), ...errors },
});

const removeTenant = createRoute({
  method: 'delete',
  path: '/tenants/{name}',
  tags: ['tenants'],
  summary: 'Remove a tenant: its delegation leaves targets, and its scopes go back under "trust", in one publish',
  request: { params: NameParam },
  responses: { 200: json(z.object({ removed: z.string(), published: Published.nullable() }), 'removed'), ...errors },
});

const PendingRole = z.object({
  role: z.string(),
  version: z.number(),
  signed: z.record(z.string(), z.unknown()).openapi({ description: 'the `signed` part of the role\'s TUF metadata' }),
  canonical: z.string().openapi({ description: 'its canonical JSON (TUF spec 4.2): the exact bytes (UTF-8) to sign' }),
});
const Pending = z
  .object({
    id: z.string().openapi({ description: 'names this set; send it back with the signatures' }),
    kind: z.enum(['add', 'update']).openapi({ description: 'add: the tenant\'s first roles; update: new versions of its roles' }),
    createdAt: z.string(),
    keyid: z.string().openapi({ description: 'the TUF keyid of the tenant\'s key: the only key that may sign' }),
    roles: z.array(PendingRole),
    documents: z.array(z.object({ scope: z.string(), version: z.number(), deleted: z.boolean() })).openapi({ description: 'the trust documents published with the roles' }),
  })
  .openapi('TenantPending');
const Signatures = z
  .object({
    id: z.string().min(1).max(128),
    signatures: z
      .array(z.object({ role: z.string().min(1).max(200), keyid: z.string().min(1).max(128), sig: z.string().min(1).max(1024).openapi({ description: 'hex signature over `canonical`' }) }))
      .min(1)
      .max(512),
  })
  .openapi('TenantSignatures');

const getPending = createRoute({
  method: 'get',
  path: '/tenants/{name}/pending',
  tags: ['tenants'],
  summary: 'The roles of an offline tenant waiting for its signature (null: nothing to sign)',
  request: { params: NameParam },
  responses: { 200: json(z.object({ tenant: z.string(), pending: Pending.nullable() }), 'the pending set, or null'), ...errors },
});
const postSignatures = createRoute({
  method: 'post',
  path: '/tenants/{name}/signatures',
  tags: ['tenants'],
  summary: 'Sign an offline tenant\'s pending roles: checked with its registered key, then published with snapshot and timestamp',
  request: { params: NameParam, body: { content: { 'application/json': { schema: Signatures } }, required: true } },
  responses: {
    201: json(z.object({ tenant: Tenant, published: Published, signed: z.array(z.object({ role: z.string(), version: z.number() })) }), 'signed and published'),
    ...errors,
    400: json(ErrorBody, 'a signature is missing (SIGNATURE_MISSING), by another key (UNKNOWN_KEY) or does not verify (BAD_SIGNATURE)'),
  },
});

/** The tenant service, built once with the instance (service/instance.ts). */
const service = (c: { get(k: 'instance'): AppEnv['Variables']['instance'] }) => c.get('instance').tenants;

export function tenantRoutes(): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.openapi(listTenants, async (c) => c.json({ tenants: await service(c).list() }, 200));
  app.openapi(getTenant, async (c) => c.json({ tenant: await service(c).get(c.req.valid('param').name) }, 200));
  app.openapi(removeTenant, async (c) => {
    const { name } = c.req.valid('param');
    const result = await audited(c, { action: TENANT_REMOVE, target: name, scopes: [null] }, () => service(c).remove(name));
    return c.json(result as never, 200);
  });
  app.openapi(getPending, async (c) => {
    const { name } = c.req.valid('param');
    const tenants = service(c);
    const scopes = await tenants.patterns(name);
    const pending = await audited(c, { action: Actions.TENANT_PENDING, target: name, scope: scopes.length === 1 ? scopes[0] : null, scopes }, () => tenants.pending(name));
    return c.json({ tenant: name, pending } as never, 200);
  });
  app.openapi(postSignatures, async (c) => {
    const { name } = c.req.valid('param');
    const body = c.req.valid('json');
    const tenants = service(c);
    const scopes = await tenants.patterns(name);
    const details = { id: body.id, roles: body.signatures.map((s) => s.role) };
    const result = await audited(c, { action: Actions.TENANT_SIGN, target: name, scope: scopes.length === 1 ? scopes[0] : null, scopes, details }, () => tenants.sign(name, body));
    return c.json(result as never, 201);
  });
  app.openapi(addTenant, async (c) => {
    const body = c.req.valid('json');
    const result = await audited(c, { action: TENANT_ADD, target: body.name, scopes: [null], details: { scopes: body.scopes, offline: body.offline ?? false } }, () =>
      service(c).add(c.get('principal').tokenId, body),
    );
    if (result.token) c.header('cache-control', 'no-store');
    return c.json(result as never, 201);
  });
  return app;
}
