/**
 * The roots of the client's cache, checked with @tufjs/models: the pinned root, and the cache
 * made ready for tuf-js's Updater from it (cache.ts has the layout, the state and the lock).
 * Apart from cache.ts so that a warm fetch with nothing changed (unchanged.ts) loads no TUF
 * library (issue 25).
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Metadata, MetadataKind, type Root } from '@tufjs/models';
import { sha256Hex as sha256 } from '../../shared/hash.js';
import { KeyshareError } from '../../shared/errors.js';
import { removeTree } from '../../shared/fs.js';
import { PIN_ADVICE, readRootFile, readState, writeState, type CacheLayout, type CacheState } from './cache.js';
import { FetchCodes } from './errors.js';
import { MAX_ROOT_BYTES } from '../../shared/fetch.js';

/**
 * Reads and checks the pinned root (a path or its bytes): a TUF root signed by a threshold of
 * its own keys (TUF 5.2). It may be expired: 5.3.10 checks the final root.
 */
export function readPinnedRoot(root: string | Uint8Array): Buffer {
  const bytes = readRootFile(root);
  try {
    parseRoot(bytes, 'the pinned root');
  } catch (e) {
    throw new KeyshareError(FetchCodes.ROOT_INVALID, `${(e as Error).message}; ${PIN_ADVICE}`, { cause: e });
  }
  return bytes;
}

function parseRoot(bytes: Buffer, what: string): Metadata<Root> {
  try {
    const md = Metadata.fromJSON(MetadataKind.Root, JSON.parse(bytes.toString('utf8')));
    md.verifyDelegate(MetadataKind.Root, md);
    return md;
  } catch (e) {
    throw new KeyshareError(FetchCodes.ROOT_INVALID, `${what} is not a TUF root signed by its own keys: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Makes the cache ready for an Updater pinned to `pinned` (never trust on first use):
 * - filled from this pin before, or its root.json is the pin itself: keep it (its root.json
 *   was reached from the pin through verified rotations, TUF 5.3);
 * - otherwise, online: start afresh from the pin; offline: NOT_CACHED.
 */
export function prepareCache(layout: CacheLayout, pinned: Buffer, server: string, offline: boolean): CacheState {
  const pin = sha256(pinned);
  const state = readState(layout);
  const cachedRoot = readCachedRoot(layout);
  if (cachedRoot && state?.pinnedRootSha256 === pin) return state;
  if (cachedRoot && state && cachedRoot.equals(pinned)) {
    const next = { ...state, pinnedRootSha256: pin };
    if (!offline) writeState(layout, next);
    return next;
  }
  if (offline) {
    throw new KeyshareError(
      FetchCodes.NOT_CACHED,
      `offline, and the cache ${layout.dir} holds no trust fetched with this root: run keyshare fetch online once first`,
    );
  }
  // removeTree, not rmSync: Node 20 loads its JavaScript rimraf for any rmSync (issue 25).
  removeTree(layout.metadataDir);
  removeTree(layout.targetsDir);
  removeTree(join(layout.dir, 'log')); // issue 23: the log followed with the old pin
  mkdirSync(layout.metadataDir, { recursive: true, mode: 0o700 });
  mkdirSync(layout.targetsDir, { recursive: true, mode: 0o700 });
  // TUF 5.2: the trusted root is the pinned one.
  writeFileSync(join(layout.metadataDir, 'root.json'), pinned, { mode: 0o600 });
  const fresh: CacheState = { pinnedRootSha256: pin, server, fetchedAt: null, timestampVersion: null };
  writeState(layout, fresh);
  return fresh;
}

/** The cached root.json if it is a well-formed, self-signed root; null otherwise. */
function readCachedRoot(layout: CacheLayout): Buffer | null {
  const file = join(layout.metadataDir, 'root.json');
  if (!existsSync(file) || !existsSync(layout.targetsDir)) return null;
  try {
    if (statSync(file).size > MAX_ROOT_BYTES) return null;
    const bytes = readFileSync(file);
    parseRoot(bytes, 'the cached root');
    return bytes;
  } catch {
    return null;
  }
}

