/**
 * `/log/proof` (issue 17, bench B5): the newest signed checkpoint, the log's last entry and that
 * entry's inclusion proof in the checkpoint's tree, in one short-lived answer, so that a client
 * checks a new timestamp with one request instead of the checkpoint, an entry bundle and the
 * tiles of the proof. Nothing in it is trusted: the client opens the checkpoint with the log key
 * it pinned (or learns `key` on first contact, as from /log/key) and verifies the proof against
 * the signed root (sync/client/log-check.ts). It also carries the bytes of the timestamp.json
 * that entry logs: a client with an empty cache takes its timestamp from here, verified by tuf-js
 * as any download (sync/client/proof-fetcher.ts), so that the log costs a cold fetch no request
 * of its own. Asked with `?from=M` (M: the size of the checkpoint the client kept), it also
 * carries the RFC 6962 consistency proof from M to the checkpoint's size (issue 23, bench B12),
 * which the client otherwise computes from tiles, and leaves out `timestamp` (a client that kept
 * a checkpoint has just refreshed timestamp.json through TUF). Pure.
 *
 *   { "key": "<verifier key>", "checkpoint": "<signed note>", "index": N,
 *     "entry": "<base64 entry>", "inclusion": ["<base64 hash>", ...],
 *     "timestamp": "<base64 timestamp.json>",                  (only without ?from=)
 *     "from": M, "consistency": ["<base64 hash>", ...] }      (only with ?from=M)
 */
import { HASH_SIZE, type Hash } from './merkle.js';

export interface LogProof {
  key: string;
  checkpoint: string;
  index: number;
  entry: Uint8Array;
  inclusion: Hash[];
  /** timestamp.json as served, the one `entry` logs (absent when the service no longer stores it). */
  timestamp?: Uint8Array;
  /** With `?from=M`: the consistency proof from the tree of `from` entries to the checkpoint's (RFC 6962 2.1.2). */
  consistency?: { from: number; proof: Hash[] };
}

export class ProofFormatError extends Error {
  override name = 'ProofFormatError';
}

/** A tree of 2^63 entries needs 63 hashes. */
const MAX_PROOF_HASHES = 64;

export function formatLogProof(p: LogProof): string {
  return JSON.stringify({
    key: p.key,
    checkpoint: p.checkpoint,
    index: p.index,
    entry: Buffer.from(p.entry).toString('base64'),
    inclusion: p.inclusion.map((h) => Buffer.from(h).toString('base64')),
    ...(p.timestamp ? { timestamp: Buffer.from(p.timestamp).toString('base64') } : {}),
    ...(p.consistency ? { from: p.consistency.from, consistency: p.consistency.proof.map((h) => Buffer.from(h).toString('base64')) } : {}),
  });
}

export function parseLogProof(bytes: Uint8Array): LogProof {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new ProofFormatError(`not JSON: ${(e as Error).message}`);
  }
  const { key, checkpoint, index, entry, inclusion, timestamp, from, consistency } = json ?? {};
  if (typeof key !== 'string' || typeof checkpoint !== 'string' || typeof entry !== 'string') throw new ProofFormatError('key, checkpoint and entry are strings');
  if (timestamp !== undefined && typeof timestamp !== 'string') throw new ProofFormatError('timestamp is a string');
  if (!Number.isSafeInteger(index) || (index as number) < 0) throw new ProofFormatError('index is a whole number');
  const proof: LogProof = { key, checkpoint, index: index as number, entry: new Uint8Array(Buffer.from(entry, 'base64')), inclusion: hashList('inclusion', inclusion) };
  if (timestamp !== undefined) proof.timestamp = new Uint8Array(Buffer.from(timestamp, 'base64'));
  if (from !== undefined || consistency !== undefined) {
    if (!Number.isSafeInteger(from) || (from as number) < 1) throw new ProofFormatError('from is a positive whole number, given with consistency');
    proof.consistency = { from: from as number, proof: hashList('consistency', consistency) };
  }
  return proof;
}

function hashList(name: string, list: unknown): Hash[] {
  if (!Array.isArray(list) || list.length > MAX_PROOF_HASHES) throw new ProofFormatError(`${name} is a list of at most ${MAX_PROOF_HASHES} hashes`);
  return list.map((h) => {
    const b = typeof h === 'string' ? Buffer.from(h, 'base64') : null;
    if (!b || b.length !== HASH_SIZE || b.toString('base64') !== h) throw new ProofFormatError(`a ${name} hash is not 32 base64-encoded bytes`);
    return new Uint8Array(b);
  });
}
