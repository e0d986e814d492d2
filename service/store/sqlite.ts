/**
 * The store over the embedded SQLite database (drizzle over better-sqlite3, WAL mode): the
 * SQLite dialect of the store port (./port.ts, which states the transaction rules this follows).
 * Each public write is atomic; `transaction(fn)` groups several into one. Writes that change a
 * scope's effective trust mark it dirty for the publisher.
 *
 * One connection serves the whole process, so the exclusivity of a transaction is ours to keep:
 * statements run synchronously (better-sqlite3), and a Frame's mutex makes whoever is outside a
 * transaction wait while it is open (port.ts).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import Database from 'better-sqlite3';
import { ensurePrivateFile } from '../util/private-files.js';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { and, eq, gt, gte, inArray, lt, lte, notInArray, sql, desc } from 'drizzle-orm';
import { join } from 'node:path';
import * as t from './schema.js';
import { KeyshareError, Codes } from '../errors.js';
import { packageRoot } from '../util/paths.js';
import { Mutex } from '../util/mutex.js';
import type { AnchorRecord, AnchorType, Revocations, ScopeRecord } from '../domain/types.js';
import { byScopeAndId, fromAnchor, historyRows, nextCrlRow, revocationRow, toAnchor, toRevocations, toScope, type CrlInput } from './rows.js';
import type { Store } from './port.js';
import {
  ALL_SCOPES,
  CRL_DIRTY_PREFIX,
  type AuditHead,
  type AuditRecord,
  type CaRecord,
  type CrlRecord,
  type CrlSummary,
  type LogAppend,
  type MetadataRecord,
  type PublishCommit,
  type PublishHook,
  type RevocationInput,
  type TargetRecord,
  type TokenRecord,
  type TransactionObserver,
  type TrustDocRecord,
  type UpstreamRecord,
  type UpstreamSummary,
  type TrustHistoryRecord,
  type ClientRecord,
  type ClientLimits,
} from './types.js';

/**
 * Where a call runs: outside any transaction (the root frame), or in one transaction or
 * savepoint. Whoever holds `lock` has the frame to itself: a transaction opened in it, or one
 * call. A frame stays in the async context of the code run inside it, also after it closed.
 */
interface Frame {
  readonly lock: Mutex;
  readonly parent: Frame | null;
  readonly depth: number;
  open: boolean;
}

export class SqliteStore implements Store {
  readonly dialect = 'sqlite' as const;
  private readonly root: Frame = { lock: new Mutex(), parent: null, depth: 0, open: true };
  private readonly frames = new AsyncLocalStorage<Frame>();
  private observer: TransactionObserver | null = null;

  private constructor(
    private readonly sqlite: Database.Database,
    private readonly db: BetterSQLite3Database<typeof t>,
  ) {}

  /** Opens (or creates) the database and applies pending migrations. */
  static open(file: string): SqliteStore {
    // 0600 whatever the umask; SQLite gives its -wal and -shm files the same mode (issue 16, finding 8).
    if (file !== ':memory:') ensurePrivateFile(file);
    const sqlite = new Database(file);
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('busy_timeout = 5000');
    sqlite.pragma('foreign_keys = ON');
    const db = drizzle(sqlite, { schema: t });
    migrate(db, { migrationsFolder: join(packageRoot(), 'service/store/migrations/sqlite') });
    return new SqliteStore(sqlite, db);
  }

  static memory(): SqliteStore {
    return SqliteStore.open(':memory:');
  }

  /**
   * Point queries built once and then run many times: building a drizzle query costs more than
   * SQLite takes to run it, and an apply of 100k scopes runs about ten per scope (bench B4).
   */
  private readonly prepared = new Map<string, unknown>();
  private prep<T>(key: string, build: () => T): T {
    let q = this.prepared.get(key) as T | undefined;
    if (q === undefined) this.prepared.set(key, (q = build()));
    return q;
  }

  close(): Promise<void> {
    return this.call(() => {
      this.sqlite.close();
    });
  }

  /**
   * A consistent copy of the whole database in `file` (SQLite's online backup API), while this
   * or any other connection keeps writing: `keyshare backup`. SQLite only.
   */
  async backupTo(file: string): Promise<void> {
    await this.sqlite.backup(file);
  }

  /** SQLite's integrity check: 'ok', or what is damaged (`keyshare restore` refuses then). SQLite only. */
  integrityCheck(): string {
    const rows = this.sqlite.pragma('integrity_check') as { integrity_check: string }[];
    return rows.map((r) => r.integrity_check).join('; ');
  }

  /** SQLite's quick check (issue 24 row 10: run by `serve` at start): 'ok', or what is damaged. SQLite only. */
  quickCheck(): string {
    const rows = this.sqlite.pragma('quick_check') as { quick_check: string }[];
    return rows.map((r) => r.quick_check).join('; ');
  }

  /** The innermost open frame of the caller's async context. */
  private frame(): Frame {
    let f = this.frames.getStore() ?? this.root;
    while (!f.open) f = f.parent!;
    return f;
  }

