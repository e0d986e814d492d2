import { and, eq, sql } from 'drizzle-orm';
import * as t from '../schema.js';
import type { UpstreamRecord, UpstreamSummary } from '../types.js';
import type { UpstreamRecords } from '../ports/upstreams.js';
import type { SqliteCore } from './core.js';

export class SqliteUpstreams implements UpstreamRecords {
  constructor(private readonly c: SqliteCore) {}

  /** Every upstream's sync state, without its pinned root or files. */
  upstreamSummaries(): Promise<UpstreamSummary[]> {
    return this.c.call(() => {
      return this.c.db
        .select({
          name: t.upstreams.name,
          url: t.upstreams.url,
          mode: t.upstreams.mode,
          scopes: t.upstreams.scopes,
          timestampVersion: t.upstreams.timestampVersion,
          lastSuccessAt: t.upstreams.lastSuccessAt,
          lastError: t.upstreams.lastError,
          createdAt: t.upstreams.createdAt,
        })
        .from(t.upstreams)
        .orderBy(t.upstreams.name)
        .all();
    });
  }

  // ---- upstreams and their files (mirror mode: served byte for byte under /mirrors/{name}/tuf/) ----
  getUpstream(name: string): Promise<UpstreamRecord | null> {
    return this.c.call(() => this.#getUpstreamSync(name));
  }
  #getUpstreamSync(name: string): UpstreamRecord | null {
    return (this.c.db.select().from(t.upstreams).where(eq(t.upstreams.name, name)).get() as UpstreamRecord | undefined) ?? null;
  }
  /** Inserts or replaces an upstream row. */
  putUpstream(rec: UpstreamRecord): Promise<void> {
    return this.c.call(() => {
      this.c.db.insert(t.upstreams).values(rec).onConflictDoUpdate({ target: t.upstreams.name, set: rec }).run();
    });
  }
  /** Replaces every file of an upstream (paths relative to its repository, e.g. `1.root.json`). */
  replaceUpstreamFiles(upstream: string, files: Iterable<{ path: string; bytes: Buffer }>): Promise<void> {
    return this.c.write(() => {
      this.c.db.delete(t.upstreamFiles).where(eq(t.upstreamFiles.upstream, upstream)).run();
      for (const f of files) this.c.db.insert(t.upstreamFiles).values({ upstream, path: f.path, bytes: f.bytes }).run();
    });
  }
  getUpstreamFile(upstream: string, path: string): Promise<Buffer | null> {
    return this.c.call(() => this.c.db.select().from(t.upstreamFiles).where(and(eq(t.upstreamFiles.upstream, upstream), eq(t.upstreamFiles.path, path))).get()?.bytes ?? null);
  }
  listUpstreamFiles(upstream: string): Promise<{ path: string; bytes: Buffer }[]> {
    return this.c.call(() => this.c.db.select({ path: t.upstreamFiles.path, bytes: t.upstreamFiles.bytes }).from(t.upstreamFiles).where(eq(t.upstreamFiles.upstream, upstream)).orderBy(t.upstreamFiles.path).all());
  }
  countUpstreamFiles(upstream: string): Promise<number> {
    return this.c.call(() => this.c.db.select({ n: sql<number>`count(*)` }).from(t.upstreamFiles).where(eq(t.upstreamFiles.upstream, upstream)).get()?.n ?? 0);
  }
  /** Every upstream row, pinned roots and state included (service/federation/upstream). */
  listUpstreams(): Promise<UpstreamRecord[]> {
    return this.c.call(() => this.c.db.select().from(t.upstreams).orderBy(t.upstreams.name).all() as UpstreamRecord[]);
  }
  /** Records the outcome of a sync without touching the rest of the row; false when the row is gone. */
  updateUpstreamStatus(
    name: string,
    status: Partial<Pick<UpstreamRecord, 'state' | 'timestampVersion' | 'lastSuccessAt' | 'lastError' | 'root'>>,
  ): Promise<boolean> {
    return this.c.call(() => {
      if (Object.keys(status).length === 0) return this.#getUpstreamSync(name) !== null;
      return this.c.db.update(t.upstreams).set(status).where(eq(t.upstreams.name, name)).run().changes > 0;
    });
  }
  /** Removes an upstream row and its files; false when there was none. */
  deleteUpstream(name: string): Promise<boolean> {
    return this.c.write(() => {
      this.c.db.delete(t.upstreamFiles).where(eq(t.upstreamFiles.upstream, name)).run();
      return this.c.db.delete(t.upstreams).where(eq(t.upstreams.name, name)).run().changes > 0;
    });
  }
}
