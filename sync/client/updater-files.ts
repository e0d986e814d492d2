/**
 * What fetchTrust does with tuf-js 5.0.1's Updater (pinned in package.json) beyond its public
 * API: the roles it accepts kept in memory until the fetch is accepted, targets read against
 * their signed length and hashes (TUF 5.7), the whole verified repository for a mirror, and the
 * sha256 of each trusted role for the warm path (unchanged.ts). Types only from tuf-js: the
 * library itself is loaded by the full refresh alone (issue 25).
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Metadata, Root, Snapshot, Targets } from '@tufjs/models';
import type { Fetcher, Updater } from 'tuf-js';
import { INDEX_TARGET, defaultScopeStated } from '../../shared/trust-index.js';
import { KeyshareError, SharedCodes as Codes } from '../../shared/errors.js';
import { sha256Hex } from '../../shared/hash.js';
import { DEFAULT_SCOPE, trustTargetPath } from '../../shared/scope.js';
import { writePrivateFileAtomic } from '../../shared/private-files.js';
import type { CacheState } from './cache.js';
import { FetchCodes } from './errors.js';
import { everyTrustFile, type ListedRole, type TrustFile } from './every-scope.js';

/**
 * The largest target this client downloads, whatever the signed metadata says (STYLE.md: cap
 * every size read from a network before parsing). Trust documents are kilobytes; large CRLs
 * run to tens of megabytes.
 */
export const MAX_TARGET_BYTES = 64 * 1024 * 1024;

/** A repository file as served under /tuf/, by its path there (`3.snapshot.json`, `targets/trust/<sha256>.x.json`). */
export interface RepositoryFile {
  path: string;
  bytes: Buffer;
}

/**
 * Issue 25: the sha256 of each role file tuf-js trusts at the end of this refresh (its trusted
 * set: root, timestamp, snapshot, targets and the delegated roles it loaded), for the warm path
 * (unchanged.ts). Delegated roles trusted by an earlier refresh are kept while targets.json is
 * the same file (their delegating keys unchanged); the warm path checks each against the
 * snapshot's versions and the clock again.
 */
export function trustedFiles(internals: UpdaterInternals, read: (role: string) => Buffer | null, state: CacheState): Record<string, string> {
  const names = Object.keys(internals.trustedSet?.trustedSet ?? {});
  const files: Record<string, string> = {};
  for (const name of names) {
    const bytes = read(name);
    if (bytes) files[name] = sha256Hex(bytes);
  }
  const before = state.verified;
  if (before && files.targets && before.targets === files.targets) {
    for (const [name, digest] of Object.entries(before)) if (!(name in files) && !['root', 'timestamp', 'snapshot'].includes(name)) files[name] = digest;
  }
  return files;
}

/** What fetch-trust reads from tuf-js 5.0.1's Updater beyond its public API (pinned in package.json). */
interface UpdaterFiles {
  loadLocalMetadata(role: string): Buffer;
  persistMetadata(role: string, bytes: Buffer): void;
}

/**
 * tuf-js reads a role's local copy from `{metadataDir}/{role}.json` and writes each role it
 * accepts there at once. Redirected: an accepted role is kept in memory until `commit`, which
 * writes what changed into the cache (each file by an atomic rename), so no copy of the cache
 * is made per fetch and a refused fetch leaves the cache as it was. A read gets the role this
 * fetch accepted, else (online) the cached file; offline none, so that tuf-js takes every
 * cached file through the CacheFetcher and verifies it as a download (TUF 5.3-5.7). The root
 * is the cached one in both modes (cache.ts reached it from the pin).
 */
export function acceptedMetadata(updater: Updater, metadataDir: string, offline: boolean) {
  const accepted = new Map<string, Buffer>();
  const cachedFile = (role: string) => join(metadataDir, `${role}.json`);
  const read = (role: string): Buffer | null => {
    const bytes = accepted.get(role);
    if (bytes) return bytes;
    if (offline && role !== 'root') return null;
    return existsSync(cachedFile(role)) ? readFileSync(cachedFile(role)) : null;
  };
  const files = updater as unknown as UpdaterFiles;
  files.loadLocalMetadata = (role) => {
    const bytes = read(role);
    // tuf-js takes any error here for "no local copy", and downloads the role.
    if (!bytes) throw new Error(`no local ${role}.json`);
    return bytes;
  };
  files.persistMetadata = (role, bytes) => void accepted.set(role, Buffer.from(bytes));
  return {
    read,
    commit(): void {
      mkdirSync(metadataDir, { recursive: true, mode: 0o700 });
      for (const [role, bytes] of accepted) {
        const file = join(metadataDir, `${encodeURIComponent(role)}.json`);
        if (existsSync(file) && readFileSync(file).equals(bytes)) continue;
        writePrivateFileAtomic(file, bytes);
      }
    },
  };
}

