import { and, eq, gt, gte, lt, lte } from 'drizzle-orm';
import * as t from '../schema.js';
import type { TrustHistoryRecord, ClientRecord, ClientLimits } from '../types.js';
import type { RolloutRecords } from '../ports/rollout.js';
import type { SqliteCore } from './core.js';

/** A history row as read: its target digest (../rows.ts publishRows) stays inside the store. */
const HISTORY_COLUMNS = { version: t.trustHistory.version, scope: t.trustHistory.scope, document: t.trustHistory.document, publishedAt: t.trustHistory.publishedAt };

export class SqliteRollout implements RolloutRecords {
  constructor(private readonly c: SqliteCore) {}

  // ---- issue 21: trust history and client reports ----
  trustHistoryAt(version: number): Promise<TrustHistoryRecord[]> {
    return this.c.call(
      () =>
        this.c.sqlite
          .prepare(
            `SELECT h.version, h.scope, h.document, h.published_at AS publishedAt FROM trust_history h
             WHERE h.version = (SELECT MAX(n.version) FROM trust_history n WHERE n.scope = h.scope AND n.version <= ?)
             ORDER BY h.scope`,
          )
          .all(version) as TrustHistoryRecord[],
    );
  }
  listTrustHistory(q: { after: number; upTo: number; limit: number; scope?: string }): Promise<TrustHistoryRecord[]> {
    return this.c.call(() =>
      this.c.db
        .select(HISTORY_COLUMNS)
        .from(t.trustHistory)
        .where(and(gt(t.trustHistory.version, q.after), lte(t.trustHistory.version, q.upTo), q.scope === undefined ? undefined : eq(t.trustHistory.scope, q.scope)))
        .orderBy(t.trustHistory.version, t.trustHistory.scope)
        .limit(q.limit)
        .all(),
    );
  }
  async putClientReport(rec: ClientRecord, limits: ClientLimits): Promise<boolean> {
    // A flood of new clients past the cap is refused by reads alone (checked again below, in the write).
    if (await this.c.call(() => !this.#clientRoomSync(rec.clientId, limits))) return false;
    return this.c.atomic(() => {
      this.c.db.delete(t.clients).where(lt(t.clients.reportedAt, limits.expireBefore)).run();
      if (!this.#clientRoomSync(rec.clientId, limits)) return false;
      const { clientId, ...rest } = rec;
      this.c.db.insert(t.clients).values(rec).onConflictDoUpdate({ target: t.clients.clientId, set: rest }).run();
      return true;
    });
  }
  /** Whether `clientId` may report: a known client always, a new one while there is room (expired ones count as room). */
  #clientRoomSync(clientId: string, limits: ClientLimits): boolean {
    const known = this.c.sqlite.prepare('SELECT 1 FROM clients WHERE client_id = ?').get(clientId);
    if (known) return true;
    const { n } = this.c.sqlite.prepare('SELECT COUNT(*) AS n FROM clients WHERE reported_at >= ?').get(limits.expireBefore) as { n: number };
    return n < limits.cap;
  }
  listClients(since: string): Promise<ClientRecord[]> {
    return this.c.call(() => this.c.db.select().from(t.clients).where(gte(t.clients.reportedAt, since)).orderBy(t.clients.clientId).all());
  }
}
