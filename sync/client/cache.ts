/**
 * The client's persistent cache: what tuf-js has verified (so that versions never go
 * backwards across runs, TUF 5.4.3 / 5.5.5) and the verified target files (so that unchanged
 * trust is not downloaded again).
 *
 *   <cache>/keyshare-cache.json   which pinned root filled it, when it was last fetched online
 *   <cache>/metadata/             tuf-js metadataDir: root.json, timestamp.json, snapshot.json, ...
 *   <cache>/targets/              tuf-js targetDir: verified target files
 *
 *   <cache>/lock                  held by the fetch using the cache (pid inside)
 *
 * The default cache is one folder per server under $XDG_CACHE_HOME/keyshare (~/.cache/keyshare).
 */
import { closeSync, openSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { KeyshareError } from '../../shared/errors.js';
import { makeDirs, removeFile } from '../../shared/fs.js';
import { FetchCodes } from './errors.js';
import { MAX_ROOT_BYTES } from '../../shared/fetch.js';

const STATE_FILE = 'keyshare-cache.json';

export interface CacheLayout {
  dir: string;
  metadataDir: string;
  targetsDir: string;
  statePath: string;
}

export interface CacheState {
  /** sha256 of the pinned root that seeded this cache: a different pin starts afresh. */
  pinnedRootSha256: string;
  server: string;
  /** The last successful online fetch (ISO), null before the first. */
  fetchedAt: string | null;
  timestampVersion: number | null;
  /**
   * Issue 25: the sha256 of each role's file as the last full refresh trusted it (root,
   * timestamp, snapshot, targets, the delegated roles it used), for the warm path that does not
   * run tuf-js (unchanged.ts). Absent: that path is not taken.
   */
  verified?: Record<string, string>;
}

export function cacheLayout(dir: string): CacheLayout {
  return { dir, metadataDir: join(dir, 'metadata'), targetsDir: join(dir, 'targets'), statePath: join(dir, STATE_FILE) };
}

/** XDG Base Directory spec: $XDG_CACHE_HOME if absolute, else ~/.cache; then keyshare/<server>. */
export function defaultCacheDir(server: string, env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CACHE_HOME;
  const base = xdg && isAbsolute(xdg) ? xdg : join(homedir(), '.cache');
  return join(base, 'keyshare', serverFolder(server));
}

/** `https://keyshare.acme.io:8443/x` → `https_keyshare.acme.io_8443_x`: one folder per server. */
export function serverFolder(server: string): string {
  const u = new URL(server);
  const path = u.pathname.replace(/\/+$/, '');
  return `${u.protocol.replace(/:$/, '')}_${u.host}${path}`.replace(/[^a-zA-Z0-9.-]/g, '_');
}


/**
 * The pinned root's bytes (a path, or the bytes themselves), size-capped; not yet checked
 * (cache-root.ts readPinnedRoot checks them).
 */
export function readRootFile(root: string | Uint8Array): Buffer {
  if (typeof root !== 'string') {
    if (root.length > MAX_ROOT_BYTES) throw new KeyshareError(FetchCodes.ROOT_INVALID, `the pinned root is larger than ${MAX_ROOT_BYTES} bytes; ${PIN_ADVICE}`);
    return Buffer.from(root);
  }
  try {
    if (statSync(root).size > MAX_ROOT_BYTES) throw new Error(`larger than ${MAX_ROOT_BYTES} bytes`);
    return readFileSync(root);
  } catch (e) {
    throw new KeyshareError(FetchCodes.ROOT_INVALID, `cannot read the pinned root ${root}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}; ${PIN_ADVICE}`);
  }
}

/** What to pin instead (issue 15: every error says what to do). */
export const PIN_ADVICE = 'pin the root.json that `keyshare serve` (or `keyshare init`) printed, from the service\'s data dir, copied out of band';

/**
 * The largest state file read. It holds one sha256 per role verified (CacheState.verified, about
 * 83 B each): 1,029 roles at 100,000 scopes (85 KB) made a 64 KiB cap throw the whole cache away
 * at every fetch of every scope (bench B5, issue 17, ninth round). 2^16 bins fit.
 */
const MAX_STATE_BYTES = 8 * 1024 * 1024;

export function readState(layout: CacheLayout): CacheState | null {
  try {
    if (statSync(layout.statePath).size > MAX_STATE_BYTES) return null;
    const s = JSON.parse(readFileSync(layout.statePath, 'utf8')) as CacheState;
    return typeof s.pinnedRootSha256 === 'string' ? s : null;
  } catch {
    return null;
  }
}

export function writeState(layout: CacheLayout, state: CacheState): void {
  const tmp = `${layout.statePath}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
  renameSync(tmp, layout.statePath);
}

const LOCK_WAIT_MS = 60_000;

function holderAlive(lockFile: string): boolean {
  try {
    const pid = Number(readFileSync(lockFile, 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0) return false;
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Runs `fn` while holding the cache's lock file, so that two fetches sharing a cache (parallel
 * CI jobs) never read files the other is writing, nor reset the cache under it. A lock whose
 * process is gone is taken over.
 */
export async function withCacheLock<T>(layout: CacheLayout, fn: () => Promise<T>, options: { readOnly?: boolean } = {}): Promise<T> {
  if (!options.readOnly) makeDirs(layout.dir, 0o700);
  const lockFile = join(layout.dir, 'lock');
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      const fd = openSync(lockFile, 'wx', 0o600);
      writeFileSync(fd, `${process.pid}\n`);
      closeSync(fd);
      break;
    } catch (e) {
      // Issue 24 row 12: --offline only reads the cache, so a read-only one is read without the lock.
      if (options.readOnly && ['EROFS', 'EACCES', 'EPERM'].includes((e as NodeJS.ErrnoException).code ?? '')) return fn();
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (!holderAlive(lockFile)) {
        removeFile(lockFile);
        continue;
      }
      if (Date.now() > deadline) {
        throw new KeyshareError(FetchCodes.CACHE_BUSY, `the cache ${layout.dir} is held by another fetch (${lockFile}) for more than ${LOCK_WAIT_MS / 1000} s`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    return await fn();
  } finally {
    removeFile(lockFile);
  }
}
