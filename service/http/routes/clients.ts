/**
 * Client rollout status (issue 21):
 *   POST /api/v1/clients/reports   a `client` token's report (only a client token may post it)
 *   GET  /api/v1/clients           the reporting clients (?behind=V, ?label=K=V repeated)
 *   GET  /api/v1/rollout           per revocation, how many clients hold it (?id=ID: one)
 */
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { AppEnv } from '../context.js';
import { ErrorBody } from '../schemas.js';
import { validationHook } from '../validation.js';
import { listClients, recordReport, revocationRollouts, type ClientLimitsConfig } from '../../rollout.js';
import { parseLabelArgs } from '../../domain/clients.js';
import { markAudited } from '../middleware/audit.js';

const json = <T extends z.ZodType>(schema: T, description: string) => ({ content: { 'application/json': { schema } }, description });
const errors = {
  400: json(ErrorBody, 'invalid report (REPORT_INVALID)'),
  401: json(ErrorBody, 'missing or invalid token'),
  403: json(ErrorBody, 'reports need a client token, and a client token only reports'),
  429: json(ErrorBody, 'the service keeps as many clients as it may (CLIENTS_FULL)'),
};

const Report = z
  .object({
    clientId: z.string(),
    version: z.number().int(),
    labels: z.record(z.string(), z.string()).optional(),
    scopes: z.array(z.string()).optional(),
    format: z.string(),
    keyshareVersion: z.string(),
    summary: z.object({ clients: z.number().int(), holding: z.record(z.string(), z.number().int()) }).nullable().optional(),
  })
  .openapi('ClientReport');

const report = createRoute({
  method: 'post',
  path: '/clients/reports',
  tags: ['clients'],
  summary: "A client's report after a verified fetch (client tokens only)",
  request: { body: { content: { 'application/json': { schema: Report } }, required: true } },
  responses: { 201: json(z.object({ client: z.any() }), 'stored, replacing the client’s previous report'), ...errors },
});
const list = createRoute({
  method: 'get',
  path: '/clients',
  tags: ['clients'],
  summary: 'The clients that reported (latest report each)',
  request: { query: z.object({ behind: z.string().regex(/^[0-9]{1,15}$/).optional(), label: z.union([z.string(), z.array(z.string())]).optional() }) },
  responses: { 200: json(z.object({ latest: z.number(), clients: z.array(z.any()) }), 'the clients'), ...errors },
});
const rollout = createRoute({
  method: 'get',
  path: '/rollout',
  tags: ['clients'],
  summary: 'For each revocation: the first version carrying it, and which reporting clients hold it',
  request: { query: z.object({ id: z.string().optional() }) },
  responses: { 200: json(z.object({ revocations: z.array(z.any()) }), 'the rollout of each revocation'), ...errors },
});

export function clientRoutes(limits: ClientLimitsConfig): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.openapi(report, async (c) => {
    // A report changes no trust: it is not an audited change (a flood of them would flood the log).
    markAudited(c.req.raw);
    const rec = await recordReport(c.get('instance').records.rollout, c.get('principal').tokenId, c.req.valid('json'), new Date(), limits);
    return c.json({ client: rec }, 201);
  });
  app.openapi(list, async (c) => {
    const { records } = c.get('instance');
    const q = c.req.valid('query');
    const labels = parseLabelArgs(q.label === undefined ? [] : Array.isArray(q.label) ? q.label : [q.label]);
    const clients = await listClients(records.rollout, new Date(), limits, { behind: q.behind === undefined ? null : Number(q.behind), labels });
    return c.json({ latest: (await records.repository.latestMetadata('timestamp'))?.version ?? 0, clients }, 200);
  });
  app.openapi(rollout, async (c) => c.json({ revocations: await revocationRollouts(c.get('instance').records.rollout, new Date(), limits, c.req.valid('query').id) } as never, 200));
  return app;
}
