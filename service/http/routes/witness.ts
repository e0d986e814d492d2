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
      const body = await c.req.text();
      const a = await witness.addCheckpoint(body);
      // tlog-witness: an inconsistent checkpoint signed by a known log may be proof of its misbehaviour: kept in the logs.
      // (A 409 is also the everyday answer to a log that does not know this witness's size yet.)
      if (a.status === 422) c.get('log').warn({ status: a.status, answer: a.body.trim(), checkpoint: body.slice(body.indexOf('\n\n') + 2) }, 'witness refused a checkpoint');
      return c.body(a.body, a.status, { 'Content-Type': a.contentType });
    },
  );
  return app;
}
