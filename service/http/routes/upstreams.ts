/**
 * Upstreams (issue 5, CONTRACT.md "CLI" `upstream`, `sync`): other keyshare services this one
 * follows, in `federate` or `mirror` mode. Every write here is admin-only (the default deny of
 * middleware/auth.ts) and audited.
 *
 *   GET    /api/v1/upstreams                list (name, url, mode, version, lastSuccessAt, lastError ...)
 *   POST   /api/v1/upstreams                add one, then sync it once
 *   GET    /api/v1/upstreams/{name}         one
 *   DELETE /api/v1/upstreams/{name}         remove it, its mirror and the scopes only it defines
 *   POST   /api/v1/upstreams/{name}/sync    sync now
 *   POST   /api/v1/sync                     sync every online upstream now
 */
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { AppEnv } from '../context.js';
import { ErrorBody } from '../schemas.js';
import { validationHook } from '../validation.js';
import { audited, authorizeFor } from '../authz.js';
import type { Upstreams } from '../../federation.js';
import { Codes, KeyshareError } from '../../errors.js';
import { DryRunQuery, isDryRun, planned } from '../dry-run.js';
import { FederationCodes } from '../../domain/federation.js';

const json = <T extends z.ZodType>(schema: T, description: string) => ({ content: { 'application/json': { schema } }, description });
const errors = {
  400: json(ErrorBody, 'invalid request: UPSTREAM_INVALID, ROOT_INVALID, SCOPE_INVALID, UPSTREAM_NOT_POLLED, UPSTREAM_LOOP'),
  401: json(ErrorBody, 'missing or invalid token'),
  403: json(ErrorBody, 'upstreams need an admin token'),
  404: json(ErrorBody, FederationCodes.UPSTREAM_NOT_FOUND),
  409: json(ErrorBody, FederationCodes.UPSTREAM_EXISTS),
};

export const UpstreamView = z
  .object({
    name: z.string(),
    url: z.string().openapi({ description: 'the upstream service, or `bundle:<origin>` for the origin of imported bundles' }),
    mode: z.string().openapi({ description: 'federate or mirror' }),
    scopes: z.array(z.string()).nullable().openapi({ description: 'scope patterns followed (null: everything)' }),
    version: z.number().nullable().openapi({ description: "the upstream's timestamp version last accepted" }),
    lastSuccessAt: z.string().nullable(),
    lastError: z.string().nullable().openapi({ description: '`CODE: message` of the last failed sync; null after a good one' }),
    createdAt: z.string(),
    authenticated: z.boolean().openapi({ description: 'whether a token is sent to the upstream (the token itself is never shown)' }),
    kind: z.enum(['online', 'bundle']),
    origin: z.string().nullable().openapi({ description: "the upstream repository's identity (origin ID)" }),
    federatedScopes: z.number().nullable(),
    conflicts: z.array(z.string()).openapi({ description: 'scopes the upstream defines that are defined locally here: left out' }),
    mirror: z.string().nullable().openapi({ description: 'where the repository is served byte for byte (mirror mode)' }),
    expires: z.string().nullable(),
  })
  .openapi('Upstream');

const UpstreamCreate = z
  .object({
    name: z.string().min(1).max(64),
    url: z.string().min(1).max(2048),
    root: z.string().min(1).max(512_000).openapi({ description: "the upstream's root.json, pinned out of band (the file's text)" }),
    mode: z.enum(['federate', 'mirror']).optional(),
    scopes: z.array(z.string()).max(1000).nullable().optional().openapi({ description: 'scope patterns: a scope and everything under it (default: everything)' }),
    token: z
      .string()
      .max(16_384)
      .nullable()
      .optional()
      .openapi({ description: "a bearer token of the upstream (e.g. a reader token there), sent to its feed and repository only: it gets the feed's reserved slots. Stored, never shown" }),
    reportToken: z.string().max(300).nullable().optional().openapi({ description: "a `client` token of the upstream: this service then reports its own clients' rollout there after each sync (federate mode)" }),
    ca: z.string().max(256 * 1024).nullable().optional().openapi({ description: "oci:// only: PEM CA certificate(s) for the registry's TLS certificate (default: the service's)" }),
    insecure: z.boolean().optional().openapi({ description: 'oci:// only: plain HTTP, for a registry on loopback only' }),
  })
  .openapi('UpstreamCreate');

export const SyncOutcome = z
  .object({
    name: z.string(),
    ok: z.boolean(),
    changed: z.boolean(),
    timestampVersion: z.number().nullable(),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
    scopes: z.object({ created: z.array(z.string()), updated: z.array(z.string()), removed: z.array(z.string()), conflicts: z.array(z.string()) }).optional(),
    revocationsAdded: z.number().optional(),
    crlsUpdated: z.array(z.string()).optional().openapi({ description: 'federate: the CA anchors whose CRL from this upstream was stored (newer than the one held)' }),
    crlErrors: z
      .array(z.object({ issuer: z.string(), code: z.string(), message: z.string() }))
      .optional()
      .openapi({ description: 'federate: CRLs of this upstream that were refused (e.g. ROLLBACK: older than the one held); also in lastError' }),
    mirrorFiles: z.number().optional(),
  })
  .openapi('SyncOutcome');

const NameParam = z.object({ name: z.string().min(1).openapi({ param: { name: 'name', in: 'path' }, example: 'hq' }) });

