/**
 * /api/v1/tenants: tenants own scopes, and a delegated TUF role of their own signs those
 * scopes' trust documents (service/repo/tenants.ts). Writes are admin-only (default deny in
 * middleware/auth.ts; `audited` checks again).
 */
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { AppEnv } from '../context.js';
import { ErrorBody } from '../schemas.js';
import { validationHook } from '../validation.js';
import { audited } from '../authz.js';
import { TenantService } from '../../tenant-service.js';

export const TENANT_ADD = 'tenant.add';

const json = <T extends z.ZodType>(schema: T, description: string) => ({ content: { 'application/json': { schema } }, description });
const errors = {
  400: json(ErrorBody, 'invalid request (TENANT_INVALID, SCOPE_INVALID, TENANT_OVERLAP)'),
  401: json(ErrorBody, 'missing or invalid token'),
  403: json(ErrorBody, 'not an admin token'),
  404: json(ErrorBody, 'no such tenant (TENANT_NOT_FOUND)'),
  409: json(ErrorBody, 'the tenant exists (TENANT_EXISTS)'),
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
    scopes: z.array(z.string()),
    createdAt: z.string(),
  })
  .openapi('Tenant');
const TenantCreate = z
  .object({
    name: z.string().min(1).max(40),
    scopes: z.array(z.string().min(1)).min(1).max(64).openapi({ description: 'scope patterns the tenant owns: each a scope and everything under it' }),
    offline: z.boolean().optional().openapi({ description: 'the tenant holds its role key; give its public key' }),
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

const service = (c: { get(k: 'instance'): AppEnv['Variables']['instance'] }) => {
  const { dataDir, store, publisher, tokens } = c.get('instance');
  return new TenantService({ dataDir, store, publisher, tokens });
};

export function tenantRoutes(): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.openapi(listTenants, async (c) => c.json({ tenants: await service(c).list() }, 200));
  app.openapi(getTenant, async (c) => c.json({ tenant: await service(c).get(c.req.valid('param').name) }, 200));
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
