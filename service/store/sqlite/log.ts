import { and, eq, gte, lt, sql } from 'drizzle-orm';
import * as t from '../schema.js';
import { KeyshareError, Codes } from '../../errors.js';
import type { LogAppend } from '../types.js';
import type { LogRecords } from '../ports/log.js';
import { ph, type SqliteCore } from './core.js';

export class SqliteLog implements LogRecords {
  constructor(private readonly c: SqliteCore) {}

  // ---- transparency log ----
  logSize(): Promise<number> {
    return this.c.call(() => this.#logSizeSync());
  }
  #logSizeSync(): number {
    return (this.c.prep('logSize', () => this.c.db.select({ n: sql<number | null>`max(${t.logEntries.idx})` }).from(t.logEntries).prepare()).get()?.n ?? -1) + 1;
  }
  appendLogEntry(a: LogAppend): Promise<void> {
    return this.c.atomic(() => {
      const size = this.#logSizeSync();
      if (a.index !== size) throw new KeyshareError(Codes.CONFLICT, `the log has ${size} entries: entry ${a.index} cannot be appended`);
      // Plain statements, built once: each publish appends an entry and its nodes (issue 25, B10).
      const entry = this.c.prep('insertLogEntry', () => this.c.sqlite.prepare('INSERT INTO log_entries (idx, data, timestamp_version) VALUES (?, ?, ?)'));
      const node = this.c.prep('insertLogNode', () => this.c.sqlite.prepare('INSERT INTO log_nodes (level, idx, hash) VALUES (?, ?, ?)'));
      entry.run(a.index, a.data, a.timestampVersion);
      for (const n of a.nodes) node.run(n.level, n.index, Buffer.from(n.hash));
    });
  }
  getLogNodes(ids: { level: number; index: number }[]): Promise<Map<string, Buffer>> {
    return this.c.call(() => {
      const q = this.c.prep('getLogNode', () =>
        this.c.db.select({ hash: t.logNodes.hash }).from(t.logNodes).where(and(eq(t.logNodes.level, ph('level')), eq(t.logNodes.idx, ph('idx')))).prepare(),
      );
      const out = new Map<string, Buffer>();
      for (const id of ids) {
        const row = q.get({ level: id.level, idx: id.index });
        if (row) out.set(`${id.level}/${id.index}`, row.hash);
      }
      return out;
    });
  }
  listLogEntries(from: number, to: number): Promise<Buffer[]> {
    return this.c.call(() =>
      this.c.db
        .select({ data: t.logEntries.data })
        .from(t.logEntries)
        .where(and(gte(t.logEntries.idx, from), lt(t.logEntries.idx, to)))
        .orderBy(t.logEntries.idx)
        .all()
        .map((r) => r.data),
    );
  }
  findLogEntry(timestampVersion: number): Promise<number | null> {
    return this.c.call(() => this.c.db.select({ idx: t.logEntries.idx }).from(t.logEntries).where(eq(t.logEntries.timestampVersion, timestampVersion)).get()?.idx ?? null);
  }
}