/** Moves every file of `stage` over its namesake in `dir`, each by an atomic rename. */
export function commitStage(stage: string, dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const name of readdirSync(stage)) {
    const from = join(stage, name);
    if (!statSync(from).isFile()) continue;
    const to = join(dir, name);
    if (existsSync(to) && readFileSync(to).equals(readFileSync(from))) continue;
    renameSync(from, to);
  }
}

/**
 * TUF 5.7: find the target through the delegations (or take the info `known` found there), use
 * the cached copy when it matches the signed length and hashes, download it (online: into the
 * stage) otherwise; then verify the very bytes returned. A signed length over MAX_TARGET_BYTES
 * is refused before any download.
 */
export async function readTarget(updater: Updater, path: string, dirs: { cached: string; staged: string | null }, known?: TargetInfo): Promise<Buffer> {
  const info = known ?? (await updater.getTargetInfo(path));
  if (!info) throw new KeyshareError(FetchCodes.METADATA_INVALID, `the signed targets do not hold ${path}`);
  if (info.length > MAX_TARGET_BYTES) {
    throw new KeyshareError(FetchCodes.TOO_LARGE, `the signed metadata gives ${path} a length of ${info.length} bytes; this client reads at most ${MAX_TARGET_BYTES}`);
  }
  // tuf-js names a target's file after its URI-encoded path.
  const name = encodeURIComponent(path);
  // TUF 5.7.2: the cached copy serves when it matches the signed length and hashes (what
  // tuf-js's findCachedTarget checks, here on the very bytes returned, read once).
  const cachedFile = join(dirs.cached, name);
  if (statSync(cachedFile, { throwIfNoEntry: false })?.size === info.length) {
    const cached = readFileSync(cachedFile);
    if (await matches(info, cached)) return cached;
  }
  const bytes = await downloadTarget(updater, info);
  await info.verify(chunks(bytes));
  if (dirs.staged) writeFileSync(join(dirs.staged, name), bytes, { mode: 0o600 });
  return bytes;
}

/**
 * TUF 5.7.3 as tuf-js's Updater.downloadTarget asks for a target (consistent snapshots: the
 * file `{dir}/{sha256}.{name}`, as its config's prefixTargetsWithHash), at most its signed
 * length, held in memory: tuf-js's own spools each target through a temporary dir, a stream
 * and a copy (bench B5, every scope: 8.6 s of a 40 s profile at 10,000 scopes).
 */
async function downloadTarget(updater: Updater, info: TargetInfo): Promise<Buffer> {
  const u = updater as unknown as UpdaterInternals;
  let file = info.path;
  if (u.trustedSet.root?.signed.consistentSnapshot && u.config.prefixTargetsWithHash) {
    const slash = file.lastIndexOf('/');
    file = `${file.slice(0, slash + 1)}${Object.values(info.hashes)[0]}.${file.slice(slash + 1)}`;
  }
  // tuf-js's url.join.
  const url = new URL(`${u.targetBaseUrl.replace(/\/?$/, '/')}${file.replace(/^\//, '')}`).toString();
  return u.fetcher.downloadBytes(url, info.length);
}

export type TargetInfo = NonNullable<Awaited<ReturnType<Updater['getTargetInfo']>>>;

/** @tufjs/models TargetFile.verify reads its argument with `for await`: an array of one chunk will do, without node:stream. */
const chunks = (bytes: Buffer) => [bytes] as unknown as Readable;

