import { and, eq } from 'drizzle-orm';
import * as t from './schema.js';
import type { UpstreamRecord, UpstreamSummary } from '../types.js';
import type { UpstreamRecords } from '../ports/upstreams.js';
import { changed, batches, inFrames, type PgCore } from './core.js';

export class PgUpstreams implements UpstreamRecords {
  constructor(private readonly c: PgCore) {}

  static {
    inFrames(PgUpstreams);
  }

  async upstreamSummaries(): Promise<UpstreamSummary[]> {
    const u = t.upstreams;
    return this.c.db
      .select({ name: u.name, url: u.url, mode: u.mode, scopes: u.scopes, timestampVersion: u.timestampVersion, lastSuccessAt: u.lastSuccessAt, lastError: u.lastError, createdAt: u.createdAt })
      .from(u)
      .orderBy(u.name);
  }

  // ---- upstreams and their files (mirror mode: served byte for byte under /mirrors/{name}/tuf/) ----
  async getUpstream(name: string): Promise<UpstreamRecord | null> {
    const [row] = await this.c.db.select().from(t.upstreams).where(eq(t.upstreams.name, name));
    return row ?? null;
  }
  /** Inserts or replaces an upstream row. */
  async putUpstream(rec: UpstreamRecord): Promise<void> {
    await this.c.db.insert(t.upstreams).values(rec).onConflictDoUpdate({ target: t.upstreams.name, set: rec });
  }
  /** Replaces every file of an upstream (paths relative to its repository, e.g. `1.root.json`). */
  async replaceUpstreamFiles(upstream: string, files: Iterable<{ path: string; bytes: Buffer }>): Promise<void> {
    await this.c.outer.transaction(async () => {
      // Two syncs of one upstream at once would insert the same paths: one at a time.
      await this.c.lock(`upstream:${upstream}`);
      await this.c.db.delete(t.upstreamFiles).where(eq(t.upstreamFiles.upstream, upstream));
      for (const batch of batches(files)) {
        await this.c.db.insert(t.upstreamFiles).values(batch.map((f) => ({ upstream, path: f.path, bytes: f.bytes })));
      }
    });
  }
  async getUpstreamFile(upstream: string, path: string): Promise<Buffer | null> {
    const [row] = await this.c.db
      .select({ bytes: t.upstreamFiles.bytes })
      .from(t.upstreamFiles)
      .where(and(eq(t.upstreamFiles.upstream, upstream), eq(t.upstreamFiles.path, path)));
    return row?.bytes ?? null;
  }
  /** Every file of an upstream, in path order. */
  async listUpstreamFiles(upstream: string): Promise<{ path: string; bytes: Buffer }[]> {
    const f = t.upstreamFiles;
    return this.c.db.select({ path: f.path, bytes: f.bytes }).from(f).where(eq(f.upstream, upstream)).orderBy(f.path);
  }
  async countUpstreamFiles(upstream: string): Promise<number> {
    return this.c.db.$count(t.upstreamFiles, eq(t.upstreamFiles.upstream, upstream));
  }
  /** Every upstream row, pinned roots and state included (service/federation/upstream). */
  async listUpstreams(): Promise<UpstreamRecord[]> {
    return this.c.db.select().from(t.upstreams).orderBy(t.upstreams.name);
  }
  /** Records the outcome of a sync without touching the rest of the row; false when the row is gone. */
  async updateUpstreamStatus(
    name: string,
    status: Partial<Pick<UpstreamRecord, 'state' | 'timestampVersion' | 'lastSuccessAt' | 'lastError' | 'root'>>,
  ): Promise<boolean> {
    if (Object.keys(status).length === 0) return (await this.getUpstream(name)) !== null;
    return changed(await this.c.db.update(t.upstreams).set(status).where(eq(t.upstreams.name, name)));
  }
  /** Removes an upstream row and its files; false when there was none. */
  async deleteUpstream(name: string): Promise<boolean> {
    return this.c.outer.transaction(async () => {
      await this.c.lock(`upstream:${name}`); // as replaceUpstreamFiles: no files land after the delete
      await this.c.db.delete(t.upstreamFiles).where(eq(t.upstreamFiles.upstream, name));
      return changed(await this.c.db.delete(t.upstreams).where(eq(t.upstreams.name, name)));
    });
  }
}
