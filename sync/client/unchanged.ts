/**
 * A warm fetch when nothing changed, answered from the cache without tuf-js (issue 25: loading
 * tuf-js and @tufjs/models is a large part of a warm fetch's start).
 *
 * TUF 5.3.3 asks for root N+1 and 5.4 for timestamp.json on every refresh. When the probe finds
 * no newer root and the timestamp served is byte for byte the one the cache holds, the refresh's
 * outcome is already known: the same root, the same timestamp (no rollback is possible: the
 * versions are those accepted last), hence the same snapshot, targets and delegated roles, all
 * of which a full refresh verified when it accepted them. What is left of TUF 5.3-5.7 is what
 * depends on the time and on the files here:
 * - expiry (5.3.10, 5.4.4, 5.5.6, 5.6.5) of root, timestamp, snapshot, targets and every
 *   delegated role used, at the reference time and at the system clock (a freeze attack: the
 *   same old timestamp replayed must still fail once expired);
 * - each cached role is the very file the last full refresh trusted (CacheState.verified, the
 *   sha256 of each), and at the version its parent lists (and its hashes and length, when
 *   listed): a damaged or altered cache is not read here;
 * - each target through the delegations as tuf-js walks them (5.6.7; hashed bins only) and
 *   the cached copy against the signed length and hashes (5.7.2).
 * Anything else (a newer root, other bytes, a role or target not cached, anything expired,
 * any doubt) returns the two answers for the full tuf-js refresh to use (`seeds`): it then
 * decides, and reports any error, exactly as it does without this path.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Fetcher } from 'tuf-js';
import { DownloadHTTPError, DownloadLengthMismatchError } from 'tuf-js/dist/error.js';
import { sha256Bytes, sha256Hex } from '../../shared/hash.js';
import { INDEX_TARGET, defaultScopeStated } from '../../shared/trust-index.js';
import { DEFAULT_SCOPE, trustTargetPath } from '../../shared/scope.js';
import { inLiteralPathPattern } from '../../shared/tuf-paths.js';
import type { CacheLayout, CacheState } from './cache.js';
import type { TargetReader } from './select.js';
import { everyTrustFile, type ListedRole } from './every-scope.js';

/** The answers a refresh starts with, by URL: handed to tuf-js when this path cannot conclude. */
export type Seeds = Map<string, Promise<Buffer>>;

/** The cached roles, trusted as they are; reads targets as fetch-trust's full path does. */
export interface UnchangedTrust {
  timestamp: Buffer;
  reader: TargetReader;
  signed: Record<'root' | 'timestamp' | 'snapshot' | 'targets', { version: number; expires: string }>;
  /** The top-level targets' entry for index.json (its `custom` states the log key). */
  indexCustom: unknown;
}

/** Thrown inside this module when a check cannot conclude: the full refresh decides. */
class Doubt extends Error {}

/** Largest cached role read here (tuf-js's largest default cap, as CacheFetcher's). */
const MAX_ROLE_BYTES = 5_000_000;

interface Role {
  bytes: Buffer;
  signed: {
    version: number;
    expires: string;
    meta?: Record<string, { version?: unknown; length?: unknown; hashes?: Record<string, unknown> }>;
    targets?: Record<string, { length?: unknown; hashes?: Record<string, unknown>; custom?: unknown }>;
    delegations?: Delegations;
  };
}

/**
 * The probe and timestamp.json, asked for together (as HttpFetcher's prefetch does), then the
 * checks above: the seeds, and the trust as cached when every check passed (nothing is written here).
 */
