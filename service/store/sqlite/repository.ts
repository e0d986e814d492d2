import { and, eq, lte, notInArray, desc } from 'drizzle-orm';
import * as t from '../schema.js';
import { KeyshareError, Codes } from '../../errors.js';
import { publishRows, TRUST_DOC_SCOPE_SQL } from '../rows.js';
import { scopeOfTrustPath } from '../../domain/trust-index.js';
import type { MetadataRecord, PublishCommit, PublishHook, TargetRecord, TrustDocRecord } from '../types.js';
import type { RepositoryRecords } from '../ports/repository.js';
import { ph, type SqliteCore } from './core.js';

export class SqliteRepository implements RepositoryRecords {
  constructor(private readonly c: SqliteCore) {}

  // ---- published trust documents ----
  getTrustDocs(scopes: string[]): Promise<Map<string, TrustDocRecord>> {
    return this.c.call(() => {
      // One plain statement over a JSON list, without drizzle's row mapping: a parent change asks for every child's (bench B9).
      const rows = this.c
        .prep('trustDocsOf', () =>
          this.c.sqlite.prepare('SELECT scope, version, issued_at, digest, deleted FROM trust_docs WHERE scope IN (SELECT value FROM json_each(?))'),
        )
        .raw()
        .all(JSON.stringify(scopes)) as [string, number, string, string, number][];
      const out = new Map<string, TrustDocRecord>();
      for (const [scope, version, issuedAt, digest, deleted] of rows) out.set(scope, { scope, version, issuedAt, digest, deleted: deleted !== 0 });
      return out;
    });
  }
  listTrustDocs(): Promise<TrustDocRecord[]> {
    return this.c.call(() => this.c.db.select().from(t.trustDocs).where(eq(t.trustDocs.deleted, false)).orderBy(t.trustDocs.scope).all());
  }

  // ---- TUF repository ----
  latestMetadata(role: string): Promise<MetadataRecord | null> {
    return this.c.call(() => this.#latestMetadataSync(role));
  }
  #latestMetadataSync(role: string): MetadataRecord | null {
    // Built once: every write reads the timestamp's, before and in its publish (issue 25, B10).
    const q = this.c.prep('latestMetadata', () => this.c.db.select().from(t.tufMetadata).where(eq(t.tufMetadata.role, ph('role'))).orderBy(desc(t.tufMetadata.version)).limit(1).prepare());
    return q.get({ role }) ?? null;
  }
  /** The newest version of every role. */
  latestMetadataAll(): Promise<MetadataRecord[]> {
    return this.c.call(() => {
      return this.c.sqlite
        .prepare(
          `SELECT role, version, bytes, expires FROM tuf_metadata m
           WHERE version = (SELECT MAX(version) FROM tuf_metadata WHERE role = m.role)`,
        )
        .all() as MetadataRecord[];
    });
  }
  getMetadata(role: string, version: number): Promise<MetadataRecord | null> {
    return this.c.call(() => this.c.db.select().from(t.tufMetadata).where(and(eq(t.tufMetadata.role, role), eq(t.tufMetadata.version, version))).get() ?? null);
  }
  listMetadataVersions(role: string): Promise<MetadataRecord[]> {
    return this.c.call(() => this.c.db.select().from(t.tufMetadata).where(eq(t.tufMetadata.role, role)).orderBy(t.tufMetadata.version).all());
  }
  getTarget(sha256: string, path: string): Promise<TargetRecord | null> {
    return this.c.call(() => {
      // A trust document is stored as its history row (publishRows), newest first; other files, and documents published before that, as targets.
      const scope = scopeOfTrustPath(path);
      const document =
        scope === null
          ? undefined
          : (this.c
              .prep('getHistoryTarget', () => this.c.sqlite.prepare('SELECT document FROM trust_history WHERE scope = ? AND sha256 = ? ORDER BY version DESC LIMIT 1').pluck())
              .get(scope, sha256) as Buffer | undefined);
      if (document) return { sha256, path, bytes: document };
      return (
        this.c.prep('getTarget', () => this.c.db.select().from(t.tufTargets).where(and(eq(t.tufTargets.sha256, ph('sha256')), eq(t.tufTargets.path, ph('path')))).prepare()).get({ sha256, path }) ?? null
      );
    });
  }
  /** Stores root metadata outside a publish (init and root rotation). */
  putRoot(rec: MetadataRecord, publishedAt: string): Promise<void> {
    return this.c.call(() => {
      this.c.db.insert(t.tufMetadata).values({ ...rec, publishedAt }).run();
    });
  }

