/**
 * The witnesses of this service's transparency log (issue 23; `keyshare witness add|ls|rm`).
 * Admin only (the default deny of middleware/auth.ts); the writes are audited.
 *
 *   GET    /api/v1/witnesses          list, with each witness's last cosigned size and error
 *   POST   /api/v1/witnesses          add one ({ name, url, key }); it is sent the checkpoint at once
 *   DELETE /api/v1/witnesses/{name}   remove one
 */
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { AppEnv } from '../context.js';
import { ErrorBody } from '../schemas.js';
import { validationHook } from '../validation.js';
import { audited } from '../authz.js';
import { WitnessConfig, type WitnessRecord } from '../../tlog/witnesses.js';

const json = <T extends z.ZodType>(schema: T, description: string) => ({ content: { 'application/json': { schema } }, description });
const errors = {
  400: json(ErrorBody, 'invalid request (BAD_REQUEST, BAD_PUBLIC_KEY)'),
  401: json(ErrorBody, 'missing or invalid token'),
  403: json(ErrorBody, 'witnesses need an admin token'),
  404: json(ErrorBody, 'no such witness (NOT_FOUND)'),
  409: json(ErrorBody, 'a witness of that name exists (CONFLICT)'),
};

const WitnessView = z
  .object({
    name: z.string(),
    url: z.string().openapi({ description: 'the submission prefix: checkpoints go to `<url>/add-checkpoint` (C2SP tlog-witness)' }),
    key: z.string().openapi({ description: "the witness's cosignature/v1 verifier key" }),
    addedAt: z.string(),
    size: z.number().openapi({ description: 'the log size the witness cosigned last (0: none yet)' }),
    cosigned: z.boolean().openapi({ description: 'whether the witness cosigned the newest checkpoint' }),
    lastError: z.string().nullable(),
    lastAttemptAt: z.string().nullable(),
  })
  .openapi('Witness');
const WitnessCreate = z
  .object({
    name: z.string().min(1).max(100),
    url: z.string().min(1).max(2048),
    key: z.string().min(1).max(1024).openapi({ description: "the witness's verifier key, `name+hash+base64(0x04||pub)` (its /witness/key)" }),
  })
  .openapi('WitnessCreate');
const NameParam = z.object({ name: z.string().min(1).max(100).openapi({ param: { name: 'name', in: 'path' } }) });

const list = createRoute({ method: 'get', path: '/witnesses', tags: ['witnesses'], summary: "List the log's witnesses", responses: { 200: json(z.object({ witnesses: z.array(WitnessView) }), 'every witness'), ...errors } });
const add = createRoute({
  method: 'post',
  path: '/witnesses',
  tags: ['witnesses'],
  summary: 'Add a witness: every new checkpoint is sent to it for a cosignature',
  request: { body: { content: { 'application/json': { schema: WitnessCreate } }, required: true } },
  responses: { 201: json(z.object({ witness: WitnessView }), 'added'), ...errors },
});
const remove = createRoute({ method: 'delete', path: '/witnesses/{name}', tags: ['witnesses'], summary: 'Remove a witness', request: { params: NameParam }, responses: { 200: json(z.object({ witness: WitnessView }), 'removed'), ...errors } });

const view = (w: WitnessRecord, newest: string | null) => ({
  name: w.name,
  url: w.url,
  key: w.vkey,
  addedAt: w.addedAt,
  size: w.size,
  cosigned: newest !== null && w.checkpoint === newest,
  lastError: w.lastError,
  lastAttemptAt: w.lastAttemptAt,
});

export function witnessRoutes(onAdded: () => void = () => {}): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  const config = (c: { get(k: 'instance'): AppEnv['Variables']['instance'] }) => new WitnessConfig(c.get('instance').records.changes);
  app.openapi(list, async (c) => {
    const newest = await c.get('instance').log?.checkpoint();
    const witnesses = await config(c).list();
    return c.json({ witnesses: witnesses.map((w) => view(w, newest ? WitnessConfig.checkpointId(newest) : null)) }, 200);
  });
  app.openapi(add, async (c) => {
    const body = c.req.valid('json');
    const w = await audited(c, { action: 'witness.add', scopes: [null], target: body.name, details: { url: body.url, key: body.key } }, () => config(c).add({ name: body.name, url: body.url, vkey: body.key }));
    onAdded();
    return c.json({ witness: view(w, null) }, 201);
  });
  app.openapi(remove, async (c) => {
    const { name } = c.req.valid('param');
    const w = await audited(c, { action: 'witness.remove', scopes: [null], target: name }, () => config(c).remove(name));
    return c.json({ witness: view(w, null) }, 200);
  });
  return app;
}
