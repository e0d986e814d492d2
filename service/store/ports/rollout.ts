/**
 * Issue 21: trust history (recorded by commitPublish) and the reports clients make of what they
 * fetched. One concern of the store port (../port.ts, whose transaction rules every method
 * follows).
 */
import type { ClientLimits, ClientRecord, TrustHistoryRecord } from '../types.js';

export interface RolloutRecords {
  trustHistoryAt(version: number): Promise<TrustHistoryRecord[]>;
  /** History entries with `after` < version <= `upTo` (of one scope, if given), in (version, scope) order, at most `limit`. */
  listTrustHistory(q: { after: number; upTo: number; limit: number; scope?: string }): Promise<TrustHistoryRecord[]>;
  /**
   * Stores a client's report in place of its previous one, after dropping every report older
   * than `expireBefore`; false (nothing stored) when a new client would pass `cap`.
   */
  putClientReport(rec: ClientRecord, limits: ClientLimits): Promise<boolean>;
  /** The reports made at or after `since`, by client ID. */
  listClients(since: string): Promise<ClientRecord[]>;
}