const list = createRoute({
  method: 'get',
  path: '/upstreams',
  tags: ['upstreams'],
  summary: 'List upstreams with their sync state',
  responses: { 200: json(z.object({ upstreams: z.array(UpstreamView) }), 'every upstream'), ...errors },
});
const get = createRoute({
  method: 'get',
  path: '/upstreams/{name}',
  tags: ['upstreams'],
  summary: 'Read one upstream',
  request: { params: NameParam },
  responses: { 200: json(z.object({ upstream: UpstreamView }), 'the upstream'), ...errors },
});
const add = createRoute({
  method: 'post',
  path: '/upstreams',
  tags: ['upstreams'],
  summary: 'Follow an upstream keyshare service (federate its scopes, or mirror its repository); syncs it once',
  request: { query: DryRunQuery, body: { content: { 'application/json': { schema: UpstreamCreate } }, required: true } },
  responses: {
    200: json(z.object({ upstream: UpstreamView, sync: SyncOutcome, plan: z.array(z.any()), dryRun: z.boolean() }), 'with dryRun: the plan of following it (its first sync, rolled back); a failed sync is an error'),
    201: json(z.object({ upstream: UpstreamView, sync: SyncOutcome }), 'added (the first sync may have failed: see sync.error)'),
    ...errors,
  },
});
const remove = createRoute({
  method: 'delete',
  path: '/upstreams/{name}',
  tags: ['upstreams'],
  summary: 'Stop following an upstream: its mirror and the federated scopes only it defines go',
  request: { params: NameParam, query: DryRunQuery },
  responses: { 200: json(z.object({ removed: z.string(), scopesRemoved: z.array(z.string()), plan: z.array(z.any()).optional(), dryRun: z.boolean().optional() }), 'removed (or, with dryRun, planned)'), ...errors },
});
const syncOne = createRoute({
  method: 'post',
  path: '/upstreams/{name}/sync',
  tags: ['upstreams'],
  summary: 'Sync one upstream now',
  request: { params: NameParam, query: DryRunQuery },
  responses: { 200: json(z.object({ results: z.array(SyncOutcome), plan: z.array(z.any()).optional(), dryRun: z.boolean().optional() }), 'the outcome (a failed sync is reported in it; with dryRun, the plan, and a failed read is an error)'), ...errors },
});
const syncAll = createRoute({
  method: 'post',
  path: '/sync',
  tags: ['upstreams'],
  summary: 'Sync every online upstream now',
  request: { query: DryRunQuery },
  responses: { 200: json(z.object({ results: z.array(SyncOutcome), plan: z.array(z.any()).optional(), dryRun: z.boolean().optional() }), 'one outcome per upstream (with dryRun, and the plan)'), ...errors },
});

export function upstreamRoutes(): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  const manager = (c: { get(k: 'upstreams'): Upstreams | null }): Upstreams => {
    const upstreams = c.get('upstreams');
    if (!upstreams) throw new KeyshareError(Codes.INTERNAL, 'this app was built without upstreams (createApp deps.upstreams: service/composition.ts)');
    return upstreams;
  };
  app.openapi(list, async (c) => c.json({ upstreams: await manager(c).list() }, 200));
  app.openapi(get, async (c) => c.json({ upstream: await manager(c).get(c.req.valid('param').name) }, 200));
  app.openapi(add, async (c) => {
    const body = c.req.valid('json');
    const input = { name: body.name, url: body.url, root: body.root, mode: body.mode, scopes: body.scopes ?? null, token: body.token ?? null, reportToken: body.reportToken ?? null, ca: body.ca ?? null, insecure: body.insecure };
    if (isDryRun(c)) {
      // Issue 21: the plan of the add and its first sync, by the same code, rolled back.
      const { result, plan } = await planned(c, 'upstream.add', [null], () => manager(c).add(input));
      return c.json({ ...result, plan, dryRun: true }, 200);
    }
    const r = await audited(
      c,
      {
        action: 'upstream.add',
        scopes: [null],
        target: body.name,
        details: { url: body.url, mode: body.mode ?? 'federate', scopes: body.scopes ?? null, authenticated: Boolean(body.token?.trim()), ...(body.ca ? { ca: true } : {}), ...(body.insecure ? { insecure: true } : {}) },
      },
      () => manager(c).add(input),
    );
    return c.json(r, 201);
  });
  app.openapi(remove, async (c) => {
    const { name } = c.req.valid('param');
    if (isDryRun(c)) {
      const { result, plan } = await planned(c, 'upstream.remove', [null], () => manager(c).remove(name));
      return c.json({ ...result, plan, dryRun: true }, 200);
    }
    const r = await audited(c, { action: 'upstream.remove', scopes: [null], target: name }, () => manager(c).remove(name));
    return c.json(r, 200);
  });
  app.openapi(syncOne, async (c) => {
    const { name } = c.req.valid('param');
    // A sync records its own entry when it changes anything (action upstream.sync); the request itself is logged by middleware/audit.ts.
    if (isDryRun(c)) {
      const { result, plan } = await planned(c, 'upstream.sync', [null], () => manager(c).sync(name));
      return c.json({ results: result, plan, dryRun: true }, 200);
    }
    authorizeFor(c, 'upstream.sync', [null]);
    const results = await manager(c).sync(name);
    return c.json({ results }, 200);
  });
  app.openapi(syncAll, async (c) => {
    if (isDryRun(c)) {
      const { result, plan } = await planned(c, 'upstream.sync', [null], () => manager(c).sync());
      return c.json({ results: result, plan, dryRun: true }, 200);
    }
    authorizeFor(c, 'upstream.sync', [null]);
    const results = await manager(c).sync();
    return c.json({ results }, 200);
  });
  return app;
}
