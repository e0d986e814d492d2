/** /api/v1/revocations and /api/v1/apply. */
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { AppEnv } from '../context.js';
import { ApplyBody, ErrorBody, Published, RevocationCreate } from '../schemas.js';
import { validationHook } from '../validation.js';
import { published } from './scopes.js';

const json = <T extends z.ZodType>(schema: T, description: string) => ({ content: { 'application/json': { schema } }, description });
const errors = { 400: json(ErrorBody, 'invalid request'), 401: json(ErrorBody, 'missing or invalid token') };

const listRevocations = createRoute({
  method: 'get',
  path: '/revocations',
  tags: ['revocations'],
  summary: 'List revocations',
  responses: { 200: json(z.object({ certificates: z.array(z.record(z.string(), z.any())), keys: z.array(z.record(z.string(), z.any())), signatures: z.array(z.record(z.string(), z.any())) }), 'all revocations'), ...errors },
});
const revoke = createRoute({
  method: 'post',
  path: '/revocations',
  tags: ['revocations'],
  summary: 'Revoke a certificate, a key or a signature',
  request: { body: { content: { 'application/json': { schema: RevocationCreate } }, required: true } },
  responses: { 201: json(z.object({ added: z.boolean(), revocation: z.any(), published: Published }), 'revoked'), ...errors },
});
const apply = createRoute({
  method: 'post',
  path: '/apply',
  tags: ['apply'],
  summary: 'Apply a declarative trust file: idempotent, one atomic change',
  request: {
    query: z.object({ prune: z.enum(['true', 'false']).optional() }),
    body: { content: { 'application/json': { schema: ApplyBody } }, required: true },
  },
  responses: { 200: json(z.object({ summary: z.any(), published: Published }), 'applied'), ...errors },
});

export function revocationRoutes(): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.openapi(listRevocations, (c) => c.json({ ...c.get('instance').store.listRevocations() } as never, 200));
  app.openapi(revoke, async (c) => {
    const body = c.req.valid('json');
    const r = await c.get('instance').service.revoke(body);
    return c.json({ added: r.added, revocation: r.revocation, published: published(r) }, 201);
  });
  app.openapi(apply, async (c) => {
    const r = await c.get('instance').service.apply(c.req.valid('json') as never, { prune: c.req.valid('query').prune === 'true' });
    return c.json({ summary: r.summary, published: published(r) }, 200);
  });
  return app;
}