  /**
   * One publish, atomically: new documents, targets and metadata land together, and the dirty
   * marks it consumed are cleared. Throws CONFLICT if another publish landed first.
   */
  commitPublish(c: PublishCommit): Promise<void> {
    // Issue 23: the transparency log appends inside the same transaction (port.ts onPublishCommit).
    const hook = this.#publishHook;
    if (hook) return this.c.outer.transaction(async () => {
      await this.#commitPublishWrites(c);
      await hook(c);
    });
    return this.#commitPublishWrites(c);
  }

  #publishHook: PublishHook | null = null;
  onPublishCommit(hook: PublishHook | null): void {
    this.#publishHook = hook;
  }

  #commitPublishWrites(c: PublishCommit): Promise<void> {
    return this.c.write(() => {
      const current = this.#latestMetadataSync('timestamp')?.version ?? 0;
      if (current !== c.baseTimestampVersion) {
        throw new KeyshareError(Codes.CONFLICT, `timestamp moved from ${c.baseTimestampVersion} to ${current} during publish`);
      }
      // Prepared once, as plain better-sqlite3 statements: a parent change writes a row per governed
      // document in each of two tables, and drizzle's per-row parameter mapping cost about a
      // tenth of those writes (bench B4, B9).
      const { doc, target, metadata, history } = this.#publishStatements();
      const rows = publishRows(c);
      for (const d of c.docs) doc.run(d.scope, d.version, d.issuedAt, d.digest, d.deleted ? 1 : 0);
      // A file published again (trusted_root.json may return to earlier bytes) is current again: pruneSuperseded goes by publishedAt.
      for (const tg of rows.targets) target.run(tg.sha256, tg.path, tg.bytes, c.publishedAt);
      for (const m of c.metadata) metadata.run(m.role, m.version, m.bytes, m.expires, c.publishedAt);
      // Issue 21: the documents this publish changed, kept for diffs between any two versions; each is also its served target.
      for (const h of rows.history) history.run(h.version, h.scope, h.sha256, h.document, h.publishedAt);
      const keep = c.keepDirty ?? [];
      // Without marks to keep (all but offline tenants' publishes), a statement built once (issue 25, B10).
      if (keep.length === 0) this.c.prep('clearDirty', () => this.c.sqlite.prepare('DELETE FROM dirty WHERE seq <= ?')).run(c.upToSeq);
      else this.c.db.delete(t.dirty).where(and(lte(t.dirty.seq, c.upToSeq), notInArray(t.dirty.scope, keep))).run();
    });
  }

  #statements: ReturnType<SqliteRepository['prepareStatements']> | null = null;
  #publishStatements() {
    return (this.#statements ??= this.prepareStatements());
  }
  private prepareStatements() {
    const db = this.c.sqlite;
    return {
      doc: db.prepare(
        `INSERT INTO trust_docs (scope, version, issued_at, digest, deleted) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (scope) DO UPDATE SET version = excluded.version, issued_at = excluded.issued_at, digest = excluded.digest, deleted = excluded.deleted`,
      ),
      target: db.prepare(
        `INSERT INTO tuf_targets (sha256, path, bytes, published_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (sha256, path) DO UPDATE SET published_at = excluded.published_at`,
      ),
      metadata: db.prepare('INSERT INTO tuf_metadata (role, version, bytes, expires, published_at) VALUES (?, ?, ?, ?, ?)'),
      history: db.prepare('INSERT INTO trust_history (version, scope, sha256, document, published_at) VALUES (?, ?, ?, ?, ?)'),
    };
  }

  /**
   * Garbage-collects what no client can still need: a non-root metadata version, or a target
   * file, whose successor was published before `before` (the grace period lets a client that
   * read the previous timestamp finish its update). Root versions are kept forever, and so are
   * the trust documents stored as history rows (publishRows); a document stored as a target
   * (published before them) goes once a history row of its scope superseded it.
   */
  pruneSuperseded(before: string): Promise<{ metadata: number; targets: number }> {
    return this.c.write(() => ({
      metadata: this.c.sqlite
        .prepare(
          `DELETE FROM tuf_metadata WHERE role <> 'root' AND EXISTS (
             SELECT 1 FROM tuf_metadata n WHERE n.role = tuf_metadata.role AND n.version > tuf_metadata.version AND n.published_at < ?)`,
        )
        .run(before).changes,
      targets: this.c.sqlite
        .prepare(
          `DELETE FROM tuf_targets WHERE EXISTS (
             SELECT 1 FROM tuf_targets n WHERE n.path = tuf_targets.path AND n.published_at > tuf_targets.published_at AND n.published_at < @before)
           OR (path LIKE 'trust/%' AND EXISTS (
             SELECT 1 FROM trust_history n WHERE n.scope = ${TRUST_DOC_SCOPE_SQL('tuf_targets.path')} AND n.published_at > tuf_targets.published_at AND n.published_at < @before))`,
        )
        .run({ before }).changes,
    }));
  }
}
