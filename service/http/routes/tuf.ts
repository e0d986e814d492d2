/**
 * /tuf/: the TUF repository (CONTRACT.md "The published repository"), served from memory
 * where it can be. Versioned files are immutable; timestamp.json changes and gets a short max-age.
 */
import { Hono, type Context } from 'hono';
import { MetadataKind } from '@tufjs/models';
import type { AppEnv } from '../context.js';
import { parseMetadata } from '../../repo/tuf.js';
import type { Instance } from '../../instance.js';
import type { TargetRecord } from '../../store/index.js';

const IMMUTABLE = 'public, max-age=31536000, immutable';
const SHORT = 'public, max-age=1';

/** RFC 9110 13.1.2: If-None-Match is "*" or a list of entity tags, compared weakly (W/ ignored). */
function matches(ifNoneMatch: string | undefined, quoted: string): boolean {
  if (!ifNoneMatch) return false;
  if (ifNoneMatch.trim() === '*') return true;
  return ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === quoted);
}

function send(c: Context<AppEnv>, bytes: Uint8Array, type: string, etag: string, cacheControl: string) {
  const quoted = `"${etag}"`;
  c.header('ETag', quoted);
  c.header('Cache-Control', cacheControl);
  if (matches(c.req.header('if-none-match'), quoted)) return c.body(null, 304);
  c.header('Content-Type', type);
  return c.body(bytes as Uint8Array<ArrayBuffer>);
}

export const contentType = (path: string) =>
  path.endsWith('.json') ? 'application/json' : path.endsWith('.crl') ? 'application/pkix-crl' : 'application/octet-stream';

