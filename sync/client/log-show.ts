/**
 * `keyshare log show VERSION` (issue 23): the log entry of one timestamp version, with its
 * inclusion proof verified against the log's signed checkpoint, and the entry compared with the
 * TUF files the server still serves. The entry before it names the version it follows, so that
 * `keyshare diff --from <previous> --to VERSION` tells what the entry's version changed.
 */
import { sha256Hex } from '../../shared/hash.js';
import { KeyshareError } from '../../shared/errors.js';
import { parseEntry, type LogEntry } from '../../shared/tlog/leaf.js';
import { hashLeaf, inclusionProof, verifyInclusion } from '../../shared/tlog/merkle.js';
import type { NoteVerifier } from '../../shared/tlog/note.js';
import { decodeBundle, tilePath, tileWidth, TILE_WIDTH } from '../../shared/tlog/tiles.js';
import { FetchCodes } from './errors.js';
import { openCheckpoint, tilesOf, type LogGet } from './log-check.js';

export interface LogShowReport {
  origin: string;
  /** The checkpoint the proof is verified against. */
  size: number;
  root: string;
  index: number;
  entry: LogEntry;
  /** The base64 hashes of the verified inclusion proof (RFC 6962 2.1.1). */
  proof: string[];
  /** The timestamp version of the entry before (null: the first entry). */
  previousVersion: number | null;
  /** The entry against the files served: 'match', 'differs', or 'not served' (pruned since). */
  served: { snapshot: ServedState; timestamp: ServedState };
}

type ServedState = 'match' | 'differs' | 'not served';

export async function showLogEntry(input: { get: LogGet; tuf: LogGet; key: NoteVerifier; version: number }): Promise<LogShowReport> {
  const note = await input.get('checkpoint');
  if (!note) throw new KeyshareError(FetchCodes.NOT_LOGGED, 'the server serves no transparency log checkpoint');
  const cp = openCheckpoint(Buffer.from(note).toString('utf8'), input.key);
  const found = await findVersion(input.get, cp.size, input.version);
  if (!found) throw new KeyshareError(FetchCodes.NOT_LOGGED, `timestamp v${input.version} has no entry in the log of ${cp.size} entries`);
  const proof = await tilesOf(input.get, cp.size)((read) => inclusionProof(found.index, cp.size, read));
  try {
    verifyInclusion(hashLeaf(found.data), found.index, cp.size, proof, cp.root);
  } catch (e) {
    throw new KeyshareError(FetchCodes.LOG_INCONSISTENT, `entry ${found.index} is not in the signed tree of ${cp.size} entries: ${(e as Error).message}`);
  }
  const entry = parseEntry(found.data);
  const servedAs = async (file: string, digest: string): Promise<ServedState> => {
    const bytes = await input.tuf(file);
    return !bytes ? 'not served' : sha256Hex(bytes) === digest ? 'match' : 'differs';
  };
  return {
    origin: cp.origin,
    size: cp.size,
    root: Buffer.from(cp.root).toString('base64'),
    index: found.index,
    entry,
    proof: proof.map((h) => Buffer.from(h).toString('base64')),
    previousVersion: found.previous,
    served: {
      snapshot: await servedAs(`${entry.snapshot.version}.snapshot.json`, entry.snapshot.sha256),
      timestamp: await servedAs(`${entry.timestamp.version}.timestamp.json`, entry.timestamp.sha256),
    },
  };
}

/**
 * The entry of timestamp `version`: entries are in increasing version order (log verify checks
 * that), so a binary search over the entry bundles reads about log2(size / 256) of them.
 */
async function findVersion(get: LogGet, size: number, version: number): Promise<{ index: number; data: Uint8Array; previous: number | null } | null> {
  const bundles = new Map<number, Uint8Array[]>();
  const bundle = async (n: number) => {
    let entries = bundles.get(n);
    if (!entries) {
      const width = tileWidth(size, 0, n);
      const bytes = await get(tilePath({ level: 'entries', index: n, width }));
      if (!bytes) throw new KeyshareError(FetchCodes.LOG_INCONSISTENT, `the log serves no entry bundle ${n}`);
      bundles.set(n, (entries = decodeBundle(bytes, width)));
    }
    return entries;
  };
  const versionAt = async (i: number) => parseEntry((await bundle(Math.floor(i / TILE_WIDTH)))[i % TILE_WIDTH]!).timestamp.version;
  let [lo, hi] = [0, size - 1];
  while (lo <= hi) {
    const mid = Math.floor((lo + hi) / 2);
    const v = await versionAt(mid);
    if (v === version) {
      const data = (await bundle(Math.floor(mid / TILE_WIDTH)))[mid % TILE_WIDTH]!;
      return { index: mid, data, previous: mid > 0 ? await versionAt(mid - 1) : null };
    }
    if (v < version) lo = mid + 1;
    else hi = mid - 1;
  }
  return null;
}
