/**
 * /log/: the transparency log of published versions (issue 23; CONTRACT.md "HTTP"), as C2SP
 * tlog-tiles serves it: `/log/checkpoint` (mutable, short-lived), `/log/tile/...` (immutable),
 * and `/log/key`, the log's signed-note verifier key. The checkpoint carries the cosignatures of
 * the log's witnesses (service/tlog/witnesses.ts).
 */
import { Hono, type Context } from 'hono';
import type { AppEnv } from '../context.js';
import { parseTilePath } from '../../../shared/tlog/tiles.js';
import { WitnessConfig } from '../../tlog/witnesses.js';
import { Codes } from '../../errors.js';

const IMMUTABLE = 'public, max-age=31536000, immutable';
/** tlog-tiles: the checkpoint's headers "SHOULD prevent caching beyond a few seconds". */
const SHORT = 'public, max-age=1';
const TEXT = 'text/plain; charset=utf-8';

const notFound = (c: Context<AppEnv>, message: string) => c.json({ code: Codes.NOT_FOUND, message }, 404);

export function logRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get('/checkpoint', async (c) => {
    const note = await c.get('instance').log?.checkpoint();
    if (!note) return notFound(c, 'this service has no transparency log');
    // With the cosignatures its witnesses made on it (C2SP tlog-cosignature).
    const cosigned = await new WitnessConfig(c.get('instance').store).cosigned(note);
    c.header('Cache-Control', SHORT);
    c.header('Content-Type', TEXT);
    return c.body(cosigned);
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
