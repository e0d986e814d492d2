import { and, gt, gte, desc } from 'drizzle-orm';
import * as t from '../schema.js';
import type { AuditHead, AuditRecord } from '../types.js';
import type { AuditRecords } from '../ports/audit.js';
import type { SqliteCore } from './core.js';

export class SqliteAudit implements AuditRecords {
  constructor(private readonly c: SqliteCore) {}

  // ---- audit (hash-chained; see service/audit/chain.ts) ----
  /** Inside the caller's transaction when there is one, else in its own; never shown to the observer (port.ts). */
  appendAudit(link: (head: AuditHead | null) => AuditRecord): Promise<AuditRecord> {
    return this.c.atomic(() => {
      const entry = link(this.#auditHeadSync() ?? this.#lastAuditRow());
      // A plain statement, built once (issue 25, B10); details is JSON text (schema.ts mode 'json'), encoded as drizzle would.
      this.c
        .prep('insertAudit', () =>
          this.c.sqlite.prepare(
            'INSERT INTO audit (seq, at, token_id, action, scope, target, outcome, before_digest, after_digest, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
          ),
        )
        .run(entry.seq, entry.at, entry.tokenId ?? null, entry.action, entry.scope ?? null, entry.target ?? null, entry.outcome, entry.before ?? null, entry.after ?? null, entry.details == null ? null : JSON.stringify(entry.details), entry.prevHash, entry.hash);
      this.c.setMetaSync('audit_head', JSON.stringify({ seq: entry.seq, hash: entry.hash }));
      return entry;
    });
  }
  /** The head recorded with the last append (null before the first). */
  auditHead(): Promise<AuditHead | null> {
    return this.c.call(() => this.#auditHeadSync());
  }
  #auditHeadSync(): AuditHead | null {
    const v = this.c.getMetaSync('audit_head');
    return v ? (JSON.parse(v) as AuditHead) : null;
  }
  #lastAuditRow(): AuditHead | null {
    const row = this.c.db.select({ seq: t.audit.seq, hash: t.audit.hash }).from(t.audit).orderBy(desc(t.audit.seq)).limit(1).get();
    return row ?? null;
  }
  /** Entries in seq order: after `afterSeq`, at or after `since` (ISO time), at most `limit`. */
  listAudit(q: { afterSeq?: number; since?: string; limit: number }): Promise<AuditRecord[]> {
    return this.c.call(() => {
      const where = and(q.afterSeq !== undefined ? gt(t.audit.seq, q.afterSeq) : undefined, q.since !== undefined ? gte(t.audit.at, q.since) : undefined);
      return this.c.db.select().from(t.audit).where(where).orderBy(t.audit.seq).limit(q.limit).all() as AuditRecord[];
    });
  }
}
