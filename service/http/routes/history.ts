/**
 * Diffs between published versions (issue 21, `keyshare diff`):
 *   GET /api/v1/diff?from=V&to=V&scope=PATTERN   what changed, per scope, in plan form
 *   GET /api/v1/history?limit=N                  the newest versions that changed trust, each with its diff
 */
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { AppEnv } from '../context.js';
import { ErrorBody } from '../schemas.js';
import { validationHook } from '../validation.js';
import { diffVersions, recentVersions } from '../../history.js';
import { parseScope } from '../../domain/scope.js';

const json = <T extends z.ZodType>(schema: T, description: string) => ({ content: { 'application/json': { schema } }, description });
const errors = { 400: json(ErrorBody, 'invalid request'), 401: json(ErrorBody, 'missing or invalid token'), 404: json(ErrorBody, 'a version that was never published') };
const Version = z.string().regex(/^[0-9]{1,15}$/);

const diff = createRoute({
  method: 'get',
  path: '/diff',
  tags: ['history'],
  summary: 'What changed between two published timestamp versions, per scope',
  request: {
    query: z.object({
      from: Version.optional().openapi({ description: 'default: the version before `to`' }),
      to: Version.optional().openapi({ description: 'default: the newest' }),
      scope: z.string().optional().openapi({ description: 'only this scope and the scopes under it' }),
    }),
  },
  responses: { 200: json(z.object({ from: z.number(), to: z.number(), scope: z.string().nullable(), changes: z.array(z.any()) }), 'the diff'), ...errors },
});
const history = createRoute({
  method: 'get',
  path: '/history',
  tags: ['history'],
  summary: 'The newest versions that changed trust, each with its diff from the version before',
  request: { query: z.object({ limit: z.string().regex(/^[0-9]{1,3}$/).optional() }) },
  responses: { 200: json(z.object({ versions: z.array(z.any()) }), 'the versions, newest first'), ...errors },
});

export function historyRoutes(): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.openapi(diff, async (c) => {
    const q = c.req.valid('query');
    if (q.scope) parseScope(q.scope);
    const r = await diffVersions(c.get('instance').records.history, { from: q.from === undefined ? undefined : Number(q.from), to: q.to === undefined ? undefined : Number(q.to), scope: q.scope ?? null });
    return c.json(r, 200);
  });
  app.openapi(history, async (c) => {
    const limit = Math.min(100, Math.max(1, Number(c.req.valid('query').limit ?? 20)));
    return c.json({ versions: await recentVersions(c.get('instance').records.history, limit) } as never, 200);
  });
  return app;
}
