import { and, eq, gt, gte, lt, lte, sql } from 'drizzle-orm';
import * as t from './schema.js';
import type { TrustHistoryRecord, ClientRecord, ClientLimits } from '../types.js';
import type { RolloutRecords } from '../ports/rollout.js';
import { inFrames, type PgCore } from './core.js';

/** A history row as read: its target digest (../rows.ts publishRows) stays inside the store. */
const HISTORY_COLUMNS = { version: t.trustHistory.version, scope: t.trustHistory.scope, document: t.trustHistory.document, publishedAt: t.trustHistory.publishedAt };

export class PgRollout implements RolloutRecords {
  constructor(private readonly c: PgCore) {}

  static {
    inFrames(PgRollout);
  }

  // ---- issue 21: trust history and client reports ----
  async trustHistoryAt(version: number): Promise<TrustHistoryRecord[]> {
    const { rows } = await this.c.db.execute<{ version: string | number; scope: string; document: Buffer | null; publishedAt: string }>(
      sql`SELECT h.version, h.scope, h.document, h.published_at AS "publishedAt" FROM trust_history h
          WHERE h.version = (SELECT MAX(n.version) FROM trust_history n WHERE n.scope = h.scope AND n.version <= ${version})
          ORDER BY h.scope`,
    );
    return rows.map((r) => ({ ...r, version: Number(r.version) }));
  }
  async listTrustHistory(q: { after: number; upTo: number; limit: number; scope?: string }): Promise<TrustHistoryRecord[]> {
    return this.c.db
      .select(HISTORY_COLUMNS)
      .from(t.trustHistory)
      .where(and(gt(t.trustHistory.version, q.after), lte(t.trustHistory.version, q.upTo), q.scope === undefined ? undefined : eq(t.trustHistory.scope, q.scope)))
      .orderBy(t.trustHistory.version, t.trustHistory.scope)
      .limit(q.limit);
  }
  async putClientReport(rec: ClientRecord, limits: ClientLimits): Promise<boolean> {
    // A flood of new clients past the cap is refused by reads alone (checked again below, under the lock).
    if (!(await this.#clientRoom(rec.clientId, limits))) return false;
    return this.c.outer.transaction(async () => {
      // One reporter at a time, so that concurrent new clients cannot pass the cap together.
      await this.c.lock('clients');
      await this.c.db.delete(t.clients).where(lt(t.clients.reportedAt, limits.expireBefore));
      if (!(await this.#clientRoom(rec.clientId, limits))) return false;
      const { clientId, ...rest } = rec;
      await this.c.db.insert(t.clients).values(rec).onConflictDoUpdate({ target: t.clients.clientId, set: rest });
      return true;
    });
  }
  /** Whether `clientId` may report: a known client always, a new one while there is room (expired ones count as room). */
  async #clientRoom(clientId: string, limits: ClientLimits): Promise<boolean> {
    const [known] = await this.c.db.select({ id: t.clients.clientId }).from(t.clients).where(eq(t.clients.clientId, clientId));
    return Boolean(known) || (await this.c.db.$count(t.clients, gte(t.clients.reportedAt, limits.expireBefore))) < limits.cap;
  }
  async listClients(since: string): Promise<ClientRecord[]> {
    return this.c.db.select().from(t.clients).where(gte(t.clients.reportedAt, since)).orderBy(t.clients.clientId);
  }
}
