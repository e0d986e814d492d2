/**
 * /log/: the transparency log of published versions (issue 23; CONTRACT.md "HTTP"), as C2SP
 * tlog-tiles serves it: `/log/checkpoint` (mutable, short-lived), `/log/tile/...` (immutable),
 * `/log/key`, the log's signed-note verifier key, and `/log/proof`, the checkpoint with the newest
 * timestamp's inclusion proof (one request for a client's check). Both checkpoints carry the
 * cosignatures of the log's witnesses (service/tlog/witnesses.ts).
 */
import { Hono, type Context } from 'hono';
import type { AppEnv } from '../context.js';
import { parseTilePath } from '../../../shared/tlog/tiles.js';
import { servedCheckpoint, WitnessConfig } from '../../tlog/witnesses.js';
import { Codes, KeyshareError } from '../../errors.js';

const IMMUTABLE = 'public, max-age=31536000, immutable';
/** tlog-tiles: the checkpoint's headers "SHOULD prevent caching beyond a few seconds". */
const SHORT = 'public, max-age=1';
const TEXT = 'text/plain; charset=utf-8';

const notFound = (c: Context<AppEnv>, message: string) => c.json({ code: Codes.NOT_FOUND, message }, 404);

export function logRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get('/checkpoint', async (c) => {
    const { log, records } = c.get('instance');
    // With the cosignatures its witnesses made on it (C2SP tlog-cosignature).
    const cosigned = log ? await servedCheckpoint(log, records.changes) : null;
    if (!cosigned) return notFound(c, 'this service has no transparency log');
    c.header('Cache-Control', SHORT);
    c.header('Content-Type', TEXT);
    return c.body(cosigned);
  });

  // Issue 17: the checkpoint and the newest timestamp's inclusion proof in one answer (shared/tlog/proof.ts);
  // issue 23: with ?from=M, the consistency proof from the client's kept checkpoint of size M too.
  app.get('/proof', async (c) => {
    const { log, records } = c.get('instance');
    const from = c.req.query('from');
    if (from !== undefined && !/^\d{1,15}$/.test(from)) throw new KeyshareError(Codes.BAD_REQUEST, `from=${from.slice(0, 40)}: give the size of a checkpoint, a whole number`);
    // The same cosigned checkpoint as /log/checkpoint, so that `fetch --witness` sees the cosignatures.
    const witnesses = new WitnessConfig(records.changes);
    const proof = await log?.proof((note) => witnesses.cosigned(note), from === undefined ? undefined : Number(from));
    if (!proof) return notFound(c, 'this service has no transparency log');
    c.header('Cache-Control', SHORT);
    return c.body(proof, 200, { 'Content-Type': 'application/json' });
  });

  app.get('/key', (c) => {
    const log = c.get('instance').log;
    if (!log) return notFound(c, 'this service has no transparency log');
    c.header('Content-Type', TEXT);
    return c.body(log.verifierKey() + '\n');
  });

  app.get('/tile/*', async (c) => {
    const tile = parseTilePath(c.req.path.replace(/^.*?\/log\//, ''));
    const bytes = tile ? await c.get('instance').log?.tile(tile) : null;
    if (!bytes) return notFound(c, `no tile ${c.req.path}`);
    c.header('Cache-Control', IMMUTABLE);
    c.header('Content-Type', 'application/octet-stream');
    return c.body(bytes as Uint8Array<ArrayBuffer>);
  });

  return app;
}
