/**
 * `serve --witness-for` (issue 23): this service as a witness of other logs, at the submission
 * prefix `/witness` (C2SP tlog-witness): `POST /witness/add-checkpoint`, and `GET /witness/key`,
 * the witness's cosignature/v1 verifier key (to give to `keyshare witness add --key`). No
 * authentication: the checkpoint's signature by a log this witness follows is the check.
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { AppEnv } from '../context.js';
import { MAX_ADD_CHECKPOINT_BYTES, type Witness } from '../../tlog/witness.js';

const TEXT = 'text/plain; charset=utf-8';

export function witnessServiceRoutes(witness: Witness): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get('/key', (c) => c.body(witness.cosigner.verifierKey() + '\n', 200, { 'Content-Type': TEXT }));
  app.post(
    '/add-checkpoint',
    bodyLimit({ maxSize: MAX_ADD_CHECKPOINT_BYTES, onError: (c) => c.body(`the request is larger than ${MAX_ADD_CHECKPOINT_BYTES} bytes\n`, 413, { 'Content-Type': TEXT }) }),
    async (c) => {
      const a = await witness.addCheckpoint(await c.req.text());
      return c.body(a.body, a.status, { 'Content-Type': a.contentType });
    },
  );
  return app;
}
