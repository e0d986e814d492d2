/**
 * The sharded index (CONTRACT.md "Target files", issue 17): `index.json` is a small header
 * listing one shard per hashed bin, `index/{prefix}.json`; a shard lists every scope whose
 * trust file lies in that bin, with its path and version. A change to one scope rewrites one
 * shard, and a client that wants one scope reads no index at all (it looks the trust file up
 * as a TUF target). Pure: names and versions in, bytes and values out.
 *
 * Index v1 (`{ mediaType: ...index.v1+json, scopes: [...] }`, every scope in index.json) is
 * still read, so that clients, downstreams and bundle imports work against a service that
 * has not yet published v2; it is never written.
 */
import { sha256Hex } from './hash.js';
import { DEFAULT_SCOPE, parseScope, trustTargetPath } from './scope.js';

export const INDEX_TARGET = 'index.json';
export const INDEX_V1_MEDIA_TYPE = 'application/vnd.keyshare.index.v1+json';
export const INDEX_MEDIA_TYPE = 'application/vnd.keyshare.index.v2+json';
export const SHARD_MEDIA_TYPE = 'application/vnd.keyshare.index-shard.v2+json';

export interface IndexEntry {
  scope: string;
  path: string;
  version: number;
}

/** index.json v2: the shards, one per hashed bin, in bin order. */
export interface IndexHeader {
  mediaType: typeof INDEX_MEDIA_TYPE;
  shards: string[];
}

/** index/{prefix}.json: the scopes whose trust file lies in bin {prefix}, sorted by scope. */
export interface IndexShard {
  mediaType: typeof SHARD_MEDIA_TYPE;
  scopes: IndexEntry[];
}

/** A parsed index.json: v2 names its shards; v1 (read only) lists every scope itself. */
export type ParsedIndex = { version: 2; shards: string[]; bitLength: number } | { version: 1; scopes: IndexEntry[] };

/** A malformed index file: callers turn it into their own error code. */
export class IndexFormatError extends Error {}

/** The first 32 bits of SHA-256(path), what TAP 15 bins and path_hash_prefixes read (a one-shot hash: bench B9 hashes every governed path). */
export function pathHash32(path: string): number {
  let h = pathHashes.get(path);
  if (h === undefined) {
    if (pathHashes.size >= MAX_PATH_HASHES) pathHashes.clear();
    // Read from the hex digest: about half the CPU of a Buffer digest (bench B4, 100k new paths).
    pathHashes.set(path, (h = parseInt(sha256Hex(path).slice(0, 8), 16)));
  }
  return h;
}

/** pathHash32 of recent paths: a publish asks for each changed path's bin and shard, again on every change at a parent (bench B9). Cleared when full, so that it stays bounded. */
const pathHashes = new Map<string, number>();
const MAX_PATH_HASHES = 1 << 18;

/** TAP 15: the number of the hashed bin `path` lies in, for `bitLength` bins bits: the leftmost bits of its hash (as @tufjs/models SuccinctRoles). */
export function binIndex(path: string, bitLength: number, h32 = pathHash32(path)): number {
  return h32 >>> (32 - bitLength);
}

/** TAP 15: the suffix of the hashed bin `path` lies in (binIndex in hex, padded to the last bin's width). */
export function binSuffix(path: string, bitLength: number, h32 = pathHash32(path)): string {
  const bin = binIndex(path, bitLength, h32);
  return bin.toString(16).padStart(((1 << bitLength) - 1).toString(16).length, '0');
}

export function shardPath(suffix: string): string {
  return `index/${suffix}.json`;
}

export function isShardPath(path: string): boolean {
  return /^index\/[0-9a-f]+\.json$/.test(path);
}

/** Every shard path for `bitLength` bins bits, in bin order. */
export function shardPaths(bitLength: number): string[] {
  const width = ((1 << bitLength) - 1).toString(16).length;
  return Array.from({ length: 1 << bitLength }, (_, i) => shardPath(i.toString(16).padStart(width, '0')));
}

/** The shard that lists `scope`. */
export function shardOfScope(scope: string, bitLength: number): string {
  return shardPath(binSuffix(trustTargetPath(scope), bitLength));
}

/** The scope whose trust file `path` is, or null for another target (CONTRACT.md: `*` is `trust/_default.json`). */
export function scopeOfTrustPath(path: string): string | null {
  const m = /^trust\/(.+)\.json$/.exec(path);
  if (!m) return null;
  return m[1] === '_default' ? DEFAULT_SCOPE : m[1]!;
}

