/**
 * The transparency log in offline bundles (issue 23, "bundles carry the checkpoint and proofs,
 * so that an air-gapped site checks them offline"). bundle.json's `log` section:
 *
 *   key          the log's verifier key (`name+hash+key`, signed-note)
 *   checkpoint   the log's signed checkpoint right after the export's commit, with the
 *                cosignatures of its witnesses (as /log/checkpoint serves it)
 *   entry        the entry of the bundle's timestamp version: its index and bytes (base64)
 *   inclusion    RFC 6962 inclusion proof of that entry in the checkpoint's tree
 *   consistency  RFC 6962 consistency proofs to the checkpoint from the tree sizes of the
 *                checkpoints of this repository's earlier bundles (an importer holds one of them)
 *
 * bundle.json is not signed: each piece is checked against what is (the log key's signature on
 * the checkpoint, the TUF-verified timestamp bytes), so a forged section only fails.
 *
 * The log key is the one the bundle's verified top-level targets state (index.json's `custom`,
 * signed through the root chain); from an origin that states none, the key of its first logged
 * bundle (trust on first use). A stated key other than the pinned one is a rotation: the kept
 * checkpoint is then checked with the key that signed it.
 *
 * The importer pins the log key and keeps the newest checkpoint it accepted, per origin, in the
 * upstream row's state. A bundle is refused with NOT_LOGGED when its timestamp is not in the
 * signed tree (or it has no log after the origin showed one), and with LOG_INCONSISTENT when its
 * checkpoint is not signed by the pinned key or does not extend the kept one.
 */
import { KeyshareError, Codes } from '../../errors.js';
import type { TransparencyLog } from '../../tlog/log.js';
import { servedCheckpoint } from '../../tlog/witnesses.js';
import { logOrigin } from '../../tlog/key.js';
import { parseCheckpoint } from '../../../shared/tlog/checkpoint.js';
import { parseEntry } from '../../../shared/tlog/leaf.js';
import { HASH_SIZE, hashLeaf, verifyConsistency, verifyInclusion, type Hash } from '../../../shared/tlog/merkle.js';
import { parseVerifierKey } from '../../../shared/tlog/note.js';
import type { Store } from '../../store/index.js';
import { FetchCodes } from '../../../shared/fetch.js';
import type { FederationClient } from '../ports.js';

export interface BundleLog {
  key: string;
  checkpoint: string;
  entry: { index: number; data: string };
  inclusion: string[];
  consistency: { size: number; proof: string[] }[];
}

/** What an importer keeps of an origin's log (BundleState.log). */
export interface KeptLog {
  key: string;
  checkpoint: string;
}

/** Store meta key: the checkpoint tree sizes of the bundles this repository exported, newest last. */
const EXPORTED_SIZES_META = 'bundle_export_log_sizes';
/** Consistency proofs from at most this many earlier bundles (about 1 KB each at a million entries). */
const KEEP_SIZES = 64;
/** A proof in a tree of up to 2^53 entries has at most 2 × 53 hashes. */
const MAX_PROOF = 106;

const b64 = (h: Hash) => Buffer.from(h).toString('base64');
const fail = (code: typeof FetchCodes.NOT_LOGGED | typeof FetchCodes.LOG_INCONSISTENT, message: string) => new KeyshareError(code, message);

/** The log section of the bundle whose timestamp is `timestampVersion` (after the export's commit), and the record for the next export. */
export async function bundleLogSection(store: Store, log: TransparencyLog, timestampVersion: number): Promise<BundleLog> {
  // One read: the proofs are for the tree this very checkpoint signs, whatever lands after it;
  // with the cosignatures its witnesses made on it, as /log/checkpoint serves it.
  const checkpoint = await servedCheckpoint(log, store);
  const head = checkpoint ? parseCheckpoint(checkpoint.slice(0, checkpoint.indexOf('\n\n') + 1)) : null;
  const index = await store.findLogEntry(timestampVersion);
  if (!checkpoint || !head || index === null) throw new KeyshareError(Codes.INTERNAL, `timestamp v${timestampVersion} has no entry in the transparency log`);
  const [data] = await store.listLogEntries(index, index + 1);
  const earlier = JSON.parse((await store.getMeta(EXPORTED_SIZES_META)) ?? '[]') as number[];
  const consistency = [];
  for (const size of earlier.filter((s) => s > 0 && s <= head.size)) consistency.push({ size, proof: (await log.consistencyProof(size, head.size)).map(b64) });
  await store.setMeta(EXPORTED_SIZES_META, JSON.stringify([...earlier.filter((s) => s !== head.size), head.size].slice(-KEEP_SIZES)));
  return {
    key: log.verifierKey(),
    checkpoint,
    entry: { index, data: Buffer.from(data!).toString('base64') },
    inclusion: (await log.inclusionProof(index, head.size)).map(b64),
    consistency,
  };
}

