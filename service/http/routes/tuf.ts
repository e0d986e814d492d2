/**
 * /tuf/: the TUF repository (CONTRACT.md "The published repository"), served from memory
 * where it can be. Versioned files are immutable; timestamp.json changes and gets a short max-age.
 */
import { Hono, type Context } from 'hono';
import { MetadataKind } from '@tufjs/models';
import type { AppEnv } from '../context.js';
import { parseMetadata } from '../../repo/tuf.js';
import { leafRoleFor } from '../../repo/tenants.js';
import type { Instance } from '../../instance.js';
import type { ServedView } from '../../repo/served.js';
import { decodePathComponent } from '../decode.js';
import { Codes } from '../../errors.js';

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
    const ts = c.get('instance').served.latestMetadata('timestamp')!;
    return send(c, ts.bytes, 'application/json', `timestamp-${ts.version}`, SHORT);
  });

  // The newest root, for convenience; clients pin theirs out of band and walk {N}.root.json.
  app.get('/root.json', (c) => {
    const root = c.get('instance').served.latestMetadata('root')!;
    return send(c, root.bytes, 'application/json', `root-${root.version}`, SHORT);
  });

  app.get('/targets/*', async (c) => {
    const path = decodePathComponent(c.req.path.replace(/^.*?\/tuf\/targets\//, ''));
    const { records, served } = c.get('instance');
    const slash = path.lastIndexOf('/');
    const dir = slash >= 0 ? path.slice(0, slash + 1) : '';
    const base = path.slice(slash + 1);
    // TUF spec 5.7.3: consistent snapshot target names are {hash}.{name}.
    const hashed = /^([0-9a-f]{64})\.(.+)$/.exec(base);
    if (hashed) {
      const target = await records.repository.getTarget(hashed[1]!, dir + hashed[2]!);
      if (target) return send(c, target.bytes, contentType(target.path), target.sha256, IMMUTABLE);
    }
    // A plain path serves the current file (for people and non-TUF tools; TUF clients use the hashed name).
    const hash = currentTargetHash(served, path);
    const target = hash ? await records.repository.getTarget(hash, path) : null;
    if (!target) return c.json({ code: Codes.NOT_FOUND, message: `no target ${path}` }, 404);
    return send(c, target.bytes, contentType(path), target.sha256, SHORT);
  });

  app.get('/:file{[0-9]+\\.[a-z0-9-]+\\.json}', async (c) => {
    const m = /^(\d+)\.([a-z0-9-]+)\.json$/.exec(c.req.param('file'))!;
    const version = Number(m[1]);
    const role = m[2]!;
    const { records, served } = c.get('instance');
    const latest = served.latestMetadata(role);
    const rec = latest && latest.version === version ? latest : await records.repository.getMetadata(role, version);
    if (!rec) return c.json({ code: Codes.NOT_FOUND, message: `no ${role} version ${version}` }, 404);
    return send(c, rec.bytes, 'application/json', `${role}-${version}`, IMMUTABLE);
  });

  return app;
}

/** The sha256 of the current version of a target path, from the role a client finds it in (TUF spec 5.6.7: the delegation walk). */
function currentTargetHash(served: Pick<ServedView, 'latestMetadata'>, path: string): string | null {
  const load = (role: string) => {
    const rec = served.latestMetadata(role);
    return rec ? parseMetadata(MetadataKind.Targets, rec.bytes).signed : undefined;
  };
  // A role's own targets come before its delegations (5.6.7): index.json is a top-level target.
  const top = load('targets')?.targets[path];
  if (top) return top.hashes.sha256 ?? null;
  const role = leafRoleFor(path, load);
  return (role && load(role)?.targets[path]?.hashes.sha256) ?? null;
}

/**
 * One prebuilt answer of the hot read path: the bytes, and writeHead's flat header lists for
 * the 200 and the 304 (the headers `send` above gives the same request), built once per
 * published file rather than once per request (bench B1, docs/BENCHMARKS.md).
 */
export interface FastEntry {
  body: Uint8Array;
  /** The quoted ETag, for If-None-Match. */
  etag: string;
  ok: string[];
  notModified: string[];
  /** The route pattern hono would have matched (the metrics label). */
  route: string;
}

function fastEntry(body: Uint8Array, type: string, etag: string, cacheControl: string, route: string): FastEntry {
  const quoted = `"${etag}"`;
  return {
    body,
    etag: quoted,
    ok: ['ETag', quoted, 'Cache-Control', cacheControl, 'Content-Type', type, 'Content-Length', String(body.length)],
    notModified: ['ETag', quoted, 'Cache-Control', cacheControl],
    route,
  };
}

/** Whether a request's If-None-Match header matches an entry (then the answer is a 304). */
export function notModified(entry: FastEntry, ifNoneMatch: string | string[] | undefined): boolean {
  if (ifNoneMatch === undefined) return false;
  return matches(Array.isArray(ifNoneMatch) ? ifNoneMatch.join(',') : ifNoneMatch, entry.etag);
}

/** Target files read from the store, kept by their consistent-snapshot name (immutable: TUF spec 5.7.3). */
const DEFAULT_TARGET_CACHE_BYTES = 32 * 1024 * 1024;

/**
 * The hot read path: timestamp.json, the current version of each role and target files by
 * their hashed names, served from memory, in front of hono and its middleware (service/server.ts).
 * Every TUF client refresh asks for these, and the middleware chain (request log line at info,
 * route matching, Response objects) and a database read per target cost most of a request
 * (bench B1, docs/BENCHMARKS.md). The answers are those of `tufRoutes` (same status, body,
 * ETag, Cache-Control, Content-Type); anything else returns null and goes to hono.
 *
 * Answers are kept by URL: a hit is one map lookup. Metadata answers are for the served
 * versions, dropped whenever the served repository changes; target answers are immutable
 * (hashed names) and kept in an LRU bounded in bytes.
 */
export function tufFastPath(instance: Pick<Instance, 'served' | 'records'>, options: { maxCacheBytes?: number } = {}) {
  const max = options.maxCacheBytes ?? DEFAULT_TARGET_CACHE_BYTES;
  const metadata = new Map<string, FastEntry>();
  const unsubscribe = instance.served.onServedChange(() => metadata.clear());
  // Insertion order is use order (an entry is moved to the end when used): least recently used first.
  const targets = new Map<string, FastEntry>();
  let cached = 0;

  /** The answer for a metadata URL not seen since the last change (what the routes would send), or null. */
  const build = (url: string): FastEntry | null => {
    // Plain paths only: anything encoded or with a query goes to hono.
    if (!url.startsWith('/tuf/') || url.includes('%') || url.includes('?')) return null;
    if (url === '/tuf/timestamp.json') {
      const ts = instance.served.latestMetadata('timestamp');
      return ts ? fastEntry(ts.bytes, 'application/json', `timestamp-${ts.version}`, SHORT, '/tuf/timestamp.json') : null;
    }
    const meta = /^\/tuf\/(\d+)\.([a-z0-9-]+)\.json$/.exec(url);
    if (meta) {
      const latest = instance.served.latestMetadata(meta[2]!);
      if (!latest || String(latest.version) !== meta[1]) return null;
      return fastEntry(latest.bytes, 'application/json', `${meta[2]}-${meta[1]}`, IMMUTABLE, '/tuf/:file{[0-9]+\\.[a-z0-9-]+\\.json}');
    }
    const target = /^\/tuf\/targets\/((?:[^/]+\/)*)([0-9a-f]{64})\.([^/]+)$/.exec(url);
    if (target) {
      const [, dir, sha, name] = target;
      // The store is async: a miss goes to hono (the same response) while this read fills the cache for the next request.
      void instance.records.repository.getTarget(sha!, dir! + name!).then(
        (rec) => rec && rememberTarget(url, fastEntry(rec.bytes, contentType(rec.path), sha!, IMMUTABLE, '/tuf/targets/*')),
        () => {},
      );
    }
    return null;
  };

  const rememberTarget = (url: string, entry: FastEntry) => {
    if (targets.has(url) || entry.body.length > max / 4) return;
    targets.set(url, entry);
    cached += entry.body.length;
    for (const [k, v] of targets) {
      if (cached <= max) break;
      targets.delete(k);
      cached -= v.body.length;
    }
  };

  function lookup(method: string | undefined, url: string | undefined): FastEntry | null {
    if (method !== 'GET' || !url) return null;
    let hit = metadata.get(url);
    if (hit) return hit;
    hit = targets.get(url);
    if (hit) {
      targets.delete(url);
      targets.set(url, hit);
      return hit;
    }
    const built = build(url);
    if (built) metadata.set(url, built);
    return built;
  }
  return Object.assign(lookup, { close: unsubscribe });
}
