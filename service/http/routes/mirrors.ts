/**
 * /mirrors/{name}/tuf/: the repository of an upstream in `mirror` mode, byte for byte from
 * upstream_files (CONTRACT.md "HTTP, besides /tuf/"), so that clients pinned to the
 * upstream's root can use this service. Files are stored under their path in the upstream
 * repository: `{N}.root.json`, `timestamp.json`, `{V}.{role}.json`, `targets/{dir}/{hash}.{name}`.
 * An imported bundle's origin is such an upstream (service/federation/bundle/import.ts).
 */
import { Hono } from 'hono';
import type { AppEnv } from '../context.js';
import { contentType } from './tuf.js';
import { Codes } from '../../errors.js';

const IMMUTABLE = 'public, max-age=31536000, immutable';
const SHORT = 'public, max-age=1';
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function mirrorRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get('/:name/tuf/*', async (c) => {
    const name = c.req.param('name');
    const prefix = `/mirrors/${name}/tuf/`;
    const raw = c.req.path.startsWith(prefix) ? c.req.path.slice(prefix.length) : '';
    let path: string;
    try {
      path = raw.split('/').map(decodeURIComponent).join('/');
    } catch {
      path = '';
    }
    const notFound = () => c.json({ code: Codes.NOT_FOUND, message: `no file ${path || raw} in mirror ${name}` }, 404);
    if (!NAME.test(name) || path === '' || path.split('/').some((p) => p === '' || p === '.' || p === '..')) return notFound();
    const { records } = c.get('instance');
    const upstream = await records.upstreams.getUpstream(name);
    if (!upstream || upstream.mode !== 'mirror') return notFound();
    const bytes = await records.upstreams.getUpstreamFile(name, path);
    if (!bytes) return notFound();
    // Versioned and content-addressed names never change; timestamp.json (and a plain root.json) do.
    const mutable = !/^\d+\./.test(path.split('/').pop()!) && !path.startsWith('targets/');
    c.header('Cache-Control', mutable ? SHORT : IMMUTABLE);
    c.header('Content-Type', contentType(path));
    return c.body(new Uint8Array(bytes));
  });
  return app;
}