  /**
   * Runs synchronous statements in the caller's frame: at once when nobody holds the frame (a
   * call inside the current transaction never queues, bench B4), else after the holder.
   */
  private call<T>(op: () => T): Promise<T> {
    const f = this.frame();
    if (!f.lock.idle) return f.lock.run(op);
    try {
      return Promise.resolve(op());
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Several statements as one: a savepoint in the current transaction, else a transaction (BEGIN IMMEDIATE) of their own. */
  private atomic<T>(body: () => T): Promise<T> {
    return this.call(() => this.sqlite.transaction(body).immediate());
  }

  /** A write of trust or repository state: atomic, and shown to the observer when it is the outermost transaction. */
  private write<T>(body: () => T): Promise<T> {
    return this.observer && this.frame() === this.root ? this.transaction(async () => body()) : this.atomic(body);
  }

  /** port.ts: the outermost transaction is BEGIN IMMEDIATE (other processes may write the file), a nested one a SAVEPOINT. */
  transaction<T>(fn: () => Promise<T>): Promise<T> {
    const parent = this.frame();
    return parent.lock.run(async () => {
      const frame: Frame = { lock: new Mutex(), parent, depth: parent.depth + 1, open: true };
      const outermost = parent === this.root;
      const savepoint = `ks_${frame.depth}`;
      this.sqlite.exec(outermost ? 'BEGIN IMMEDIATE' : `SAVEPOINT ${savepoint}`);
      const observer = outermost ? this.observer : null;
      let pending: unknown = null;
      try {
        const result = await this.frames.run(frame, async () => {
          pending = observer ? await observer.begin() : null;
          const r = await fn();
          if (pending !== null) await observer!.commit(pending);
          return r;
        });
        // Whatever `fn` started and left running now waits for the frame's lock, then runs in the parent.
        await frame.lock.run(() => {
          frame.open = false;
        });
        this.sqlite.exec(outermost ? 'COMMIT' : `RELEASE ${savepoint}`);
        if (pending !== null) observer!.end?.(pending, true);
        return result;
      } catch (e) {
        frame.open = false;
        if (outermost) {
          if (this.sqlite.inTransaction) this.sqlite.exec('ROLLBACK');
        } else {
          this.sqlite.exec(`ROLLBACK TO ${savepoint}; RELEASE ${savepoint}`);
        }
        if (pending !== null) observer!.end?.(pending, false);
        throw e;
      }
    });
  }

  observeTransactions(observer: TransactionObserver | null): void {
    this.observer = observer;
  }

  // ---- meta ----
  getMeta(key: string): Promise<string | null> {
    return this.call(() => this.getMetaSync(key));
  }
  private getMetaSync(key: string): string | null {
    return this.prep('getMeta', () => this.db.select().from(t.meta).where(eq(t.meta.key, ph('key'))).prepare()).get({ key })?.value ?? null;
  }
  setMeta(key: string, value: string): Promise<void> {
    return this.call(() => this.setMetaSync(key, value));
  }
  swapMeta(key: string, expected: string | null, value: string): Promise<boolean> {
    // One connection: nothing runs between the read and the write.
    return this.call(() => {
      if (this.getMetaSync(key) !== expected) return false;
      this.setMetaSync(key, value);
      return true;
    });
  }
  private setMetaSync(key: string, value: string): void {
    this.prep('setMeta', () =>
      this.db.insert(t.meta).values({ key: ph('key'), value: ph('value') }).onConflictDoUpdate({ target: t.meta.key, set: { value: sql`excluded.value` } }).prepare(),
    ).run({ key, value });
  }

  // ---- change tracking ----
  private markDirty(scope: string): void {
    const seq = Number(this.getMetaSync('change_seq') ?? '0') + 1;
    this.setMetaSync('change_seq', String(seq));
    this.prep('markDirty', () =>
      this.db.insert(t.dirty).values({ scope: ph('scope'), seq: ph('seq') }).onConflictDoUpdate({ target: t.dirty.scope, set: { seq: sql`excluded.seq` } }).prepare(),
    ).run({ scope, seq });
  }
  listDirty(): Promise<{ scope: string; seq: number }[]> {
    return this.call(() => this.db.select().from(t.dirty).all());
  }
  changeSeq(): Promise<number> {
    return this.call(() => Number(this.getMetaSync('change_seq') ?? '0'));
  }

  // ---- scopes ----
  listScopes(): Promise<ScopeRecord[]> {
    return this.call(() => this.db.select().from(t.scopes).orderBy(t.scopes.scope).all().map(toScope));
  }
  getScope(scope: string): Promise<ScopeRecord | null> {
    return this.call(() => this.getScopeSync(scope));
  }
  private getScopeSync(scope: string): ScopeRecord | null {
    const row = this.prep('getScope', () => this.db.select().from(t.scopes).where(eq(t.scopes.scope, ph('scope'))).prepare()).get({ scope });
    return row ? toScope(row) : null;
  }
  requireScope(scope: string): Promise<ScopeRecord> {
    return this.call(() => this.requireScopeSync(scope));
  }
  private requireScopeSync(scope: string): ScopeRecord {
    const s = this.getScopeSync(scope);
    if (!s) throw new KeyshareError(Codes.SCOPE_NOT_FOUND, `scope ${JSON.stringify(scope)} is not defined`);
    return s;
  }
  createScope(rec: ScopeRecord, now: Date): Promise<void> {
    return this.write(() => {
      if (this.getScopeSync(rec.scope)) throw new KeyshareError(Codes.SCOPE_EXISTS, `scope ${JSON.stringify(rec.scope)} already exists`);
      this.prep('insertScope', () =>
        this.db.insert(t.scopes).values({ scope: ph('scope'), inherit: ph('inherit'), level: ph('level'), source: ph('source'), createdAt: ph('createdAt') }).prepare(),
      ).run({ scope: rec.scope, inherit: rec.inherit, level: rec.level, source: rec.source ?? null, createdAt: now.toISOString() });
      this.markDirty(rec.scope);
    });
  }
  updateScope(rec: ScopeRecord): Promise<void> {
    return this.write(() => {
      this.requireScopeSync(rec.scope);
      this.db.update(t.scopes).set({ inherit: rec.inherit, level: rec.level }).where(eq(t.scopes.scope, rec.scope)).run();
      this.markDirty(rec.scope);
    });
  }
  /** A federated scope's definition from its upstreams (sync/upstream/federate.ts): inherit, level and source. */
  updateFederatedScope(rec: ScopeRecord): Promise<void> {
    return this.write(() => {
      this.requireScopeSync(rec.scope);
      this.db.update(t.scopes).set({ inherit: rec.inherit, level: rec.level, source: rec.source ?? null }).where(eq(t.scopes.scope, rec.scope)).run();
      this.markDirty(rec.scope);
    });
  }
  deleteScope(scope: string): Promise<void> {
    return this.write(() => {
      this.requireScopeSync(scope);
      this.db.delete(t.anchors).where(eq(t.anchors.scope, scope)).run();
      this.db.delete(t.scopes).where(eq(t.scopes.scope, scope)).run();
      this.markDirty(scope);
    });
  }

  // ---- anchors ----
  listAnchors(scopes?: string[]): Promise<AnchorRecord[]> {
    return this.call(() => {
      let rows: (typeof t.anchors.$inferSelect)[];
      if (!scopes) rows = this.db.select().from(t.anchors).all();
      else if (scopes.length === 1) rows = this.prep('anchorsOf', () => this.db.select().from(t.anchors).where(eq(t.anchors.scope, ph('scope'))).prepare()).all({ scope: scopes[0]! });
      else {
        // In chunks: SQLite refuses more than 32766 bound variables, and a publish can ask for every scope.
        rows = [];
        for (let i = 0; i < scopes.length; i += 500) {
          rows.push(...this.db.select().from(t.anchors).where(inArray(t.anchors.scope, scopes.slice(i, i + 500))).all());
        }
      }
      return rows.map(toAnchor).sort(byScopeAndId);
    });
  }
  /** Anchors of some types (e.g. the CA anchors a publish needs for CRLs), without reading every anchor. */
  listAnchorsOfTypes(types: AnchorType[]): Promise<AnchorRecord[]> {
    return this.call(() => this.db.select().from(t.anchors).where(inArray(t.anchors.type, types)).all().map(toAnchor).sort(byScopeAndId));
  }
  getAnchor(scope: string, id: string): Promise<AnchorRecord | null> {
    return this.call(() => this.getAnchorSync(scope, id));
  }
  private getAnchorSync(scope: string, id: string): AnchorRecord | null {
    const row = this.prep('getAnchor', () => this.db.select().from(t.anchors).where(and(eq(t.anchors.scope, ph('scope')), eq(t.anchors.id, ph('id')))).prepare()).get({ scope, id });
    return row ? toAnchor(row) : null;
  }
  private insertAnchor(rec: AnchorRecord, now: Date): void {
    // trusted_identities is JSON text: encoded here (a placeholder inside sql`` skips drizzle's encoder, which would store null as "null").
    this.prep('insertAnchor', () =>
      this.db
        .insert(t.anchors)
        .values({
          scope: ph('scope'),
          id: ph('id'),
          name: ph('name'),
          type: ph('type'),
          material: ph('material'),
          trustedIdentities: sql`${ph('trustedIdentities')}`,
          keyId: ph('keyId'),
          serial: ph('serial'),
          issuerName: ph('issuerName'),
          subject: ph('subject'),
          notAfter: ph('notAfter'),
          source: ph('source'),
          createdAt: ph('createdAt'),
        })
        .prepare(),
    ).run({ ...fromAnchor(rec), trustedIdentities: rec.trustedIdentities == null ? null : JSON.stringify(rec.trustedIdentities), createdAt: now.toISOString() });
  }
  addAnchor(rec: AnchorRecord, now: Date): Promise<void> {
    return this.write(() => {
      this.requireScopeSync(rec.scope);
      if (this.getAnchorSync(rec.scope, rec.id)) {
        throw new KeyshareError(Codes.ANCHOR_EXISTS, `anchor ${rec.id} is already defined at scope ${JSON.stringify(rec.scope)}`);
      }
      this.insertAnchor(rec, now);
      this.markDirty(rec.scope);
    });
  }
  /** Replaces an anchor's definition (same scope and ID). */
  replaceAnchor(rec: AnchorRecord, now: Date): Promise<void> {
    return this.write(() => {
      this.db.delete(t.anchors).where(and(eq(t.anchors.scope, rec.scope), eq(t.anchors.id, rec.id))).run();
      this.db.insert(t.anchors).values({ ...fromAnchor(rec), createdAt: now.toISOString() }).run();
      this.markDirty(rec.scope);
    });
  }
  removeAnchor(scope: string, id: string): Promise<void> {
    return this.write(() => {
      this.requireScopeSync(scope);
      const res = this.db.delete(t.anchors).where(and(eq(t.anchors.scope, scope), eq(t.anchors.id, id))).run();
      if (res.changes === 0) throw new KeyshareError(Codes.ANCHOR_NOT_FOUND, `no anchor ${id} at scope ${JSON.stringify(scope)}`);
      this.markDirty(scope);
    });
  }

  // ---- revocations ----
  listRevocations(): Promise<Revocations> {
    return this.call(() => toRevocations(this.db.select().from(t.revocations).orderBy(t.revocations.id).all()));
  }
  /** Adds a revocation; returns false when the same one already exists (idempotent). */
  addRevocation(r: RevocationInput): Promise<boolean> {
    return this.write(() => {
      const row = revocationRow(r);
      const existing = this.db
        .select()
        .from(t.revocations)
        .where(and(eq(t.revocations.kind, row.kind), eq(t.revocations.subject, row.subject), eq(t.revocations.scope, row.scope)))
        .get();
      if (existing) return false;
      this.db.insert(t.revocations).values(row).run();
      this.markDirty(r.scope ?? ALL_SCOPES);
      return true;
    });
  }

  // ---- CRLs (the newest accepted one per CA anchor) ----
  getCrl(issuer: string): Promise<CrlRecord | null> {
    return this.call(() => this.getCrlSync(issuer));
  }
  private getCrlSync(issuer: string): CrlRecord | null {
    return this.db.select().from(t.crls).where(eq(t.crls.issuer, issuer)).get() ?? null;
  }
  listCrls(): Promise<CrlRecord[]> {
    return this.call(() => this.db.select().from(t.crls).orderBy(t.crls.issuer).all());
  }
  /**
   * Stores a CRL that the caller checked, replacing the issuer's previous one. RFC 5280 5.2.3:
   * the CRL number only goes up, so a number not greater than the stored one is ROLLBACK,
   * checked here again inside the transaction in case two uploads race. Marks the CRL target
   * dirty, and every scope when the trust documents may change (the issuer's first CRL, or a
   * different set of revoked serials, which can revoke anchors).
   */
  putCrl(rec: CrlInput, affectsTrust: boolean): Promise<void> {
    return this.write(() => {
      const existing = this.getCrlSync(rec.issuer);
      const row = nextCrlRow(rec, existing);
      this.db.insert(t.crls).values(row).onConflictDoUpdate({ target: t.crls.issuer, set: row }).run();
      this.markDirty(`${CRL_DIRTY_PREFIX}${rec.issuer}`);
      // The trust documents carry the URL too (`crls[].urls`).
      if (affectsTrust || !existing || row.url !== existing.url) this.markDirty(ALL_SCOPES);
    });
  }
  /** Records an automatic fetch of an issuer's CRL URL (success: error null). */
  recordCrlFetch(issuer: string, at: string, error: string | null): Promise<void> {
    return this.call(() => {
      this.db.update(t.crls).set({ lastFetchAt: at, lastError: error }).where(eq(t.crls.issuer, issuer)).run();
    });
  }
  /** Sets or clears the URL the service fetches an issuer's CRL from. */
  setCrlUrl(issuer: string, url: string | null): Promise<boolean> {
    return this.write(() => {
      const existing = this.getCrlSync(issuer);
      if (!existing) return false;
      if (existing.url !== url) {
        this.db.update(t.crls).set({ url }).where(eq(t.crls.issuer, issuer)).run();
        // The trust documents list the URL (`crls[].urls`): republish them.
        this.markDirty(ALL_SCOPES);
      }
      return true;
    });
  }

  // ---- published trust documents ----
  getTrustDocs(scopes: string[]): Promise<Map<string, TrustDocRecord>> {
    return this.call(() => {
      const out = new Map<string, TrustDocRecord>();
      for (let i = 0; i < scopes.length; i += 500) {
        const chunk = scopes.slice(i, i + 500);
        for (const r of this.db.select().from(t.trustDocs).where(inArray(t.trustDocs.scope, chunk)).all()) out.set(r.scope, r);
      }
      return out;
    });
  }
  listTrustDocs(): Promise<TrustDocRecord[]> {
    return this.call(() => this.db.select().from(t.trustDocs).where(eq(t.trustDocs.deleted, false)).orderBy(t.trustDocs.scope).all());
  }

  // ---- TUF repository ----
  latestMetadata(role: string): Promise<MetadataRecord | null> {
    return this.call(() => this.latestMetadataSync(role));
  }
  private latestMetadataSync(role: string): MetadataRecord | null {
    return this.db.select().from(t.tufMetadata).where(eq(t.tufMetadata.role, role)).orderBy(desc(t.tufMetadata.version)).limit(1).get() ?? null;
  }
  /** The newest version of every role. */
  latestMetadataAll(): Promise<MetadataRecord[]> {
    return this.call(() => {
      return this.sqlite
        .prepare(
          `SELECT role, version, bytes, expires FROM tuf_metadata m
           WHERE version = (SELECT MAX(version) FROM tuf_metadata WHERE role = m.role)`,
        )
        .all() as MetadataRecord[];
    });
  }
  getMetadata(role: string, version: number): Promise<MetadataRecord | null> {
    return this.call(() => this.db.select().from(t.tufMetadata).where(and(eq(t.tufMetadata.role, role), eq(t.tufMetadata.version, version))).get() ?? null);
  }
  listMetadataVersions(role: string): Promise<MetadataRecord[]> {
    return this.call(() => this.db.select().from(t.tufMetadata).where(eq(t.tufMetadata.role, role)).orderBy(t.tufMetadata.version).all());
  }
  getTarget(sha256: string, path: string): Promise<TargetRecord | null> {
    return this.call(() => {
      return (
        this.prep('getTarget', () => this.db.select().from(t.tufTargets).where(and(eq(t.tufTargets.sha256, ph('sha256')), eq(t.tufTargets.path, ph('path')))).prepare()).get({ sha256, path }) ?? null
      );
    });
  }
  /** Stores root metadata outside a publish (init and root rotation). */
  putRoot(rec: MetadataRecord, publishedAt: string): Promise<void> {
    return this.call(() => {
      this.db.insert(t.tufMetadata).values({ ...rec, publishedAt }).run();
    });
  }

  /**
   * One publish, atomically: new documents, targets and metadata land together, and the dirty
   * marks it consumed are cleared. Throws CONFLICT if another publish landed first.
   */
  commitPublish(c: PublishCommit): Promise<void> {
    // Issue 23: the transparency log appends inside the same transaction (port.ts onPublishCommit).
    const hook = this.publishHook;
    if (hook) return this.transaction(async () => {
      await this.commitPublishWrites(c);
      await hook(c);
    });
    return this.commitPublishWrites(c);
  }

  private publishHook: PublishHook | null = null;
  onPublishCommit(hook: PublishHook | null): void {
    this.publishHook = hook;
  }

  private commitPublishWrites(c: PublishCommit): Promise<void> {
    return this.write(() => {
      const current = this.latestMetadataSync('timestamp')?.version ?? 0;
      if (current !== c.baseTimestampVersion) {
        throw new KeyshareError(Codes.CONFLICT, `timestamp moved from ${c.baseTimestampVersion} to ${current} during publish`);
      }
      // Prepared once: a publish at 100k scopes writes 100k documents and targets (bench B4).
      const doc = this.prep('upsertDoc', () => {
        return this.db
          .insert(t.trustDocs)
          .values({ scope: ph('scope'), version: ph('version'), issuedAt: ph('issuedAt'), digest: ph('digest'), deleted: ph('deleted') })
          .onConflictDoUpdate({
            target: t.trustDocs.scope,
            set: { version: sql`excluded.version`, issuedAt: sql`excluded.issued_at`, digest: sql`excluded.digest`, deleted: sql`excluded.deleted` },
          })
          .prepare();
      });
      for (const d of c.docs) doc.run({ scope: d.scope, version: d.version, issuedAt: d.issuedAt, digest: d.digest, deleted: d.deleted });
      // A file published again (trusted_root.json may return to earlier bytes) is current again: pruneSuperseded goes by publishedAt.
      const target = this.prep('insertTarget', () =>
        this.db
          .insert(t.tufTargets)
          .values({ sha256: ph('sha256'), path: ph('path'), bytes: ph('bytes'), publishedAt: ph('publishedAt') })
          .onConflictDoUpdate({ target: [t.tufTargets.sha256, t.tufTargets.path], set: { publishedAt: sql`excluded.published_at` } })
          .prepare(),
      );
      for (const tg of c.targets) target.run({ sha256: tg.sha256, path: tg.path, bytes: tg.bytes, publishedAt: c.publishedAt });
      const metadata = this.prep('insertMetadata', () =>
        this.db.insert(t.tufMetadata).values({ role: ph('role'), version: ph('version'), bytes: ph('bytes'), expires: ph('expires'), publishedAt: ph('publishedAt') }).prepare(),
      );
      for (const m of c.metadata) metadata.run({ role: m.role, version: m.version, bytes: m.bytes, expires: m.expires, publishedAt: c.publishedAt });
      // Issue 21: the documents this publish changed, kept for diffs between any two versions.
      const history = this.prep('insertHistory', () =>
        this.db.insert(t.trustHistory).values({ version: ph('version'), scope: ph('scope'), document: ph('document'), publishedAt: ph('publishedAt') }).prepare(),
      );
      for (const h of historyRows(c)) history.run({ ...h });
      const keep = c.keepDirty ?? [];
      this.db.delete(t.dirty).where(keep.length ? and(lte(t.dirty.seq, c.upToSeq), notInArray(t.dirty.scope, keep)) : lte(t.dirty.seq, c.upToSeq)).run();
    });
  }

  /**
   * Garbage-collects what no client can still need: a non-root metadata version, or a target
   * file, whose successor was published before `before` (the grace period lets a client that
   * read the previous timestamp finish its update). Root versions are kept forever.
   */
  pruneSuperseded(before: string): Promise<{ metadata: number; targets: number }> {
    return this.write(() => ({
      metadata: this.sqlite
        .prepare(
          `DELETE FROM tuf_metadata WHERE role <> 'root' AND EXISTS (
             SELECT 1 FROM tuf_metadata n WHERE n.role = tuf_metadata.role AND n.version > tuf_metadata.version AND n.published_at < ?)`,
        )
        .run(before).changes,
      targets: this.sqlite
        .prepare(
          `DELETE FROM tuf_targets WHERE EXISTS (
             SELECT 1 FROM tuf_targets n WHERE n.path = tuf_targets.path AND n.published_at > tuf_targets.published_at AND n.published_at < ?)`,
        )
        .run(before).changes,
    }));
  }

  // ---- transparency log ----
  logSize(): Promise<number> {
    return this.call(() => this.logSizeSync());
  }
  private logSizeSync(): number {
    return (this.db.select({ n: sql<number | null>`max(${t.logEntries.idx})` }).from(t.logEntries).get()?.n ?? -1) + 1;
  }
  appendLogEntry(a: LogAppend): Promise<void> {
    return this.atomic(() => {
      const size = this.logSizeSync();
      if (a.index !== size) throw new KeyshareError(Codes.CONFLICT, `the log has ${size} entries: entry ${a.index} cannot be appended`);
      this.db.insert(t.logEntries).values({ idx: a.index, data: a.data, timestampVersion: a.timestampVersion }).run();
      for (const n of a.nodes) this.db.insert(t.logNodes).values({ level: n.level, idx: n.index, hash: Buffer.from(n.hash) }).run();
    });
  }
  getLogNodes(ids: { level: number; index: number }[]): Promise<Map<string, Buffer>> {
    return this.call(() => {
      const q = this.prep('getLogNode', () =>
        this.db.select({ hash: t.logNodes.hash }).from(t.logNodes).where(and(eq(t.logNodes.level, ph('level')), eq(t.logNodes.idx, ph('idx')))).prepare(),
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
    return this.call(() =>
      this.db
        .select({ data: t.logEntries.data })
        .from(t.logEntries)
        .where(and(gte(t.logEntries.idx, from), lt(t.logEntries.idx, to)))
        .orderBy(t.logEntries.idx)
        .all()
        .map((r) => r.data),
    );
  }
  findLogEntry(timestampVersion: number): Promise<number | null> {
    return this.call(() => this.db.select({ idx: t.logEntries.idx }).from(t.logEntries).where(eq(t.logEntries.timestampVersion, timestampVersion)).get()?.idx ?? null);
  }

  // ---- tokens ----
  addToken(rec: TokenRecord): Promise<void> {
    return this.call(() => {
      this.db.insert(t.tokens).values(rec).run();
    });
  }
  getToken(id: string): Promise<TokenRecord | null> {
    return this.call(() => this.db.select().from(t.tokens).where(eq(t.tokens.id, id)).get() ?? null);
  }
  listTokens(): Promise<TokenRecord[]> {
    return this.call(() => this.db.select().from(t.tokens).orderBy(t.tokens.createdAt).all());
  }
  revokeToken(id: string, at: string): Promise<boolean> {
    return this.call(() => this.db.update(t.tokens).set({ revokedAt: at }).where(eq(t.tokens.id, id)).run().changes > 0);
  }

  // ---- signing authorities ----
  listCas(): Promise<CaRecord[]> {
    return this.call(() => this.db.select().from(t.cas).orderBy(t.cas.name).all() as CaRecord[]);
  }
  getCa(name: string): Promise<CaRecord | null> {
    return this.call(() => (this.db.select().from(t.cas).where(eq(t.cas.name, name)).get() as CaRecord | undefined) ?? null);
  }
  addCa(rec: CaRecord): Promise<void> {
    return this.call(() => {
      if (this.db.select().from(t.cas).where(eq(t.cas.name, rec.name)).get()) throw new KeyshareError('CA_EXISTS', `a signing authority named ${rec.name} exists`);
      this.db.insert(t.cas).values(rec).run();
    });
  }

  // ---- operations views (web console, metrics): read-only summaries ----
  /** Every stored CRL without its DER: issuer, number, thisUpdate, nextUpdate and fetch state. */
  crlSummaries(): Promise<CrlSummary[]> {
    return this.call(() => {
      return this.db
        .select({
          issuer: t.crls.issuer,
          crlNumber: t.crls.crlNumber,
          thisUpdate: t.crls.thisUpdate,
          nextUpdate: t.crls.nextUpdate,
          url: t.crls.url,
          lastFetchAt: t.crls.lastFetchAt,
          lastError: t.crls.lastError,
          updatedAt: t.crls.updatedAt,
        })
        .from(t.crls)
        .orderBy(t.crls.issuer)
        .all();
    });
  }
  /** Every upstream's sync state, without its pinned root or files. */
  upstreamSummaries(): Promise<UpstreamSummary[]> {
    return this.call(() => {
      return this.db
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
    return this.call(() => this.getUpstreamSync(name));
  }
  private getUpstreamSync(name: string): UpstreamRecord | null {
    return (this.db.select().from(t.upstreams).where(eq(t.upstreams.name, name)).get() as UpstreamRecord | undefined) ?? null;
  }
  /** Inserts or replaces an upstream row. */
  putUpstream(rec: UpstreamRecord): Promise<void> {
    return this.call(() => {
      this.db.insert(t.upstreams).values(rec).onConflictDoUpdate({ target: t.upstreams.name, set: rec }).run();
    });
  }
  /** Replaces every file of an upstream (paths relative to its repository, e.g. `1.root.json`). */
  replaceUpstreamFiles(upstream: string, files: Iterable<{ path: string; bytes: Buffer }>): Promise<void> {
    return this.write(() => {
      this.db.delete(t.upstreamFiles).where(eq(t.upstreamFiles.upstream, upstream)).run();
      for (const f of files) this.db.insert(t.upstreamFiles).values({ upstream, path: f.path, bytes: f.bytes }).run();
    });
  }
  getUpstreamFile(upstream: string, path: string): Promise<Buffer | null> {
    return this.call(() => this.db.select().from(t.upstreamFiles).where(and(eq(t.upstreamFiles.upstream, upstream), eq(t.upstreamFiles.path, path))).get()?.bytes ?? null);
  }
  listUpstreamFiles(upstream: string): Promise<{ path: string; bytes: Buffer }[]> {
    return this.call(() => this.db.select({ path: t.upstreamFiles.path, bytes: t.upstreamFiles.bytes }).from(t.upstreamFiles).where(eq(t.upstreamFiles.upstream, upstream)).orderBy(t.upstreamFiles.path).all());
  }
  countUpstreamFiles(upstream: string): Promise<number> {
    return this.call(() => this.db.select({ n: sql<number>`count(*)` }).from(t.upstreamFiles).where(eq(t.upstreamFiles.upstream, upstream)).get()?.n ?? 0);
  }
  /** Every upstream row, pinned roots and state included (sync/upstream). */
  listUpstreams(): Promise<UpstreamRecord[]> {
    return this.call(() => this.db.select().from(t.upstreams).orderBy(t.upstreams.name).all() as UpstreamRecord[]);
  }
  /** Records the outcome of a sync without touching the rest of the row; false when the row is gone. */
  updateUpstreamStatus(
    name: string,
    status: Partial<Pick<UpstreamRecord, 'state' | 'timestampVersion' | 'lastSuccessAt' | 'lastError' | 'root'>>,
  ): Promise<boolean> {
    return this.call(() => {
      if (Object.keys(status).length === 0) return this.getUpstreamSync(name) !== null;
      return this.db.update(t.upstreams).set(status).where(eq(t.upstreams.name, name)).run().changes > 0;
    });
  }
  /** Removes an upstream row and its files; false when there was none. */
  deleteUpstream(name: string): Promise<boolean> {
    return this.write(() => {
      this.db.delete(t.upstreamFiles).where(eq(t.upstreamFiles.upstream, name)).run();
      return this.db.delete(t.upstreams).where(eq(t.upstreams.name, name)).run().changes > 0;
    });
  }

  // ---- local blocks of upstream anchors (federation): the anchor is left out of the scope's trust here ----
  listAnchorBlocks(scope?: string): Promise<{ scope: string; anchorId: string; createdAt: string }[]> {
    return this.call(() => {
      const q = this.db.select().from(t.anchorBlocks);
      return (scope === undefined ? q : q.where(eq(t.anchorBlocks.scope, scope))).orderBy(t.anchorBlocks.scope, t.anchorBlocks.anchorId).all();
    });
  }
  /** Blocks an anchor ID at a scope; false when it was already blocked there (idempotent). */
  addAnchorBlock(scope: string, anchorId: string, now: Date): Promise<boolean> {
    return this.write(() => {
      this.requireScopeSync(scope);
      const res = this.db.insert(t.anchorBlocks).values({ scope, anchorId, createdAt: now.toISOString() }).onConflictDoNothing().run();
      if (res.changes > 0) this.markDirty(scope);
      return res.changes > 0;
    });
  }
  /** Lifts a block; false when there was none. */
  removeAnchorBlock(scope: string, anchorId: string): Promise<boolean> {
    return this.write(() => {
      const res = this.db.delete(t.anchorBlocks).where(and(eq(t.anchorBlocks.scope, scope), eq(t.anchorBlocks.anchorId, anchorId))).run();
      if (res.changes > 0) this.markDirty(scope);
      return res.changes > 0;
    });
  }

  /** For tests and diagnostics: row counts. */
  count(table: 'scopes' | 'anchors' | 'revocations' | 'tuf_metadata' | 'tuf_targets' | 'clients' | 'trust_history'): Promise<number> {
    return this.call(() => (this.sqlite.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n);
  }

  // ---- issue 21: trust history and client reports ----
  trustHistoryAt(version: number): Promise<TrustHistoryRecord[]> {
    return this.call(
      () =>
        this.sqlite
          .prepare(
            `SELECT h.version, h.scope, h.document, h.published_at AS publishedAt FROM trust_history h
             WHERE h.version = (SELECT MAX(n.version) FROM trust_history n WHERE n.scope = h.scope AND n.version <= ?)
             ORDER BY h.scope`,
          )
          .all(version) as TrustHistoryRecord[],
    );
  }
  listTrustHistory(q: { after: number; upTo: number; limit: number; scope?: string }): Promise<TrustHistoryRecord[]> {
    return this.call(() =>
      this.db
        .select()
        .from(t.trustHistory)
        .where(and(gt(t.trustHistory.version, q.after), lte(t.trustHistory.version, q.upTo), q.scope === undefined ? undefined : eq(t.trustHistory.scope, q.scope)))
        .orderBy(t.trustHistory.version, t.trustHistory.scope)
        .limit(q.limit)
        .all(),
    );
  }
  async putClientReport(rec: ClientRecord, limits: ClientLimits): Promise<boolean> {
    // A flood of new clients past the cap is refused by reads alone (checked again below, in the write).
    if (await this.call(() => !this.clientRoomSync(rec.clientId, limits))) return false;
    return this.atomic(() => {
      this.db.delete(t.clients).where(lt(t.clients.reportedAt, limits.expireBefore)).run();
      if (!this.clientRoomSync(rec.clientId, limits)) return false;
      const { clientId, ...rest } = rec;
      this.db.insert(t.clients).values(rec).onConflictDoUpdate({ target: t.clients.clientId, set: rest }).run();
      return true;
    });
  }
  /** Whether `clientId` may report: a known client always, a new one while there is room (expired ones count as room). */
  private clientRoomSync(clientId: string, limits: ClientLimits): boolean {
    const known = this.sqlite.prepare('SELECT 1 FROM clients WHERE client_id = ?').get(clientId);
    if (known) return true;
    const { n } = this.sqlite.prepare('SELECT COUNT(*) AS n FROM clients WHERE reported_at >= ?').get(limits.expireBefore) as { n: number };
    return n < limits.cap;
  }
  listClients(since: string): Promise<ClientRecord[]> {
    return this.call(() => this.db.select().from(t.clients).where(gte(t.clients.reportedAt, since)).orderBy(t.clients.clientId).all());
  }

  // ---- audit (hash-chained; see service/audit/chain.ts) ----
  /** Inside the caller's transaction when there is one, else in its own; never shown to the observer (port.ts). */
  appendAudit(link: (head: AuditHead | null) => AuditRecord): Promise<AuditRecord> {
    return this.atomic(() => {
      const entry = link(this.auditHeadSync() ?? this.lastAuditRow());
      this.db.insert(t.audit).values(entry).run();
      this.setMetaSync('audit_head', JSON.stringify({ seq: entry.seq, hash: entry.hash }));
      return entry;
    });
  }
  /** The head recorded with the last append (null before the first). */
  auditHead(): Promise<AuditHead | null> {
    return this.call(() => this.auditHeadSync());
  }
  private auditHeadSync(): AuditHead | null {
    const v = this.getMetaSync('audit_head');
    return v ? (JSON.parse(v) as AuditHead) : null;
  }
  private lastAuditRow(): AuditHead | null {
    const row = this.db.select({ seq: t.audit.seq, hash: t.audit.hash }).from(t.audit).orderBy(desc(t.audit.seq)).limit(1).get();
    return row ?? null;
  }
  /** Entries in seq order: after `afterSeq`, at or after `since` (ISO time), at most `limit`. */
  listAudit(q: { afterSeq?: number; since?: string; limit: number }): Promise<AuditRecord[]> {
    return this.call(() => {
      const where = and(q.afterSeq !== undefined ? gt(t.audit.seq, q.afterSeq) : undefined, q.since !== undefined ? gte(t.audit.at, q.since) : undefined);
      return this.db.select().from(t.audit).where(where).orderBy(t.audit.seq).limit(q.limit).all() as AuditRecord[];
    });
  }

  /** Exposed for the few callers that need a raw statement in tests (e.g. tampering). */
  rawForTests(): Database.Database {
    return this.sqlite;
  }
}

/** A named parameter of a prepared query. */
const ph = (name: string) => sql.placeholder(name);

