/** /api/v1/audit: the hash-chained audit log, and its verification. Any token may read it. */
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { AppEnv } from '../context.js';
import { ErrorBody } from '../schemas.js';
import { validationHook } from '../validation.js';
import { Actions } from '../../auth/authorize.js';
import { KeyshareError, Codes } from '../../errors.js';
import { parseDuration } from '../../util/duration.js';
import { authorizeFor } from '../authz.js';

const json = <T extends z.ZodType>(schema: T, description: string) => ({ content: { 'application/json': { schema } }, description });
const errors = { 400: json(ErrorBody, 'invalid request'), 401: json(ErrorBody, 'missing or invalid token') };

const Entry = z
  .object({
    seq: z.number(),
    at: z.string(),
    tokenId: z.string().nullable().openapi({ description: 'who: the token ID (null: the service itself, or no valid token)' }),
    action: z.string(),
    scope: z.string().nullable(),
    target: z.string().nullable(),
    outcome: z.string().openapi({ description: 'ok, denied or failed' }),
    before: z.string().nullable().openapi({ description: 'sha256 digest of the state the action touched, before it' }),
    after: z.string().nullable(),
    details: z.record(z.string(), z.any()).nullable(),
    prevHash: z.string(),
    hash: z.string().openapi({ description: 'sha256(prevHash + canonical JSON of the entry)' }),
  })
  .openapi('AuditEntry');
const Verify = z
  .object({
    ok: z.boolean(),
    entries: z.number(),
    head: z.object({ seq: z.number(), hash: z.string() }).nullable(),
    firstBadSeq: z.number().optional(),
    problem: z.string().optional(),
  })
  .openapi('AuditVerify');

const listAudit = createRoute({
  method: 'get',
  path: '/',
  tags: ['audit'],
  summary: 'Read the audit log, oldest first',
  request: {
    query: z.object({
      since: z.string().optional().openapi({ description: 'an ISO 8601 time, or a duration back from now (24h, 7d)' }),
      after: z.coerce.number().int().min(0).optional().openapi({ description: 'only entries after this seq (paging: pass `next`)' }),
      limit: z.coerce.number().int().min(1).max(10000).optional(),
    }),
  },
  responses: { 200: json(z.object({ entries: z.array(Entry), next: z.number().nullable() }), 'entries'), ...errors },
});
const verifyAudit = createRoute({
  method: 'get',
  path: '/verify',
  tags: ['audit'],
  summary: 'Check the hash chain: reports the first edited, deleted or missing entry',
  responses: { 200: json(Verify, 'the result (ok: false when the log was tampered with)'), ...errors },
});

/** `since`: an ISO time, or a duration back from `now`. */
export function parseSince(since: string, now: Date): string {
  if (/^\d+[smhdwy]/.test(since) && !/^\d{4}-/.test(since)) return new Date(now.getTime() - parseDuration(since)).toISOString();
  const t = Date.parse(since);
  if (Number.isNaN(t)) throw new KeyshareError(Codes.BAD_REQUEST, `since: ${JSON.stringify(since)} is neither an ISO 8601 time nor a duration like 24h`);
  return new Date(t).toISOString();
}

export function auditRoutes(): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.openapi(listAudit, async (c) => {
    authorizeFor(c, Actions.AUDIT_READ, []);
    const q = c.req.valid('query');
    const limit = q.limit ?? 1000;
    const entries = await c.get('instance').audit.list({ since: q.since ? parseSince(q.since, new Date()) : undefined, afterSeq: q.after, limit });
    return c.json({ entries, next: entries.length === limit ? entries[entries.length - 1]!.seq : null }, 200);
  });
  app.openapi(verifyAudit, async (c) => {
    authorizeFor(c, Actions.AUDIT_READ, []);
    return c.json(await c.get('instance').audit.verify(), 200);
  });
  return app;
}