export async function unchangedTrust(args: {
  server: string;
  layout: CacheLayout;
  state: CacheState;
  fetcher: Fetcher;
  now: Date;
  limits: { rootMaxLength: number; timestampMaxLength: number; maxDelegations: number };
}): Promise<{ trust?: UnchangedTrust; seeds: Seeds }> {
  const { layout, state, fetcher } = args;
  const seeds: Seeds = new Map();
  let root: Role;
  try {
    root = cachedRole(layout, 'root', state);
  } catch (e) {
    if (e instanceof Doubt) return { seeds };
    throw e;
  }
  const timestampUrl = `${args.server}/tuf/timestamp.json`;
  const probeUrl = `${args.server}/tuf/${root.signed.version + 1}.root.json`;
  const served = fetcher.downloadBytes(timestampUrl, args.limits.timestampMaxLength);
  const probe = fetcher.downloadBytes(probeUrl, args.limits.rootMaxLength);
  // Not awaited on every path: never an unhandled rejection (tuf-js sees them through the seeds).
  served.catch(() => {});
  probe.catch(() => {});
  seeds.set(probeUrl, probe);
  const newerRoot = await probe.then(
    () => true,
    (e: unknown) => !(e instanceof DownloadHTTPError && (e.statusCode === 403 || e.statusCode === 404)),
  );
  // Root N+1 exists (or the probe failed): the timestamp asked for beside it is dropped unread
  // (fetcher.ts prefetchTimestamp), and tuf-js asks for it once its root update is done.
  if (newerRoot) return { seeds };
  seeds.set(timestampUrl, served);
  try {
    const timestamp = cachedRole(layout, 'timestamp', state);
    if (!(await served.then((b) => b.equals(timestamp.bytes), () => false))) return { seeds };
    const snapshot = listedRole(layout, 'snapshot', state, timestamp);
    const targets = listedRole(layout, 'targets', state, snapshot);
    const clocks = [args.now, new Date()];
    for (const [name, role] of [['root', root], ['timestamp', timestamp], ['snapshot', snapshot], ['targets', targets]] as const) current(name, role, clocks);
    const load = roleLoader(layout, state, snapshot, targets, clocks);
    const info = targetInfo(load, args.limits.maxDelegations);
    const reader: TargetReader = {
      read: async (path) => cachedTarget(layout, path, info(path)),
      defined: async (scope) => {
        if (scope === DEFAULT_SCOPE && defaultScopeStated(targets.signed.targets?.[INDEX_TARGET]?.custom) === false) return false;
        return info(trustTargetPath(scope)) !== undefined;
      },
      // Issue 17: every scope from the cached bins, as the full refresh lists them (every-scope.ts).
      trustFiles: () => everyTrustFile(async (name) => listed(load(name)), async (path) => info(path) !== undefined),
    };
    const signed = (r: Role) => ({ version: r.signed.version, expires: r.signed.expires });
    return {
      seeds,
      trust: {
        timestamp: timestamp.bytes,
        reader: guarded(reader),
        signed: { root: signed(root), timestamp: signed(timestamp), snapshot: signed(snapshot), targets: signed(targets) },
        indexCustom: targets.signed.targets?.[INDEX_TARGET]?.custom,
      },
    };
  } catch (e) {
    if (e instanceof Doubt) return { seeds };
    throw e;
  }
}

/** Whether an error came from this path's checks (the caller then runs the full refresh with the seeds). */
export const isDoubt = (e: unknown): boolean => e instanceof Doubt;

/** A reader whose every failure is a Doubt: the full refresh reports the error, as it would without this path. */
function guarded(reader: TargetReader): TargetReader {
  const wrap =
    <A extends unknown[], R>(f: (...a: A) => Promise<R>) =>
    async (...a: A): Promise<R> => {
      try {
        return await f(...a);
      } catch (e) {
        throw e instanceof Doubt ? e : new Doubt(String(e));
      }
    };
  return { read: wrap(reader.read), defined: wrap(reader.defined), trustFiles: wrap(reader.trustFiles) };
}

/** A cached role, exactly the file the last full refresh trusted (CacheState.verified). */
function cachedRole(layout: CacheLayout, name: string, state: CacheState): Role {
  const digest = state.verified?.[name];
  if (!digest) throw new Doubt(`${name} not verified`);
  const file = join(layout.metadataDir, `${encodeURIComponent(name)}.json`);
  const size = statSync(file, { throwIfNoEntry: false })?.size;
  if (size === undefined || size > MAX_ROLE_BYTES) throw new Doubt(`${name} not cached`);
  const bytes = readFileSync(file);
  if (sha256Hex(bytes) !== digest) throw new Doubt(`${name} changed since it was verified`);
  const signed = (JSON.parse(bytes.toString('utf8')) as { signed?: Role['signed'] }).signed;
  if (!signed || typeof signed.version !== 'number' || typeof signed.expires !== 'string') throw new Doubt(`${name} has no version`);
  return { bytes, signed };
}

/** A cached role at the version (and length and hashes, when listed) its parent's `meta` gives (TUF 5.5.2, 5.6.2, 5.6.3). */
function listedRole(layout: CacheLayout, name: string, state: CacheState, parent: Role): Role {
  const meta = parent.signed.meta?.[`${name}.json`];
  if (!meta) throw new Doubt(`${name} not listed`);
  const role = cachedRole(layout, name, state);
  if (meta.version !== role.signed.version) throw new Doubt(`${name} at another version`);
  if (meta.length !== undefined || meta.hashes !== undefined) matchesSigned(role.bytes, meta);
  return role;
}

