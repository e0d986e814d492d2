import { and, asc, desc, eq, lte, sql } from 'drizzle-orm';
import * as t from './schema.js';
import { KeyshareError, Codes } from '../../errors.js';
import { publishRows, TRUST_DOC_SCOPE_SQL } from '../rows.js';
import { scopeOfTrustPath } from '../../domain/trust-index.js';
import type { MetadataRecord, PublishCommit, PublishHook, TargetRecord, TrustDocRecord } from '../types.js';
import type { RepositoryRecords } from '../ports/repository.js';
import { anyOf, batches, inFrames, type PgCore } from './core.js';

/** Rows per statement of an unnest insert: a few MB of parameters each. */
const UNNEST_BATCH = 2_000;

/** One column of `rows`, as one array parameter (node-postgres encodes a Buffer element as bytea hex). */
const column = <R>(rows: readonly R[], of: (row: R) => unknown) => sql.param(rows.map(of));

export class PgRepository implements RepositoryRecords {
  constructor(private readonly c: PgCore) {}

  static {
    inFrames(PgRepository);
  }

  // ---- published trust documents ----
  async getTrustDocs(scopes: string[]): Promise<Map<string, TrustDocRecord>> {
    const rows = await this.c.db.select().from(t.trustDocs).where(anyOf(t.trustDocs.scope, scopes));
    return new Map(rows.map((r) => [r.scope, r]));
  }
  async listTrustDocs(): Promise<TrustDocRecord[]> {
    return this.c.db.select().from(t.trustDocs).where(eq(t.trustDocs.deleted, false)).orderBy(t.trustDocs.scope);
  }

  // ---- TUF repository ----
  async latestMetadata(role: string): Promise<MetadataRecord | null> {
    const [row] = await this.c.db.select().from(t.tufMetadata).where(eq(t.tufMetadata.role, role)).orderBy(desc(t.tufMetadata.version)).limit(1);
    return row ?? null;
  }
  /** The newest version of every role. */
  async latestMetadataAll(): Promise<MetadataRecord[]> {
    const m = t.tufMetadata;
    return this.c.db
      .selectDistinctOn([m.role], { role: m.role, version: m.version, bytes: m.bytes, expires: m.expires })
      .from(m)
      .orderBy(asc(m.role), desc(m.version));
  }
  async getMetadata(role: string, version: number): Promise<MetadataRecord | null> {
    const [row] = await this.c.db.select().from(t.tufMetadata).where(and(eq(t.tufMetadata.role, role), eq(t.tufMetadata.version, version)));
    return row ?? null;
  }
  async listMetadataVersions(role: string): Promise<MetadataRecord[]> {
    return this.c.db.select().from(t.tufMetadata).where(eq(t.tufMetadata.role, role)).orderBy(t.tufMetadata.version);
  }
  async getTarget(sha256: string, path: string): Promise<TargetRecord | null> {
    // A trust document is stored as its history row (publishRows), newest first; other files, and documents published before that, as targets.
    const scope = scopeOfTrustPath(path);
    const { rows } = await this.c.db.execute<{ bytes: Buffer }>(
      scope === null
        ? sql`SELECT bytes FROM tuf_targets WHERE sha256 = ${sha256} AND path = ${path}`
        : sql`(SELECT document AS bytes FROM trust_history WHERE scope = ${scope} AND sha256 = ${sha256} ORDER BY version DESC LIMIT 1)
              UNION ALL (SELECT bytes FROM tuf_targets WHERE sha256 = ${sha256} AND path = ${path}) LIMIT 1`,
    );
    return rows[0] ? { sha256, path, bytes: rows[0].bytes } : null;
  }
  /** Stores root metadata outside a publish (init and root rotation). */
  async putRoot(rec: MetadataRecord, publishedAt: string): Promise<void> {
    await this.c.db.insert(t.tufMetadata).values({ ...rec, publishedAt });
  }

