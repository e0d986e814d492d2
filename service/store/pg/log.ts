import { and, asc, eq, gte, lt, sql } from 'drizzle-orm';
import * as t from './schema.js';
import { KeyshareError, Codes } from '../../errors.js';
import type { LogAppend } from '../types.js';
import type { LogRecords } from '../ports/log.js';
import { batches, inFrames, type PgCore } from './core.js';

export class PgLog implements LogRecords {
  constructor(private readonly c: PgCore) {}

  static {
    inFrames(PgLog);
  }

  // ---- transparency log ----
  async logSize(): Promise<number> {
    const [row] = await this.c.db.select({ n: sql<string | null>`max(${t.logEntries.idx})` }).from(t.logEntries);
    return row?.n === null || row?.n === undefined ? 0 : Number(row.n) + 1;
  }
  async appendLogEntry(a: LogAppend): Promise<void> {
    await this.c.outer.transaction(async () => {
      // Under the publish lock: appends happen in publish order, one at a time.
      await this.c.lock('publish');
      const size = await this.logSize();
      if (a.index !== size) throw new KeyshareError(Codes.CONFLICT, `the log has ${size} entries: entry ${a.index} cannot be appended`);
      await this.c.db.insert(t.logEntries).values({ idx: a.index, data: a.data, timestampVersion: a.timestampVersion });
      for (const nodes of batches(a.nodes)) await this.c.db.insert(t.logNodes).values(nodes.map((n) => ({ level: n.level, idx: n.index, hash: Buffer.from(n.hash) })));
    });
  }
  async getLogNodes(ids: { level: number; index: number }[]): Promise<Map<string, Buffer>> {
    const out = new Map<string, Buffer>();
    const byLevel = new Map<number, number[]>();
    for (const id of ids) byLevel.set(id.level, [...(byLevel.get(id.level) ?? []), id.index]);
    for (const [level, indices] of byLevel) {
      const rows = await this.c.db.select().from(t.logNodes).where(and(eq(t.logNodes.level, level), sql`${t.logNodes.idx} = any(${sql.param(indices)}::bigint[])`));
      for (const r of rows) out.set(`${r.level}/${r.idx}`, r.hash);
    }
    return out;
  }
  async listLogEntries(from: number, to: number): Promise<Buffer[]> {
    const rows = await this.c.db.select({ data: t.logEntries.data }).from(t.logEntries).where(and(gte(t.logEntries.idx, from), lt(t.logEntries.idx, to))).orderBy(asc(t.logEntries.idx));
    return rows.map((r) => r.data);
  }
  async findLogEntry(timestampVersion: number): Promise<number | null> {
    const [row] = await this.c.db.select({ idx: t.logEntries.idx }).from(t.logEntries).where(eq(t.logEntries.timestampVersion, timestampVersion));
    return row?.idx ?? null;
  }
}
