/**
 * The audit hash chain (issue 7, "Audit"). Pure: no database, no clock.
 *
 *   hash(n) = sha256(hash(n-1) + canonicalJSON(entry n without its hashes))
 *
 * The entry includes its `seq`, and `hash(0)` is 64 zeros. Editing an entry changes its hash;
 * deleting one breaks the link of the next (its `prevHash` no longer matches) and leaves a
 * gap in `seq`. The store also keeps the head (last seq and hash), so that cutting entries off
 * the end is caught too. Someone who can rewrite the whole table can recompute the chain:
 * record the head (`audit verify --json`) somewhere else to catch that.
 */
import { sha256Hex } from '../../shared/hash.js';
import { canonicalize } from '@tufjs/canonical-json';

export const GENESIS_HASH = '0'.repeat(64);

export type AuditOutcome = 'ok' | 'denied' | 'failed';

/** The hashed content of one entry. */
export interface AuditFields {
  seq: number;
  at: string;
  tokenId: string | null;
  action: string;
  scope: string | null;
  target: string | null;
  outcome: AuditOutcome | string;
  before: string | null;
  after: string | null;
  details: Record<string, unknown> | null;
}

export interface AuditEntry extends AuditFields {
  prevHash: string;
  hash: string;
}

export interface ChainHead {
  seq: number;
  hash: string;
}

export function entryHash(prevHash: string, e: AuditFields): string {
  const content: AuditFields = {
    seq: e.seq,
    at: e.at,
    tokenId: e.tokenId,
    action: e.action,
    scope: e.scope,
    target: e.target,
    outcome: e.outcome,
    before: e.before,
    after: e.after,
    details: e.details,
  };
  return sha256Hex(prevHash + canonicalize(content as never));
}

/** Links a new entry to the chain. */
export function chainEntry(prev: ChainHead | null, fields: Omit<AuditFields, 'seq'>): AuditEntry {
  const prevHash = prev?.hash ?? GENESIS_HASH;
  const entry: AuditFields = { ...fields, seq: (prev?.seq ?? 0) + 1 };
  return { ...entry, prevHash, hash: entryHash(prevHash, entry) };
}

export interface VerifyResult {
  ok: boolean;
  /** Entries checked. */
  entries: number;
  /** The last entry's seq and hash (what to record elsewhere). */
  head: ChainHead | null;
  /** The first entry that is wrong or missing. */
  firstBadSeq?: number;
  problem?: string;
}

/** Checks entries in seq order, one at a time (so that a long log is read in pages). */
export class ChainVerifier {
  private prev: ChainHead | null = null;
  private count = 0;
  private failure: { seq: number; problem: string } | null = null;

  /** Returns false once a problem is found (no need to read further). */
  push(e: AuditEntry): boolean {
    if (this.failure) return false;
    const expectedSeq = (this.prev?.seq ?? 0) + 1;
    const expectedPrev = this.prev?.hash ?? GENESIS_HASH;
    if (e.seq !== expectedSeq) {
      this.failure = {
        seq: expectedSeq,
        problem:
          e.seq > expectedSeq
            ? `entr${e.seq - expectedSeq === 1 ? 'y' : 'ies'} ${expectedSeq}${e.seq - expectedSeq > 1 ? `..${e.seq - 1}` : ''} missing (deleted)`
            : `entry ${e.seq} is out of order`,
      };
      return false;
    }
    if (e.prevHash !== expectedPrev) {
      this.failure = { seq: e.seq, problem: `entry ${e.seq} does not link to entry ${e.seq - 1} (an entry before it was changed or replaced)` };
      return false;
    }
    if (entryHash(e.prevHash, e) !== e.hash) {
      this.failure = { seq: e.seq, problem: `entry ${e.seq} was edited (its hash does not match its content)` };
      return false;
    }
    this.prev = { seq: e.seq, hash: e.hash };
    this.count++;
    return true;
  }

  /** `recordedHead`: the head the store recorded with the last append (catches a cut-off tail). */
  finish(recordedHead: ChainHead | null): VerifyResult {
    const base = { entries: this.count, head: this.prev };
    if (this.failure) return { ok: false, ...base, firstBadSeq: this.failure.seq, problem: this.failure.problem };
    if (recordedHead && (recordedHead.seq !== (this.prev?.seq ?? 0) || recordedHead.hash !== (this.prev?.hash ?? GENESIS_HASH))) {
      const seq = (this.prev?.seq ?? 0) + 1;
      return recordedHead.seq > (this.prev?.seq ?? 0)
        ? { ok: false, ...base, firstBadSeq: seq, problem: `entries ${seq}..${recordedHead.seq} are missing (the log was cut short)` }
        : { ok: false, ...base, firstBadSeq: recordedHead.seq, problem: `the last entry does not match the recorded head (seq ${recordedHead.seq})` };
    }
    return { ok: true, ...base };
  }
}