function hashes(list: unknown, what: string): Hash[] {
  if (!Array.isArray(list) || list.length > MAX_PROOF) throw fail(FetchCodes.NOT_LOGGED, `bundle.json: log.${what} is not a proof`);
  return list.map((h) => {
    const bytes = typeof h === 'string' ? Buffer.from(h, 'base64') : Buffer.alloc(0);
    if (bytes.length !== HASH_SIZE || bytes.toString('base64') !== h) throw fail(FetchCodes.NOT_LOGGED, `bundle.json: log.${what} holds a hash that is not 32 base64 bytes`);
    return new Uint8Array(bytes);
  });
}

/**
 * Checks a bundle's log section offline: the timestamp (the bytes TUF verified) is an entry of
 * the signed tree, and that tree extends the one `kept` from this origin's last bundle. Returns
 * what to keep once the import lands; null for a bundle without log from an origin that never
 * showed one (bundles from before issue 23).
 */
export function checkBundleLog(client: Pick<FederationClient, 'openCheckpoint'>, section: unknown, timestamp: { version: number; sha256: string }, rootV1: Buffer, kept: KeptLog | null, stated?: string): KeptLog | null {
  if (section === undefined || section === null) {
    if (kept) throw fail(FetchCodes.NOT_LOGGED, `the bundle carries no transparency log, and this origin's earlier bundles did (log ${kept.key.split('+')[0]})`);
    return null;
  }
  const s = section as Partial<BundleLog>;
  if (typeof s.key !== 'string' || typeof s.checkpoint !== 'string' || s.checkpoint.length > 64 * 1024 || typeof s.entry !== 'object' || s.entry === null) {
    throw fail(FetchCodes.NOT_LOGGED, 'bundle.json: log must give key, checkpoint, entry, inclusion and consistency');
  }
  let key;
  try {
    key = parseVerifierKey(s.key);
  } catch (e) {
    throw fail(FetchCodes.LOG_INCONSISTENT, `bundle.json: log.key: ${(e as Error).message}`);
  }
  // The log's name is derived from the origin's root v1 (service/tlog/key.ts): a log key named for another repository is not this origin's.
  if (key.name !== logOrigin(rootV1)) throw fail(FetchCodes.LOG_INCONSISTENT, `the bundle's log ${key.name} is not the log of this origin (${logOrigin(rootV1)})`);
  if (stated !== undefined && stated !== key.vkey) throw fail(FetchCodes.LOG_INCONSISTENT, `the bundle's log key is not the one its signed targets state for the origin's log ${key.name}`);
  if (stated === undefined && kept && kept.key !== key.vkey) throw fail(FetchCodes.LOG_INCONSISTENT, `the bundle's log key differs from the one this site pinned for the origin's log ${key.name}`);
  const cp = client.openCheckpoint(s.checkpoint, key);

  const { index, data } = s.entry;
  const entryBytes = typeof data === 'string' ? Buffer.from(data, 'base64') : null;
  if (!Number.isSafeInteger(index) || !entryBytes) throw fail(FetchCodes.NOT_LOGGED, 'bundle.json: log.entry must give index and data');
  let entry;
  try {
    entry = parseEntry(entryBytes);
  } catch (e) {
    throw fail(FetchCodes.NOT_LOGGED, `bundle.json: log.entry: ${(e as Error).message}`);
  }
  if (entry.timestamp.version !== timestamp.version || entry.timestamp.sha256 !== timestamp.sha256) {
    throw fail(FetchCodes.NOT_LOGGED, `the log entry the bundle carries is for timestamp v${entry.timestamp.version}, not for the bundle's timestamp v${timestamp.version} as signed`);
  }
  try {
    verifyInclusion(hashLeaf(entryBytes), index, cp.size, hashes(s.inclusion, 'inclusion'), cp.root);
  } catch (e) {
    if (e instanceof KeyshareError) throw e;
    throw fail(FetchCodes.NOT_LOGGED, `the bundle's timestamp v${timestamp.version} is not in the log's signed tree of ${cp.size} entries: ${(e as Error).message}`);
  }

  if (kept) {
    const prev = client.openCheckpoint(kept.checkpoint, kept.key === key.vkey ? key : parseVerifierKey(kept.key));
    if (cp.size < prev.size) throw fail(FetchCodes.LOG_INCONSISTENT, `the bundle's log has ${cp.size} entries, fewer than the ${prev.size} this site verified before (rollback)`);
    const given = Array.isArray(s.consistency) ? s.consistency.find((c) => c?.size === prev.size) : undefined;
    if (cp.size > prev.size && !given) throw fail(FetchCodes.LOG_INCONSISTENT, `the bundle carries no consistency proof from the log of ${prev.size} entries this site verified last`);
    try {
      verifyConsistency(prev.size, cp.size, cp.size === prev.size ? [] : hashes(given!.proof, 'consistency'), prev.root, cp.root);
    } catch (e) {
      if (e instanceof KeyshareError) throw e;
      throw fail(FetchCodes.LOG_INCONSISTENT, `the bundle's log of ${cp.size} entries does not extend the one of ${prev.size} entries this site verified (a split view?): ${(e as Error).message}`);
    }
  }
  return { key: key.vkey, checkpoint: s.checkpoint };
}

