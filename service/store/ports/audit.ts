/**
 * The hash-chained audit log (service/audit/chain.ts). One concern of the store port (../port.ts,
 * whose transaction rules every method follows).
 */
import type { AuditHead, AuditRecord } from '../types.js';

export interface AuditRecords {
  /**
   * Appends one entry: `link` gets the current head and returns the linked entry. Runs inside
   * the caller's transaction when there is one (the change and its entry land together), else in
   * one of its own; never shown to the observer.
   */
  appendAudit(link: (head: AuditHead | null) => AuditRecord): Promise<AuditRecord>;
  /** The head recorded with the last append (null before the first). */
  auditHead(): Promise<AuditHead | null>;
  /** Entries in seq order: after `afterSeq`, at or after `since` (ISO time), at most `limit`. */
  listAudit(q: { afterSeq?: number; since?: string; limit: number }): Promise<AuditRecord[]>;
}
