/**
 * `POST /tsa`: keyshare's RFC 3161 time-stamping authority (issue 18). It takes
 * `application/timestamp-query` and answers `application/timestamp-reply` (RFC 3161 3.4). A
 * refused query gets a 400 with `{ code, message }` (TSA_QUERY_INVALID, TSA_BAD_ALG,
 * TSA_POLICY_UNSUPPORTED), and an oversized one a 413 before it is read whole.
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { AppEnv } from '../context.js';
import { KeyshareError } from '../../errors.js';
import { MAX_TSA_QUERY_BYTES, TsaCodes } from '../../crypto/tsa.js';

export function tsaRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.post(
    '/',
    bodyLimit({
      maxSize: MAX_TSA_QUERY_BYTES,
      onError: () => {
        throw new KeyshareError(TsaCodes.TSA_QUERY_TOO_LARGE, `a time-stamp query is at most ${MAX_TSA_QUERY_BYTES} bytes`);
      },
    }),
    async function timestamp(c) {
      const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
      if (type !== 'application/timestamp-query') throw new KeyshareError(TsaCodes.TSA_QUERY_INVALID, 'send Content-Type: application/timestamp-query (RFC 3161 3.4)');
      const reply = await c.get('instance').ca.timestamp(new Uint8Array(await c.req.arrayBuffer()));
      return c.body(reply as Uint8Array<ArrayBuffer>, 200, { 'content-type': 'application/timestamp-reply', 'cache-control': 'no-store' });
    },
  );
  return app;
}
