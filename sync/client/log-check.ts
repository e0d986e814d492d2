/**
 * The client's check of the transparency log (issue 23): a timestamp is accepted only when the
 * log's newest checkpoint, signed by the log key, (1) extends the checkpoint this client verified
 * last (RFC 6962 consistency proof) and (2) holds an entry for exactly this timestamp (inclusion
 * proof). Proofs are taken from /log/proof (the inclusion proof, and the consistency proof when
 * asked with ?from=), else computed from the served tiles (C2SP tlog-tiles), and verified
 * against the signed roots either way, so a lying server or mirror cannot make them pass.
 *
 * I/O goes through `get` (a path under `<server>/log/` → bytes, or null for 404); the caller
 * keeps the verified checkpoint (cache.ts) and passes it back as `previous`.
 */
import { sha256Hex } from '../../shared/hash.js';
import { KeyshareError } from '../../shared/errors.js';
import { FetchCodes } from './errors.js';
import { parseCheckpoint, type Checkpoint } from '../../shared/tlog/checkpoint.js';
import { parseEntry } from '../../shared/tlog/leaf.js';
import { consistencyProof, hashLeaf, inclusionProof, nodesNeeded, verifyConsistency, verifyInclusion, type NodeReader } from '../../shared/tlog/merkle.js';
import { openNote, type NoteVerifier } from '../../shared/tlog/note.js';
import type { LogProof } from '../../shared/tlog/proof.js';
import { decodeBundle, decodeTile, tileKey, tilePath, tileReader, tilesFor, tileWidth, TILE_WIDTH } from '../../shared/tlog/tiles.js';

export type LogGet = (path: string) => Promise<Uint8Array | null>;

export interface LogCheckInput {
  get: LogGet;
  key: NoteVerifier;
  /** timestamp.json as accepted by TUF. */
  timestamp: Uint8Array;
  /** The signed checkpoint this client verified last (null: none yet). */
  previous: string | null;
  /**
   * /log/proof as served (shared/tlog/proof.ts; issue 17): its checkpoint stands for
   * /log/checkpoint, its entry with its inclusion proof, when it is this timestamp's, and its
   * consistency proof, when it starts at `previous`'s size, for the entry bundles and tiles.
   * Verified exactly as they would be.
   */
  proof?: LogProof | null;
  /** The key that signed `previous`, when the log key was rotated since (absent: `key`). */
  previousKey?: NoteVerifier;
}

export interface LogCheckResult {
  /** The newly verified signed checkpoint, to keep. */
  checkpoint: string;
  size: number;
  /** The timestamp's entry index. */
  index: number;
}

/** How many entry bundles back from the end a timestamp's entry is looked for: the log grows by one entry per publish. */
const SEARCH_BUNDLES = 2;
/** A checkpoint is a few hundred bytes; with cosignatures a few kilobytes. */
export const MAX_CHECKPOINT_BYTES = 64 * 1024;

const fail = (code: typeof FetchCodes.NOT_LOGGED | typeof FetchCodes.LOG_INCONSISTENT, message: string) => new KeyshareError(code, message);

/** Opens a signed checkpoint with the log key; LOG_INCONSISTENT unless the log key signed it for its own origin. */
export function openCheckpoint(note: string, key: NoteVerifier): Checkpoint {
  let cp: Checkpoint;
  try {
    cp = parseCheckpoint(openNote(note, [key]).text);
  } catch (e) {
    throw fail(FetchCodes.LOG_INCONSISTENT, `the log checkpoint is not signed by the log key ${key.name}: ${(e as Error).message}`);
  }
  if (cp.origin !== key.name) throw fail(FetchCodes.LOG_INCONSISTENT, `the checkpoint is for the log ${cp.origin}, not ${key.name}`);
  return cp;
}

