/** /api/v1/revocations and /api/v1/apply. */
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { AppEnv } from '../context.js';
import { ApplyBody, ErrorBody, Published, RevocationCreate } from '../schemas.js';
import { validationHook } from '../validation.js';
import { published } from './scopes.js';
import { Actions, applyFileScopes } from '../../auth/authorize.js';
import { revocationsDigest, trustStateDigest } from '../../audit/digest.js';
import { audited } from '../authz.js';
import { DryRunQuery, isDryRun, planned } from '../dry-run.js';
import { NDJSON, isStreamedApply, readApplyStream } from '../apply-stream.js';
import type { Context } from 'hono';

/** What was revoked, for the audit entry. */
const revocationTarget = (b: { kind: string; issuer?: string; serial?: string; id?: string; digest?: string; certificate?: string }) =>
  b.kind === 'key' ? (b.id ?? null) : b.kind === 'signature' ? (b.digest ?? null) : b.issuer ? `${b.issuer}/${b.serial ?? ''}` : b.certificate ? 'certificate' : null;

const json = <T extends z.ZodType>(schema: T, description: string) => ({ content: { 'application/json': { schema } }, description });
const errors = {
  400: json(ErrorBody, 'invalid request'),
  401: json(ErrorBody, 'missing or invalid token'),
  403: json(ErrorBody, 'the token may not write at these scopes (a revocation without scope, and --prune, need an admin token)'),
};

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
  request: { query: DryRunQuery, body: { content: { 'application/json': { schema: RevocationCreate } }, required: true } },
  responses: {
    200: json(z.object({ added: z.boolean(), revocation: z.any(), plan: z.array(z.any()), dryRun: z.boolean(), published: Published }), 'with dryRun: planned'),
    201: json(z.object({ added: z.boolean(), revocation: z.any(), published: Published }), 'revoked'),
    ...errors,
  },
});
const apply = createRoute({
  method: 'post',
  path: '/apply',
  tags: ['apply'],
  summary: 'Apply a declarative trust file: idempotent, one atomic change',
  request: {
    query: z.object({
      prune: z.enum(['true', 'false']).optional(),
      dryRun: z.enum(['true', 'false']).optional().openapi({ description: 'compute the plan (per scope: anchors added, removed, changed, revocations, level changes) and change nothing' }),
    }),
    body: {
      content: {
        'application/json': { schema: ApplyBody },
        [NDJSON]: { schema: z.string().openapi({ description: 'a streamed apply (a file over the body limit): one part of the file per line, { "scopes": [...], "revoked": {...} }, joined in order into one file and applied as one atomic change; each line within the body limit' }) },
      },
      required: true,
    },
  },
  responses: { 200: json(z.object({ summary: z.any(), plan: z.array(z.any()).optional(), dryRun: z.boolean().optional(), published: Published }), 'applied (or, with dryRun, planned)'), ...errors },
});

/** One apply, whichever way its file came. */
async function applyFile(c: Context<AppEnv>, file: unknown, prune: boolean, dryRun: boolean) {
  const { service, records } = c.get('instance');
  const action = prune ? Actions.APPLY_PRUNE : Actions.APPLY;
  if (dryRun) {
    // The same authorisation and the same code as the change, rolled back; nothing to audit.
    const { result, plan } = await planned(c, action, applyFileScopes(file), () => service.apply(file as never, { prune }));
    return c.json({ summary: result.summary, plan, dryRun: true, published: null }, 200);
  }
  // --prune can remove any scope, so it is admin-only (service/auth/authorize.ts).
  const r = await audited(
    c,
    { action, scopes: applyFileScopes(file), details: { prune }, digest: () => trustStateDigest(records.trust) },
    () => service.apply(file as never, { prune }),
  );
  return c.json({ summary: r.summary, published: published(r) }, 200);
}

/** `maxLineBytes`: the admin API's body limit, which each line of a streamed apply keeps to. */
export function revocationRoutes(options: { maxLineBytes: number }): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.openapi(listRevocations, async (c) => c.json({ ...(await c.get('instance').records.trust.listRevocations()) } as never, 200));
  app.openapi(revoke, async (c) => {
    const body = c.req.valid('json');
    const scope = body.scope ?? null;
    const { service, records } = c.get('instance');
    if (isDryRun(c)) {
      const { result, plan } = await planned(c, Actions.REVOKE, [scope], () => service.revoke(body));
      return c.json({ added: result.added, revocation: result.revocation, plan, dryRun: true, published: null }, 200);
    }
    const r = await audited(
      c,
      { action: Actions.REVOKE, scopes: [scope], scope, target: revocationTarget(body), digest: () => revocationsDigest(records.trust, scope) },
      () => service.revoke(body),
    );
    return c.json({ added: r.added, revocation: r.revocation, published: published(r) }, 201);
  });
  // A streamed apply (apply-stream.ts) is read here; a JSON body goes on to the validated route.
  app.post('/apply', async (c, next) => {
    if (!isStreamedApply(c.req.method, c.req.path, c.req.header('content-type'))) return next();
    const file = await readApplyStream(c.req.raw.body, options.maxLineBytes);
    return applyFile(c, file, c.req.query('prune') === 'true', c.req.query('dryRun') === 'true');
  });
  app.openapi(apply, async (c) => applyFile(c, c.req.valid('json'), c.req.valid('query').prune === 'true', c.req.valid('query').dryRun === 'true') as never);
  return app;
}