/** @tufjs/models Signed.isExpired: expired at or past `expires`, at either clock. */
function current(name: string, role: Role, clocks: Date[]): void {
  const expires = new Date(role.signed.expires);
  if (!(expires.getTime() > 0) || clocks.some((c) => c >= expires)) throw new Doubt(`${name} expired`);
}

type Info = { length: number; hashes: Record<string, string> };

interface Delegations {
  roles?: unknown;
  succinct_roles?: { bit_length?: unknown; name_prefix?: unknown };
}

/** The delegated roles, each the cached file at the version the snapshot lists, current (TUF 5.6.2-5.6.5), loaded once. */
function roleLoader(layout: CacheLayout, state: CacheState, snapshot: Role, targets: Role, clocks: Date[]): (name: string) => Role {
  const roles = new Map<string, Role>([['targets', targets]]);
  return (name) => {
    let role = roles.get(name);
    if (!role) {
      role = listedRole(layout, name, state, snapshot);
      current(name, role, clocks);
      roles.set(name, role);
    }
    return role;
  };
}

/** A role as every-scope.ts lists it: its target paths, and the roles it delegates to. */
function listed(role: Role): ListedRole {
  const d = role.signed.delegations;
  let delegates: ListedRole['delegates'] = [];
  if (d?.roles !== undefined) {
    if (!Array.isArray(d.roles)) throw new Doubt('malformed delegations');
    delegates = (d.roles as { name?: unknown; paths?: unknown }[]).map((r) => {
      if (typeof r.name !== 'string' || (r.paths !== undefined && !(Array.isArray(r.paths) && r.paths.every((p) => typeof p === 'string')))) throw new Doubt('malformed delegations');
      return { name: r.name, ...(r.paths !== undefined ? { paths: r.paths as string[] } : {}) };
    });
  } else if (d?.succinct_roles) {
    const { bits, prefix } = succinct(d.succinct_roles);
    const width = (2 ** bits - 1).toString(16).length;
    delegates = Array.from({ length: 2 ** bits }, (_, i) => ({ name: `${prefix}-${i.toString(16).padStart(width, '0')}` }));
  }
  return { paths: Object.keys(role.signed.targets ?? {}), delegates };
}

/** A succinct_roles delegation (TAP 15): its bit length (1 to 32) and name prefix. */
function succinct(s: NonNullable<Delegations['succinct_roles']>): { bits: number; prefix: string } {
  const { bit_length: bits, name_prefix: prefix } = s;
  if (typeof bits !== 'number' || !Number.isInteger(bits) || bits < 1 || bits > 32 || typeof prefix !== 'string') throw new Doubt('malformed succinct_roles');
  return { bits, prefix };
}

/**
 * TUF 5.6.7 as tuf-js 5.0.1 walks it (Updater.preorderDepthFirstWalk): preorder, depth first
 * from the top-level targets, at most `maxDelegations` roles, a terminating role ending the
 * search of its siblings. Delegations by `path_hash_prefixes`, hashed bins (succinct_roles,
 * TAP 15), and `paths` made of literal and `*` components (keyshare's `shards` role, `index/*`);
 * any other glob pattern is left to tuf-js. Undefined: no role lists it.
 */
function targetInfo(load: (name: string) => Role, maxDelegations: number): (path: string) => Info | undefined {
  return (path) => {
    const parts = path.split('/');
    const hash = sha256Bytes(path);
    const stack = ['targets'];
    const visited = new Set<string>();
    while (visited.size <= maxDelegations && stack.length > 0) {
      const name = stack.pop()!;
      if (visited.has(name)) continue;
      const role = load(name);
      const t = role.signed.targets?.[path];
      if (t) {
        if (typeof t.length !== 'number' || !t.hashes || typeof t.hashes !== 'object') throw new Doubt(`${path}: no length or hashes`);
        return { length: t.length, hashes: t.hashes as Record<string, string> };
      }
      visited.add(name);
      const d = role.signed.delegations;
      if (!d) continue;
      const children: string[] = [];
      for (const { child, terminating } of rolesFor(d, hash, parts)) {
        children.push(child);
        if (terminating) {
          stack.length = 0;
          break;
        }
      }
      stack.push(...children.reverse());
    }
    return undefined;
  };
}