export async function checkLog(input: LogCheckInput): Promise<LogCheckResult> {
  const bytes = input.proof ? null : await input.get('checkpoint');
  if (!input.proof && !bytes) throw fail(FetchCodes.NOT_LOGGED, 'the server serves no transparency log checkpoint');
  const note = input.proof?.checkpoint ?? Buffer.from(bytes!).toString('utf8');
  const cp = openCheckpoint(note, input.key);
  const reader = tilesOf(input.get, cp.size);

  if (input.previous) {
    const prev = openCheckpoint(input.previous, input.previousKey ?? input.key);
    // STYLE.md: a version lower than one already seen is an attack (ROLLBACK of the log).
    if (cp.size < prev.size) throw fail(FetchCodes.LOG_INCONSISTENT, `the log went back from ${prev.size} to ${cp.size} entries (rollback)`);
    // Issue 23 (bench B12): the consistency proof /log/proof?from= gave for this very size, else from the tiles; verified alike.
    const given = input.proof?.consistency?.from === prev.size ? input.proof.consistency.proof : null;
    try {
      const proof = given ?? (await reader((read) => consistencyProof(prev.size, cp.size, read)));
      verifyConsistency(prev.size, cp.size, proof, prev.root, cp.root);
    } catch (e) {
      throw fail(FetchCodes.LOG_INCONSISTENT, `the log of ${cp.size} entries does not extend the one of ${prev.size} entries this client verified (a split view?): ${(e as Error).message}`);
    }
  }

  const { version, sha256 } = timestampOf(input.timestamp);
  const given = input.proof && input.proof.index < cp.size && entryVersion(input.proof.entry) === version ? input.proof : null;
  const found = given ? { index: given.index, data: given.entry } : await findEntry(input.get, cp.size, version);
  if (!found) throw fail(FetchCodes.NOT_LOGGED, `timestamp v${version} has no entry among the log's last ${SEARCH_BUNDLES * TILE_WIDTH} entries`);
  const entry = parseEntry(found.data);
  if (entry.timestamp.sha256 !== sha256) throw fail(FetchCodes.NOT_LOGGED, `the log's entry ${found.index} for timestamp v${version} is for other bytes (a split view?)`);
  try {
    const proof = given ? given.inclusion : await reader((read) => inclusionProof(found.index, cp.size, read));
    verifyInclusion(hashLeaf(found.data), found.index, cp.size, proof, cp.root);
  } catch (e) {
    throw fail(FetchCodes.NOT_LOGGED, `timestamp v${version}'s entry ${found.index} is not in the signed tree: ${(e as Error).message}`);
  }
  return { checkpoint: note, size: cp.size, index: found.index };
}

function timestampOf(bytes: Uint8Array): { version: number; sha256: string } {
  const version = (JSON.parse(Buffer.from(bytes).toString('utf8')) as { signed?: { version?: unknown } }).signed?.version;
  if (typeof version !== 'number') throw fail(FetchCodes.NOT_LOGGED, 'timestamp.json has no version');
  return { version, sha256: sha256Hex(bytes) };
}

function entryVersion(data: Uint8Array): number | null {
  try {
    return parseEntry(data).timestamp.version;
  } catch {
    return null;
  }
}

/** The entry of timestamp `version`, looked for from the end of the log backwards. */
async function findEntry(get: LogGet, size: number, version: number): Promise<{ index: number; data: Uint8Array } | null> {
  const last = Math.floor((size - 1) / TILE_WIDTH);
  for (let n = last; n >= 0 && n > last - SEARCH_BUNDLES; n--) {
    const width = tileWidth(size, 0, n);
    const bytes = await get(tilePath({ level: 'entries', index: n, width }));
    if (!bytes) throw fail(FetchCodes.NOT_LOGGED, `the log serves no entry bundle ${n}`);
    let entries: Uint8Array[];
    try {
      entries = decodeBundle(bytes, width);
    } catch (e) {
      throw fail(FetchCodes.NOT_LOGGED, `entry bundle ${n}: ${(e as Error).message}`);
    }
    for (let i = entries.length - 1; i >= 0; i--) {
      const data = entries[i]!;
      try {
        if (parseEntry(data).timestamp.version === version) return { index: n * TILE_WIDTH + i, data };
      } catch {
        // not a keyshare entry: the inclusion check of a matching one is what counts
      }
    }
  }
  return null;
}

/** Runs a proof computation over the tiles it needs (tree of `size`), fetched first. */
export function tilesOf(get: LogGet, size: number) {
  return async <T>(run: (read: NodeReader) => T): Promise<T> => {
    const tiles = new Map<string, Uint8Array[]>();
    for (const t of tilesFor(nodesNeeded(run), size)) {
      const bytes = await get(tilePath(t));
      if (!bytes) throw new Error(`the log serves no ${tilePath(t)}`);
      tiles.set(tileKey(t), decodeTile(bytes, t.width));
    }
    return run(tileReader(tiles));
  };
}