async function matches(info: TargetInfo, bytes: Buffer): Promise<boolean> {
  try {
    await info.verify(chunks(bytes));
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether a scope is defined: its trust file is a signed target (TUF 5.6.7, the delegation walk).
 * For `*`, the verified top-level targets may state it (trust-index.ts defaultScopeStated), which
 * spares the bin that would prove it absent (issue 17: a cold fetch of one repository in ≤ 8 requests).
 */
export function definedOn(updater: Updater): (scope: string) => Promise<boolean> {
  return async (scope) => {
    if (scope === DEFAULT_SCOPE) {
      const top = (updater as unknown as UpdaterInternals).trustedSet?.targets?.signed.targets[INDEX_TARGET];
      if (defaultScopeStated(top?.custom) === false) return false;
    }
    return (await updater.getTargetInfo(trustTargetPath(scope))) !== undefined;
  };
}

/**
 * Issue 17: every scope's trust file, from the verified bins (every-scope.ts): each role loaded
 * through the delegations as tuf-js loads it (TUF 5.6.1-5.6.6), each path kept when tuf-js's
 * own walk finds it (5.6.7). The signed info of each goes into `infos`, for readTarget.
 */
export function trustFilesOn(updater: Updater, infos: Map<string, TargetInfo>): () => Promise<TrustFile[]> {
  const internals = updater as unknown as UpdaterInternals;
  const load = async (role: string, parent: string): Promise<ListedRole | undefined> => {
    const md = await internals.loadTargets(role, parent);
    if (!md) return undefined;
    const d = md.signed.delegations;
    const delegates = d?.roles ? Object.values(d.roles).map((r) => ({ name: r.name, paths: r.paths })) : [...(d?.succinctRoles?.getRoles() ?? [])].map((name) => ({ name }));
    return { paths: Object.keys(md.signed.targets), delegates };
  };
  return () =>
    everyTrustFile(load, async (path) => {
      const info = await updater.getTargetInfo(path);
      if (info) infos.set(path, info);
      return info !== undefined;
    });
}

/** What wholeRepository, definedOn, trustFilesOn and readTarget read from tuf-js 5.0.1 beyond its public API (pinned in package.json). */
export interface UpdaterInternals {
  trustedSet: { root?: Metadata<Root>; snapshot?: Metadata<Snapshot>; targets?: Metadata<Targets>; trustedSet?: Record<string, unknown> };
  loadTargets(role: string, parent: string): Promise<Metadata<Targets> | undefined>;
  fetcher: Fetcher;
  targetBaseUrl: string;
  config: { prefixTargetsWithHash: boolean };
}

/** Bounds on a mirrored repository (a hostile upstream must not make this service store without limit). */
const MIRROR_MAX_ROLES = 4096;
const MIRROR_MAX_TARGETS = 100_000;

/**
 * Every file of the repository the Updater just verified, for a byte-for-byte mirror: each
 * delegated role is loaded through the delegations (TUF 5.6), and each target of each role is
 * read against its signed length and hashes (5.7). Metadata bytes are those tuf-js verified.
 */
export async function wholeRepository(updater: Updater, metadata: (role: string) => Buffer | null, dirs: { cached: string; staged: string | null }): Promise<RepositoryFile[]> {
  const internals = updater as unknown as UpdaterInternals;
  if (typeof internals.loadTargets !== 'function' || !internals.trustedSet) {
    throw new KeyshareError(Codes.INTERNAL, 'this tuf-js version does not expose what mirroring needs');
  }
  const snapshot = internals.trustedSet.snapshot;
  if (!snapshot) throw new KeyshareError(FetchCodes.METADATA_INVALID, 'no verified snapshot after the refresh');
  const targets = new Set<string>();
  const visited = new Set<string>();
  const visit = async (role: string, parent: string, depth: number): Promise<void> => {
    if (visited.has(role)) return;
    if (depth > 8 || visited.size >= MIRROR_MAX_ROLES) throw new KeyshareError(FetchCodes.METADATA_INVALID, 'the delegations are nested too deeply or are too many');
    visited.add(role);
    const md = await internals.loadTargets(role, parent);
    if (!md) return;
    for (const t of Object.values(md.signed.targets ?? {})) targets.add(t.path);
    if (targets.size > MIRROR_MAX_TARGETS) throw new KeyshareError(FetchCodes.TOO_LARGE, `the repository has more than ${MIRROR_MAX_TARGETS} targets`);
    const d = md.signed.delegations;
    if (!d) return;
    for (const child of Object.keys(d.roles ?? {})) await visit(child, role, depth + 1);
    for (const child of d.succinctRoles?.getRoles() ?? []) await visit(child, role, depth + 1);
  };
  await visit('targets', 'root', 0);
  const read = (role: string): Buffer => {
    const bytes = metadata(role);
    if (!bytes) throw new KeyshareError(FetchCodes.METADATA_INVALID, `no verified ${role}.json after the refresh`);
    return bytes;
  };
  const files: RepositoryFile[] = [
    { path: 'timestamp.json', bytes: read('timestamp') },
    { path: `${snapshot.signed.version}.snapshot.json`, bytes: read('snapshot') },
  ];
  for (const [file, meta] of Object.entries(snapshot.signed.meta)) {
    const role = file.replace(/\.json$/, '');
    // Only roles reached through the delegations were verified; another listed role is not served.
    if (visited.has(role)) files.push({ path: `${meta.version}.${role}.json`, bytes: read(role) });
  }
  for (const path of [...targets].sort()) {
    const info = await updater.getTargetInfo(path);
    // A path listed by a role not trusted for it (TUF 5.6.7) is not this repository's target.
    if (!info?.hashes.sha256) continue;
    const bytes = await readTarget(updater, path, dirs);
    const slash = path.lastIndexOf('/');
    files.push({ path: `targets/${path.slice(0, slash + 1)}${info.hashes.sha256}.${path.slice(slash + 1)}`, bytes });
  }
  return files;
}