export function headerBytes(bitLength: number): Buffer {
  const header: IndexHeader = { mediaType: INDEX_MEDIA_TYPE, shards: shardPaths(bitLength) };
  return Buffer.from(JSON.stringify(header, null, 2) + '\n');
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** A shard's bytes. Compact JSON: a shard is read by programs, and its size is what a cold client downloads. */
export function shardBytes(versions: Iterable<readonly [string, number]>): Buffer {
  const scopes = [...versions].sort(([a], [b]) => compare(a, b)).map(([scope, version]) => ({ scope, path: trustTargetPath(scope), version }));
  const shard: IndexShard = { mediaType: SHARD_MEDIA_TYPE, scopes };
  return Buffer.from(JSON.stringify(shard) + '\n');
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function parseJson(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new IndexFormatError(`${what} is not JSON`);
  }
}

/** Entries as both index versions list them: a valid scope, its own trust path, a version, each scope once. */
function parseEntries(list: unknown[], what: string, seen: Set<string>): IndexEntry[] {
  for (const entry of list) {
    if (!isRecord(entry) || typeof entry.scope !== 'string' || !Number.isInteger(entry.version) || (entry.version as number) < 1) {
      throw new IndexFormatError(`${what} has a malformed entry`);
    }
    try {
      parseScope(entry.scope);
    } catch {
      throw new IndexFormatError(`${what} lists an invalid scope ${JSON.stringify(entry.scope)}`);
    }
    // The path is derived from the scope: a signed index must not point one scope at another's file.
    if (entry.path !== trustTargetPath(entry.scope)) throw new IndexFormatError(`${what} gives scope ${entry.scope} the path ${String(entry.path)}`);
    if (seen.has(entry.scope)) throw new IndexFormatError(`${what} lists scope ${entry.scope} twice`);
    seen.add(entry.scope);
  }
  return list as IndexEntry[];
}

/** index.json, v2 or v1. A v2 header must list exactly the shards of 2^n bins. */
export function parseIndexHeader(bytes: Uint8Array): ParsedIndex {
  const index = parseJson(bytes, INDEX_TARGET);
  if (isRecord(index) && index.mediaType === INDEX_MEDIA_TYPE && Array.isArray(index.shards)) {
    const n = index.shards.length;
    const bitLength = Math.log2(n);
    if (!Number.isInteger(bitLength) || bitLength < 1 || bitLength > 24) throw new IndexFormatError(`${INDEX_TARGET} lists ${n} shards, not 2^n`);
    const expected = shardPaths(bitLength);
    if (index.shards.some((s, i) => s !== expected[i])) throw new IndexFormatError(`${INDEX_TARGET} does not list the shards index/00.json... in bin order`);
    return { version: 2, shards: expected, bitLength };
  }
  if (isRecord(index) && index.mediaType === INDEX_V1_MEDIA_TYPE && Array.isArray(index.scopes)) {
    return { version: 1, scopes: parseEntries(index.scopes, INDEX_TARGET, new Set()) };
  }
  throw new IndexFormatError(`${INDEX_TARGET} is neither a ${INDEX_MEDIA_TYPE} nor a ${INDEX_V1_MEDIA_TYPE} document`);
}

/** index/{prefix}.json: each scope it lists must lie in that shard's bin. */
export function parseShard(bytes: Uint8Array, path: string, bitLength: number): IndexEntry[] {
  const shard = parseJson(bytes, path);
  if (!isRecord(shard) || shard.mediaType !== SHARD_MEDIA_TYPE || !Array.isArray(shard.scopes)) throw new IndexFormatError(`${path} is not a ${SHARD_MEDIA_TYPE} document`);
  const entries = parseEntries(shard.scopes, path, new Set());
  for (const e of entries) if (shardOfScope(e.scope, bitLength) !== path) throw new IndexFormatError(`${path} lists scope ${e.scope}, whose trust file lies in another bin`);
  return entries;
}

/**
 * Issue 17 (bench B5): whether the default scope `*` is defined, stated in the signed top-level
 * targets, as the `custom` of index.json's entry. Every client that resolves a repository asks
 * whether `*` exists; with this it learns that from targets, without the bin that would prove
 * `trust/_default.json` absent. A service from before this states nothing, and clients then
 * look `*` up as a target.
 */
export function indexCustom(defaultScopeDefined: boolean, logKey?: string): { keyshare: { defaultScope: boolean; logKey?: string } } {
  return { keyshare: { defaultScope: defaultScopeDefined, ...(logKey ? { logKey } : {}) } };
}

/**
 * Issue 23: the transparency log's verifier key (`name+hash+key`), stated in the same signed
 * `custom`, so that a client learns it through the TUF chain from its pinned root instead of on
 * first use; a new key there is how the log key rotates. Nothing stated: a service from before.
 */
export function logKeyStated(custom: unknown): string | undefined {
  const stated = isRecord(custom) && isRecord(custom.keyshare) ? custom.keyshare.logKey : undefined;
  return typeof stated === 'string' ? stated : undefined;
}

/** What index.json's `custom` states about `*`: defined, not defined, or nothing. */
export function defaultScopeStated(custom: unknown): boolean | undefined {
  const stated = isRecord(custom) && isRecord(custom.keyshare) ? custom.keyshare.defaultScope : undefined;
  return typeof stated === 'boolean' ? stated : undefined;
}
