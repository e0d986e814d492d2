import { and, desc, gt, gte } from 'drizzle-orm';
import * as t from './schema.js';
import type { AuditHead, AuditRecord } from '../types.js';
import type { AuditRecords } from '../ports/audit.js';
import { inFrames, type PgCore } from './core.js';

export class PgAudit implements AuditRecords {
  constructor(private readonly c: PgCore) {}

  static {
    inFrames(PgAudit);
  }

  // ---- audit (hash-chained; see service/audit/chain.ts) ----
  /**
   * Appends one entry: `link` gets the current head and returns the linked entry. Runs inside
   * the caller's transaction when there is one (the change and its entry land together), and
   * never shows itself to the observer.
   */
  async appendAudit(link: (head: AuditHead | null) => AuditRecord): Promise<AuditRecord> {
    return this.c.run(async () => {
      // Replicas append at once: the lock makes read-head-then-insert one step, so the chain never forks.
      await this.c.lock('audit');
      const entry = link((await this.auditHead()) ?? (await this.#lastAuditRow()));
      await this.c.db.insert(t.audit).values(entry);
      await this.c.setMeta('audit_head', JSON.stringify({ seq: entry.seq, hash: entry.hash }));
      return entry;
    }, false);
  }
  /** The head recorded with the last append (null before the first). */
  async auditHead(): Promise<AuditHead | null> {
    const v = await this.c.getMeta('audit_head');
    return v ? (JSON.parse(v) as AuditHead) : null;
  }
  async #lastAuditRow(): Promise<AuditHead | null> {
    const [row] = await this.c.db.select({ seq: t.audit.seq, hash: t.audit.hash }).from(t.audit).orderBy(desc(t.audit.seq)).limit(1);
    return row ?? null;
  }
  /** Entries in seq order: after `afterSeq`, at or after `since` (ISO time), at most `limit`. */
  async listAudit(q: { afterSeq?: number; since?: string; limit: number }): Promise<AuditRecord[]> {
    const where = and(q.afterSeq !== undefined ? gt(t.audit.seq, q.afterSeq) : undefined, q.since !== undefined ? gte(t.audit.at, q.since) : undefined);
    return this.c.db.select().from(t.audit).where(where).orderBy(t.audit.seq).limit(q.limit);
  }
}
