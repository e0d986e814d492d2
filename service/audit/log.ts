/**
 * The audit log (issue 7, "Audit"): every change and every denied attempt, hash-chained.
 *
 * Where entries are written: a change's entry is appended inside the store transaction that
 * makes the change, so the change and its record land together or not at all, and the
 * before/after digests are read under the same lock (no other write can slip in between).
 * The admin operations are async (they parse certificates, then publish), so the route runs
 * them inside `run(actor, info, fn)`; the store shows its outermost write transaction to this
 * log (`Store.observeTransactions`), which records the first one made inside `run`. Later
 * transactions in the same call (the publish that follows) are not the change and are not
 * recorded. Token operations append inside their own transaction (`append`). Denied attempts change nothing and get an entry of their own.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { Codes, isKeyshareError } from '../errors.js';
import type { AuditHead, AuditRecord, Store, TransactionObserver } from '../store/index.js';
import { ChainVerifier, chainEntry, type AuditOutcome, type VerifyResult } from './chain.js';

export interface AuditInfo {
  action: string;
  scope?: string | null;
  target?: string | null;
  details?: Record<string, unknown> | null;
  /** The state the action touches, read before and after the change (see digest.ts). */
  digest?: () => Promise<string | null>;
}

export interface AuditAppend {
  actor: string | null;
  action: string;
  outcome: AuditOutcome;
  scope?: string | null;
  target?: string | null;
  before?: string | null;
  after?: string | null;
  details?: Record<string, unknown> | null;
}

interface Context extends AuditInfo {
  actor: string | null;
  /**
   * Whether a transaction records this operation: set at its `begin`, cleared if it rolls back.
   * Claimed at begin, not at commit, because with PostgreSQL two outermost transactions of one
   * operation can be open at once, and only one may record it.
   */
  claimed: boolean;
}

interface Pending {
  ctx: Context;
  before: string | null;
}

const PAGE = 1000;

export class AuditLog implements TransactionObserver {
  private readonly current = new AsyncLocalStorage<Context>();

  constructor(
    private readonly store: Store,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Starts observing the store's transactions. */
  attach(): this {
    this.store.observeTransactions(this);
    return this;
  }

  /**
   * Runs one admin operation on behalf of `actor`: its first write transaction is recorded as
   * `info.action` (outcome ok). If it fails without writing, a `failed` entry says why.
   */
  async run<T>(actor: string | null, info: AuditInfo, fn: () => Promise<T>): Promise<T> {
    const ctx: Context = { ...info, actor, claimed: false };
    // For an operation that writes outside Store.transaction: recorded right after it instead.
    const before = (await info.digest?.()) ?? null;
    try {
      const result = await this.current.run(ctx, fn);
      if (!ctx.claimed) {
        ctx.claimed = true;
        await this.append({ actor, action: info.action, outcome: 'ok', scope: info.scope, target: info.target, before, after: (await info.digest?.()) ?? null, details: info.details });
      }
      return result;
    } catch (e) {
      // Denials are recorded by the HTTP layer (middleware/audit.ts), once.
      const denied = isKeyshareError(e) && (e.code === Codes.FORBIDDEN || e.code === Codes.UNAUTHORIZED);
      if (!ctx.claimed && !denied) {
        await this.append({
          actor,
          action: info.action,
          outcome: 'failed',
          scope: info.scope,
          target: info.target,
          details: { ...info.details, code: isKeyshareError(e) ? e.code : Codes.INTERNAL },
        });
      }
      throw e;
    }
  }

  async begin(): Promise<Pending | null> {
    const ctx = this.current.getStore();
    if (!ctx || ctx.claimed) return null;
    ctx.claimed = true;
    return { ctx, before: (await ctx.digest?.()) ?? null };
  }

  async commit(pending: unknown): Promise<void> {
    const { ctx, before } = pending as Pending;
    await this.append({
      actor: ctx.actor,
      action: ctx.action,
      outcome: 'ok',
      scope: ctx.scope,
      target: ctx.target,
      before,
      after: (await ctx.digest?.()) ?? null,
      details: ctx.details,
    });
  }

  /** A rolled-back transaction recorded nothing: the operation's next transaction may. */
  end(pending: unknown, committed: boolean): void {
    if (!committed) (pending as Pending).ctx.claimed = false;
  }

  /** Appends one entry now (inside the caller's transaction if there is one). */
  append(e: AuditAppend): Promise<AuditRecord> {
    const at = this.clock().toISOString();
    return this.store.appendAudit((head) =>
      chainEntry(head, {
        at,
        tokenId: e.actor,
        action: e.action,
        scope: e.scope ?? null,
        target: e.target ?? null,
        outcome: e.outcome,
        before: e.before ?? null,
        after: e.after ?? null,
        details: e.details && Object.keys(e.details).length ? e.details : null,
      }),
    );
  }

  list(q: { since?: string; afterSeq?: number; limit?: number } = {}): Promise<AuditRecord[]> {
    return this.store.listAudit({ since: q.since, afterSeq: q.afterSeq, limit: Math.min(Math.max(q.limit ?? PAGE, 1), 10 * PAGE) });
  }

  /** The head recorded with the last entry (null before the first). */
  head(): Promise<AuditHead | null> {
    return this.store.auditHead();
  }

  /** Walks the whole chain; reports the first entry that was edited, deleted or cut off. */
  async verify(): Promise<VerifyResult> {
    const verifier = new ChainVerifier();
    let afterSeq = 0;
    for (;;) {
      const page = await this.store.listAudit({ afterSeq, limit: PAGE });
      for (const row of page) if (!verifier.push(row)) return verifier.finish(null);
      if (page.length < PAGE) break;
      afterSeq = page[page.length - 1]!.seq;
    }
    return verifier.finish(await this.store.auditHead());
  }
}