  /**
   * One publish, atomically: new documents, targets and metadata land together, and the dirty
   * marks it consumed are cleared. Throws CONFLICT if another publish landed first.
   */
  async commitPublish(c: PublishCommit): Promise<void> {
    await this.c.outer.transaction(async () => {
      // Replicas may publish at once (issue 11): the lock orders them, and the timestamp is read
      // after it, so the second one on the same base sees the first one's version and gets
      // CONFLICT. (role, version) is the key besides: never two metadata with one version.
      await this.c.lock('publish');
      const current = (await this.latestMetadata('timestamp'))?.version ?? 0;
      if (current !== c.baseTimestampVersion) {
        throw new KeyshareError(Codes.CONFLICT, `timestamp moved from ${c.baseTimestampVersion} to ${current} during publish`);
      }
      // The N-row tables of a parent change get their columns as arrays, one statement per batch
      // (unnest): drizzle's multi-row VALUES built a parameter per cell (bench B9, ninth round).
      for (const docs of batches(c.docs, UNNEST_BATCH)) {
        await this.c.db.execute(sql`INSERT INTO trust_docs (scope, version, issued_at, digest, deleted)
          SELECT * FROM unnest(${column(docs, (d) => d.scope)}::text[], ${column(docs, (d) => d.version)}::bigint[], ${column(docs, (d) => d.issuedAt)}::text[],
                               ${column(docs, (d) => d.digest)}::text[], ${column(docs, (d) => d.deleted)}::boolean[])
          ON CONFLICT (scope) DO UPDATE SET version = excluded.version, issued_at = excluded.issued_at, digest = excluded.digest, deleted = excluded.deleted`);
      }
      const rows = publishRows(c);
      for (const targets of batches(rows.targets)) {
        await this.c.db
          .insert(t.tufTargets)
          .values(targets.map((tg) => ({ sha256: tg.sha256, path: tg.path, bytes: tg.bytes, publishedAt: c.publishedAt })))
          // A file published again (trusted_root.json may return to earlier bytes) is current again: pruneSuperseded goes by publishedAt.
          .onConflictDoUpdate({ target: [t.tufTargets.sha256, t.tufTargets.path], set: { publishedAt: sql`excluded.published_at` } });
      }
      for (const metadata of batches(c.metadata)) {
        await this.c.db.insert(t.tufMetadata).values(metadata.map((m) => ({ role: m.role, version: m.version, bytes: m.bytes, expires: m.expires, publishedAt: c.publishedAt })));
      }
      // Issue 21: the documents this publish changed, kept for diffs between any two versions; each is also its served target.
      for (const history of batches(rows.history, UNNEST_BATCH)) {
        await this.c.db.execute(sql`INSERT INTO trust_history (version, scope, sha256, document, published_at)
          SELECT * FROM unnest(${column(history, (h) => h.version)}::bigint[], ${column(history, (h) => h.scope)}::text[], ${column(history, (h) => h.sha256)}::text[],
                               ${column(history, (h) => h.document)}::bytea[], ${column(history, (h) => h.publishedAt)}::text[])`);
      }
      // A mark a writer re-makes meanwhile survives: the DELETE waits for its row lock and then re-checks seq.
      const keep = c.keepDirty ?? [];
      const consumed = lte(t.dirty.seq, c.upToSeq);
      await this.c.db.delete(t.dirty).where(keep.length ? and(consumed, sql`not ${anyOf(t.dirty.scope, keep)}`) : consumed);
      // Issue 23: the transparency log appends inside the same transaction (port.ts onPublishCommit).
      if (this.#publishHook) await this.#publishHook(c);
    });
  }

  #publishHook: PublishHook | null = null;
  onPublishCommit(hook: PublishHook | null): void {
    this.#publishHook = hook;
  }

  /**
   * Garbage-collects what no client can still need: a non-root metadata version, or a target
   * file, whose successor was published before `before` (the grace period lets a client that
   * read the previous timestamp finish its update). Root versions are kept forever, and so are
   * the trust documents stored as history rows (publishRows); a document stored as a target
   * (published before them) goes once a history row of its scope superseded it. No lock: it
   * only deletes, and a concurrent prune waits for the same rows and then skips them.
   */
  async pruneSuperseded(before: string): Promise<{ metadata: number; targets: number }> {
    return this.c.outer.transaction(async () => {
      const metadata = await this.c.db.execute(
        sql`DELETE FROM tuf_metadata WHERE role <> 'root' AND EXISTS (
              SELECT 1 FROM tuf_metadata n WHERE n.role = tuf_metadata.role AND n.version > tuf_metadata.version AND n.published_at < ${before})`,
      );
      const targets = await this.c.db.execute(
        sql`DELETE FROM tuf_targets WHERE EXISTS (
              SELECT 1 FROM tuf_targets n WHERE n.path = tuf_targets.path AND n.published_at > tuf_targets.published_at AND n.published_at < ${before})
            OR (path LIKE 'trust/%' AND EXISTS (
              SELECT 1 FROM trust_history n WHERE n.scope = ${sql.raw(TRUST_DOC_SCOPE_SQL('tuf_targets.path'))} AND n.published_at > tuf_targets.published_at AND n.published_at < ${before}))`,
      );
      return { metadata: metadata.rowCount ?? 0, targets: targets.rowCount ?? 0 };
    });
  }
}