export function tufRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get('/timestamp.json', (c) => {
    const ts = c.get('instance').publisher.latestMetadata('timestamp')!;
    return send(c, ts.bytes, 'application/json', `timestamp-${ts.version}`, SHORT);
  });

  // The newest root, for convenience; clients pin theirs out of band and walk {N}.root.json.
  app.get('/root.json', (c) => {
    const root = c.get('instance').publisher.latestMetadata('root')!;
    return send(c, root.bytes, 'application/json', `root-${root.version}`, SHORT);
  });

  app.get('/targets/*', async (c) => {
    const path = decodeURIComponent(c.req.path.replace(/^.*?\/tuf\/targets\//, ''));
    const { store, publisher } = c.get('instance');
    const slash = path.lastIndexOf('/');
    const dir = slash >= 0 ? path.slice(0, slash + 1) : '';
    const base = path.slice(slash + 1);
    // TUF spec 5.7.3: consistent snapshot target names are {hash}.{name}.
    const hashed = /^([0-9a-f]{64})\.(.+)$/.exec(base);
    if (hashed) {
      const target = await store.getTarget(hashed[1]!, dir + hashed[2]!);
      if (target) return send(c, target.bytes, contentType(target.path), target.sha256, IMMUTABLE);
    }
    // A plain path serves the current file (for people and non-TUF tools; TUF clients use the hashed name).
    const hash = currentTargetHash(publisher, path);
    const target = hash ? await store.getTarget(hash, path) : null;
    if (!target) return c.json({ code: 'NOT_FOUND', message: `no target ${path}` }, 404);
    return send(c, target.bytes, contentType(path), target.sha256, SHORT);
  });

  app.get('/:file{[0-9]+\\.[a-z0-9-]+\\.json}', async (c) => {
    const m = /^(\d+)\.([a-z0-9-]+)\.json$/.exec(c.req.param('file'))!;
    const version = Number(m[1]);
    const role = m[2]!;
    const { store, publisher } = c.get('instance');
    const latest = publisher.latestMetadata(role);
    const rec = latest && latest.version === version ? latest : await store.getMetadata(role, version);
    if (!rec) return c.json({ code: 'NOT_FOUND', message: `no ${role} version ${version}` }, 404);
    return send(c, rec.bytes, 'application/json', `${role}-${version}`, IMMUTABLE);
  });

  return app;
}

/** The sha256 of the current version of a target path, from its role's latest metadata. */
function currentTargetHash(publisher: { latestMetadata(role: string): { bytes: Buffer } | undefined }, path: string): string | null {
  const targets = parseMetadata(MetadataKind.Targets, publisher.latestMetadata('targets')!.bytes).signed;
  const top = targets.targets[path];
  if (top) return top.hashes.sha256 ?? null;
  const trust = publisher.latestMetadata('trust');
  if (!trust) return null;
  const bins = parseMetadata(MetadataKind.Targets, trust.bytes).signed.delegations?.succinctRoles;
  if (!bins) return null;
  const bin = publisher.latestMetadata(bins.getRoleForTarget(path));
  if (!bin) return null;
  return parseMetadata(MetadataKind.Targets, bin.bytes).signed.targets[path]?.hashes.sha256 ?? null;
}

/** A response of the hot read path: what the routes above send for the same request. */
export interface FastResponse {
  status: 200 | 304;
  headers: Record<string, string>;
  body: Uint8Array | null;
  /** The route pattern hono would have matched (the metrics label). */
  route: string;
}

/** Target files read from the store, kept by their consistent-snapshot name (immutable: TUF spec 5.7.3). */
const DEFAULT_TARGET_CACHE_BYTES = 32 * 1024 * 1024;

/**
 * The hot read path: timestamp.json, the current version of each role and target files by
 * their hashed names, served from memory, in front of hono and its middleware (service/server.ts).
 * Every TUF client refresh asks for these, and the middleware chain (request log line at info,
 * route matching, Response objects) and a database read per target cost most of a request
 * (bench B1, docs/BENCHMARKS.md). The responses are those of `tufRoutes` (same status, body,
 * ETag, Cache-Control, Content-Type); anything else returns null and goes to hono.
 */
export function tufFastPath(instance: Pick<Instance, 'publisher' | 'store'>, options: { maxCacheBytes?: number } = {}) {
  const max = options.maxCacheBytes ?? DEFAULT_TARGET_CACHE_BYTES;
  // Insertion order is use order (an entry is moved to the end when used): least recently used first.
  const cache = new Map<string, { bytes: Buffer; type: string }>();
  let cached = 0;
  const remember = (key: string, rec: TargetRecord) => {
    if (cache.has(key) || rec.bytes.length > max / 4) return;
    cache.set(key, { bytes: rec.bytes, type: contentType(rec.path) });
    cached += rec.bytes.length;
    for (const [k, v] of cache) {
      if (cached <= max) break;
      cache.delete(k);
      cached -= v.bytes.length;
    }
  };
  const respond = (bytes: Uint8Array, type: string, etag: string, cacheControl: string, ifNoneMatch: string | undefined, route: string): FastResponse => {
    const quoted = `"${etag}"`;
    if (matches(ifNoneMatch, quoted)) return { status: 304, headers: { ETag: quoted, 'Cache-Control': cacheControl }, body: null, route };
    return { status: 200, headers: { ETag: quoted, 'Cache-Control': cacheControl, 'Content-Type': type, 'Content-Length': String(bytes.length) }, body: bytes, route };
  };
  return function serveFast(method: string | undefined, url: string | undefined, ifNoneMatch: string | undefined): FastResponse | null {
    // Plain GETs of plain paths only: anything encoded, with a query, or another method goes to hono.
    if (method !== 'GET' || !url || !url.startsWith('/tuf/') || url.includes('%') || url.includes('?')) return null;
    if (url === '/tuf/timestamp.json') {
      const ts = instance.publisher.latestMetadata('timestamp');
      return ts ? respond(ts.bytes, 'application/json', `timestamp-${ts.version}`, SHORT, ifNoneMatch, '/tuf/timestamp.json') : null;
    }
    const meta = /^\/tuf\/(\d+)\.([a-z0-9-]+)\.json$/.exec(url);
    if (meta) {
      const latest = instance.publisher.latestMetadata(meta[2]!);
      if (!latest || String(latest.version) !== meta[1]) return null;
      return respond(latest.bytes, 'application/json', `${meta[2]}-${meta[1]}`, IMMUTABLE, ifNoneMatch, '/tuf/:file{[0-9]+\\.[a-z0-9-]+\\.json}');
    }
    const target = /^\/tuf\/targets\/((?:[^/]+\/)*)([0-9a-f]{64})\.([^/]+)$/.exec(url);
    if (target) {
      const [, dir, sha, name] = target;
      const key = `${sha}/${dir}${name}`;
      const hit = cache.get(key);
      if (!hit) {
        // A miss goes to hono (the same response) while the store read fills the cache for the next request.
        void instance.store.getTarget(sha!, dir! + name!).then(
          (rec) => rec && remember(key, rec),
          () => {},
        );
        return null;
      }
      cache.delete(key);
      cache.set(key, hit);
      return respond(hit.bytes, hit.type, sha!, IMMUTABLE, ifNoneMatch, '/tuf/targets/*');
    }
    return null;
  };
}