/** @tufjs/models Delegations.rolesForTarget: the delegated roles trusted for a path (its components, and the sha256 of it). */
function rolesFor(d: Delegations, hash: Buffer, parts: string[]): { child: string; terminating: boolean }[] {
  if (d.roles !== undefined) {
    if (!Array.isArray(d.roles)) throw new Doubt('malformed delegations');
    const hex = hash.toString('hex');
    return (d.roles as { name?: unknown; terminating?: unknown; paths?: unknown; path_hash_prefixes?: unknown }[]).flatMap((r) => {
      if (typeof r.name !== 'string' || typeof r.terminating !== 'boolean') throw new Doubt('malformed delegations');
      // TUF 4.5: exactly one of `paths` and `path_hash_prefixes`.
      const byPaths = Array.isArray(r.paths) && r.path_hash_prefixes === undefined;
      if (!byPaths && !(Array.isArray(r.path_hash_prefixes) && r.paths === undefined)) throw new Doubt('malformed delegations');
      const trusted = byPaths
        ? (r.paths as unknown[]).some((pattern) => inPathPattern(parts, pattern))
        : (r.path_hash_prefixes as unknown[]).some((p) => typeof p === 'string' && hex.startsWith(p));
      return trusted ? [{ child: r.name, terminating: r.terminating }] : [];
    });
  }
  if (!d.succinct_roles) return [];
  const { bits, prefix } = succinct(d.succinct_roles);
  // SuccinctRoles.getRoleForTarget: the leftmost bit_length bits of the hash, in hex padded to the last bin's width.
  const bin = hash.readUInt32BE(0) >>> (32 - bits);
  return [{ child: `${prefix}-${bin.toString(16).padStart((2 ** bits - 1).toString(16).length, '0')}`, terminating: true }];
}

/** @tufjs/models isTargetInPathPattern for literal and `*` components (shared/tuf-paths.ts); any other glob is a doubt: tuf-js decides. */
function inPathPattern(parts: string[], pattern: unknown): boolean {
  const matched = typeof pattern === 'string' ? inLiteralPathPattern(parts, pattern) : undefined;
  if (matched === undefined) throw new Doubt('glob pattern');
  return matched;
}

/** TUF 5.7.2: the cached copy of a target, when it has the signed length and hashes. */
function cachedTarget(layout: CacheLayout, path: string, info: Info | undefined): Buffer {
  if (!info) throw new Doubt(`${path} not signed`);
  const file = join(layout.targetsDir, encodeURIComponent(path));
  if (statSync(file, { throwIfNoEntry: false })?.size !== info.length) throw new Doubt(`${path} not cached`);
  const bytes = readFileSync(file);
  matchesSigned(bytes, info);
  return bytes;
}

/** @tufjs/models TargetFile.verify / MetaFile.verify: the length, and every hash listed (an unknown algorithm is a doubt). */
function matchesSigned(bytes: Buffer, signed: { length?: unknown; hashes?: Record<string, unknown> }): void {
  if (signed.length !== undefined && signed.length !== bytes.length) throw new Doubt('length differs');
  for (const [algorithm, digest] of Object.entries(signed.hashes ?? {})) {
    // keyshare lists SHA-256 (shared/hash.ts); any other algorithm is left to tuf-js.
    if (algorithm !== 'sha256') throw new Doubt(`hash ${algorithm}`);
    if (sha256Hex(bytes) !== digest) throw new Doubt('hash differs');
  }
}

/**
 * A Fetcher that answers each seeded URL once from its seed (under the caller's cap, as
 * MemoryFetcher caps downloads), every other request through `inner`.
 */
export class SeededFetcher implements Fetcher {
  constructor(
    private readonly inner: Fetcher,
    private readonly seeds: Seeds,
  ) {}

  async downloadBytes(url: string, maxLength: number): Promise<Buffer> {
    const seed = this.seeds.get(url);
    if (!seed) return this.inner.downloadBytes(url, maxLength);
    this.seeds.delete(url);
    const bytes = await seed;
    if (bytes.length > maxLength) throw new DownloadLengthMismatchError('Max length reached');
    return bytes;
  }

  downloadFile<T>(url: string, maxLength: number, handler: (file: string) => Promise<T>): Promise<T> {
    return this.inner.downloadFile(url, maxLength, handler);
  }
}
