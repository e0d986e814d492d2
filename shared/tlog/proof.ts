/**
 * `/log/proof` (issue 17, bench B5): the newest signed checkpoint, the log's last entry and that
 * entry's inclusion proof in the checkpoint's tree, in one short-lived answer, so that a client
 * checks a new timestamp with one request instead of the checkpoint, an entry bundle and the
 * tiles of the proof. Nothing in it is trusted: the client opens the checkpoint with the log key
 * it pinned (or learns `key` on first contact, as from /log/key) and verifies the proof against
 * the signed root (sync/client/log-check.ts). It also carries the bytes of the timestamp.json
 * that entry logs: a client with an empty cache takes its timestamp from here, verified by tuf-js
 * as any download (sync/client/proof-fetcher.ts), so that the log costs a cold fetch no request
 * of its own. Pure.
 *
 *   { "key": "<verifier key>", "checkpoint": "<signed note>", "index": N,
 *     "entry": "<base64 entry>", "inclusion": ["<base64 hash>", ...],
 *     "timestamp": "<base64 timestamp.json>" }
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
  });
}

export function parseLogProof(bytes: Uint8Array): LogProof {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new ProofFormatError(`not JSON: ${(e as Error).message}`);
  }
  const { key, checkpoint, index, entry, inclusion, timestamp } = json ?? {};
  if (typeof key !== 'string' || typeof checkpoint !== 'string' || typeof entry !== 'string') throw new ProofFormatError('key, checkpoint and entry are strings');
  if (timestamp !== undefined && typeof timestamp !== 'string') throw new ProofFormatError('timestamp is a string');
  if (!Number.isSafeInteger(index) || (index as number) < 0) throw new ProofFormatError('index is a whole number');
  if (!Array.isArray(inclusion) || inclusion.length > MAX_PROOF_HASHES) throw new ProofFormatError(`inclusion is a list of at most ${MAX_PROOF_HASHES} hashes`);
  const hashes = inclusion.map((h) => {
    const b = typeof h === 'string' ? Buffer.from(h, 'base64') : null;
    if (!b || b.length !== HASH_SIZE || b.toString('base64') !== h) throw new ProofFormatError('an inclusion hash is not 32 base64-encoded bytes');
    return new Uint8Array(b);
  });
  const proof: LogProof = { key, checkpoint, index: index as number, entry: new Uint8Array(Buffer.from(entry, 'base64')), inclusion: hashes };
  if (timestamp !== undefined) proof.timestamp = new Uint8Array(Buffer.from(timestamp, 'base64'));
  return proof;
}
