/**
 * The store's PostgreSQL dialect (issue 11): the store port (../port.ts, with the transaction
 * rules this follows) over a PostgreSQL database that several replicas (processes) may share.
 * The same records and semantics as the SQLite dialect (../sqlite.ts), method for method.
 *
 * Transactions: an outermost `transaction(fn)` takes a pool connection of its own, and an
 * AsyncLocalStorage makes every store call in fn's async context use it; a nested one is a
 * SAVEPOINT. Outside a transaction each call is one autocommit statement on the pool.
 *
 * Concurrency. SQLite has one writer at a time (BEGIN IMMEDIATE), so check-then-write needed
 * no care there. Here transactions run at READ COMMITTED side by side, in this process and in
 * other replicas, so every write that reads before it writes takes a transaction-scoped
 * advisory lock first (`#lock()`, held to COMMIT):
 * - `writes`: every transaction that changes trust (marks dirty), as SQLite's single writer.
 *   They touch the same rows (scopes, anchors, the change seq), so finer locks would only
 *   add lock orders to deadlock on.
 * - `publish`, `audit`, `upstream:<name>`: the writes that mark nothing dirty.
 * A statement after a lock gets a fresh snapshot (READ COMMITTED), so it sees what the
 * previous holder committed. Lock order: writes, then publish or upstream, then audit (the
 * audit log appends last, at the observer's commit).
 * Single-statement writes (tokens, putUpstream, recordCrlFetch) need no lock.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { join } from 'node:path';
import pg from 'pg';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import { DrizzleQueryError, and, asc, desc, eq, gt, gte, lt, lte, sql, type SQL, type SQLWrapper } from 'drizzle-orm';
import * as t from './schema.js';
import { advisoryKey } from './lease.js';
import { KeyshareError, Codes } from '../../errors.js';
import { packageRoot } from '../../util/paths.js';
import { Mutex } from '../../util/mutex.js';
import type { Store } from '../port.js';
import { byScopeAndId, fromAnchor, historyRows, nextCrlRow, revocationRow, toAnchor, toRevocations, toScope, type CrlInput } from '../rows.js';
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
} from '../types.js';
import type { AnchorRecord, AnchorType, Revocations, ScopeRecord } from '../../domain/types.js';

type Db = NodePgDatabase<typeof t>;

/**
 * Where a call runs: outside any transaction (the root frame, `tx` null: the pool), or in one
 * transaction or savepoint on its connection. Whoever holds `lock` has the frame to itself: a
 * savepoint opened in it, or a call that had to wait (port.ts). A frame stays in the async
 * context of the code run inside it, also after it closed.
 */
interface Frame {
  readonly tx: { client: pg.PoolClient; db: Db } | null;
  readonly lock: Mutex;
  readonly parent: Frame | null;
  readonly depth: number;
  open: boolean;
  /** Advisory locks taken in this frame (#lock): held to COMMIT, or dropped by a ROLLBACK TO its savepoint. */
  readonly locks: Set<string>;
}

/** Rows per INSERT: PostgreSQL binds at most 65535 parameters per statement. */
const BATCH = 500;

/** Public methods that manage frames themselves rather than run in one (see the static block). */
const FRAME_METHODS = new Set(['constructor', 'transaction', 'observeTransactions', 'onPublishCommit', 'close', 'rawPoolForTests']);

export class PgStore implements Store {
  readonly dialect = 'postgres' as const;
  private readonly rootFrame: Frame = { tx: null, lock: new Mutex(), parent: null, depth: 0, open: true, locks: new Set() };
  private readonly frames = new AsyncLocalStorage<Frame>();
  private observer: TransactionObserver | null = null;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly rootDb: Db,
  ) {}

  /**
   * Connects and applies pending migrations. Replicas may start together: the migration runs
   * under a session advisory lock, so one applies it and the others then find it applied.
   */
  static async open(url: string): Promise<PgStore> {
    const pool = new pg.Pool({ connectionString: url, application_name: 'keyshare' });
    // An idle connection lost (server restart): the pool drops it and reconnects on demand. Without a listener Node would exit.
    pool.on('error', () => {});
    try {
      const client = await pool.connect();
      const key = advisoryKey('keyshare:migrate');
      try {
        await client.query('SELECT pg_advisory_lock($1::bigint)', [key]);
        await migrate(drizzle(client), { migrationsFolder: join(packageRoot(), 'service/store/migrations/pg') });
      } finally {
        // Unlocked by hand (a session lock); a broken connection drops it with the session.
        await client.query('SELECT pg_advisory_unlock($1::bigint)', [key]).catch(() => {});
        client.release();
      }
    } catch (e) {
      await pool.end();
      // The driver's message names the host or the failure, never the URL (it may hold a password).
      throw new KeyshareError(Codes.DATABASE_UNAVAILABLE, `cannot open the PostgreSQL database: ${(databaseError(e) as Error).message}`, { cause: databaseError(e) });
    }
    return new PgStore(pool, drizzle(pool, { schema: t }));
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  /** For tests (e.g. tampering): the pool, outside every transaction. */
  rawPoolForTests(): pg.Pool {
    return this.pool;
  }

  /** The innermost open frame of the caller's async context. */
  #frame(): Frame {
    let f = this.frames.getStore() ?? this.rootFrame;
    while (!f.open) f = f.parent!;
    return f;
  }

  /** The current transaction's connection, or the pool (one autocommit statement per call). */
  private get db(): Db {
    return this.#frame().tx?.db ?? this.rootDb;
  }

  /**
   * Every public method runs through here (the static block below). port.ts: in a transaction,
   * a call waits while a nested transaction holds the frame, and then holds it itself, in a
   * frame of its own so that its own savepoints can take it in turn. And a query's error leaves
   * as the database's own error, without SQL or parameters (`databaseError`).
   */
  async #call<T>(op: () => Promise<T>): Promise<T> {
    const f = this.#frame();
    try {
      if (!f.tx || f.lock.idle) return await op();
      // Not a savepoint: the locks it takes belong to `f` (#enter hands them up).
      return await f.lock.run(() => this.#enter({ tx: f.tx, lock: new Mutex(), parent: f, depth: f.depth, open: true, locks: f.locks }, op));
    } catch (e) {
      throw databaseError(e);
    }
  }

  static {
    for (const name of Object.getOwnPropertyNames(PgStore.prototype)) {
      const d = Object.getOwnPropertyDescriptor(PgStore.prototype, name)!;
      if (FRAME_METHODS.has(name) || typeof d.value !== 'function') continue;
      const method = d.value as (...args: unknown[]) => Promise<unknown>;
      d.value = function (this: PgStore, ...args: unknown[]) {
        return this.#call(() => method.apply(this, args));
      };
      Object.defineProperty(PgStore.prototype, name, d);
    }
  }

  /** Runs `fn` in `frame`; then whatever fn started and left running waits for the frame, and runs in the parent (port.ts). */
  async #enter<T>(frame: Frame, fn: () => Promise<T>): Promise<T> {
    try {
      const result = await this.frames.run(frame, fn);
      await frame.lock.run(() => {
        frame.open = false;
      });
      return result;
    } finally {
      frame.open = false;
    }
  }

  /** port.ts: the outermost transaction on a pool connection of its own (READ COMMITTED, the server's default: locks are explicit), a nested one a SAVEPOINT. */
  transaction<T>(fn: () => Promise<T>): Promise<T> {
    return this.#run(fn, true);
  }

  async #run<T>(fn: () => Promise<T>, observe: boolean): Promise<T> {
    const parent = this.#frame();
    if (parent.tx) return parent.lock.run(() => this.#savepoint(parent, fn));
    const client = await this.pool.connect();
    const frame: Frame = { tx: { client, db: drizzle(client, { schema: t }) }, lock: new Mutex(), parent, depth: 1, open: true, locks: new Set() };
    const observer = observe ? this.observer : null;
    let pending: unknown = null;
    let broken = false;
    try {
      await client.query('BEGIN');
      const result = await this.#enter(frame, async () => {
        pending = observer ? await observer.begin() : null;
        const value = await fn();
        if (pending !== null) await observer!.commit(pending);
        return value;
      });
      await client.query('COMMIT');
      if (pending !== null) observer!.end?.(pending, true);
      return result;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => (broken = true));
      if (pending !== null) observer!.end?.(pending, false);
      throw databaseError(e);
    } finally {
      client.release(broken);
    }
  }

  async #savepoint<T>(parent: Frame, fn: () => Promise<T>): Promise<T> {
    const { client } = parent.tx!;
    const frame: Frame = { tx: parent.tx, lock: new Mutex(), parent, depth: parent.depth + 1, open: true, locks: new Set() };
    const name = `ks_${frame.depth}`;
    await client.query(`SAVEPOINT ${name}`);
    try {
      const result = await this.#enter(frame, fn);
      await client.query(`RELEASE SAVEPOINT ${name}`);
      // Released, the savepoint's locks are the parent's (held to COMMIT); rolled back, they are gone.
      for (const l of frame.locks) parent.locks.add(l);
      return result;
    } catch (e) {
      // If this fails too, the transaction is aborted and the outermost one rolls back.
      await client.query(`ROLLBACK TO SAVEPOINT ${name}`).catch(() => {});
      throw e;
    }
  }

  /** service/audit installs itself here. */
  observeTransactions(observer: TransactionObserver | null): void {
    this.observer = observer;
  }

  /** A transaction-scoped advisory lock on `name`, held to COMMIT/ROLLBACK (callers run inside a transaction). */
  async #lock(name: 'writes' | 'publish' | 'audit' | 'clients' | `upstream:${string}`): Promise<void> {
    const f = this.#frame();
    // Taken once per transaction: a round trip per write counts when one transaction makes thousands (apply).
    for (let g: Frame | null = f; g?.tx; g = g.parent) if (g.locks.has(name)) return;
    await this.db.execute(sql`SELECT pg_advisory_xact_lock(${advisoryKey(`keyshare:${name}`)}::bigint)`);
    f.locks.add(name);
  }

  /** A transaction that changes trust (it marks dirty): under the `writes` lock, one at a time. */
  #write<T>(fn: () => Promise<T>): Promise<T> {
    return this.transaction(async () => {
      await this.#lock('writes');
      return fn();
    });
  }

  // ---- meta ----
  async getMeta(key: string): Promise<string | null> {
    const [row] = await this.db.select().from(t.meta).where(eq(t.meta.key, key));
    return row?.value ?? null;
  }
  async setMeta(key: string, value: string): Promise<void> {
    await this.db.insert(t.meta).values({ key, value }).onConflictDoUpdate({ target: t.meta.key, set: { value } });
  }
  async swapMeta(key: string, expected: string | null, value: string): Promise<boolean> {
    // A conditional write is atomic on its own: a concurrent one waits for the row, then re-checks the condition.
    const rows =
      expected === null
        ? await this.db.insert(t.meta).values({ key, value }).onConflictDoNothing().returning({ key: t.meta.key })
        : await this.db.update(t.meta).set({ value }).where(and(eq(t.meta.key, key), eq(t.meta.value, expected))).returning({ key: t.meta.key });
    return rows.length === 1;
  }

  // ---- change tracking ----
  /**
   * Callers hold the `writes` lock, so seqs grow in commit order: a mark not yet committed when
   * a publisher read changeSeq() has a greater seq, and commitPublish (seq <= upToSeq) never
   * clears it.
   */
  async #markDirty(scope: string): Promise<void> {
    // One statement (a round trip per mark counts: an apply marks every scope it touches).
    await this.db.execute(sql`
      WITH next AS (
        INSERT INTO meta (key, value) VALUES ('change_seq', '1')
        ON CONFLICT (key) DO UPDATE SET value = (meta.value::bigint + 1)::text
        RETURNING value::bigint AS seq)
      INSERT INTO dirty (scope, seq) SELECT ${scope}, seq FROM next
      ON CONFLICT (scope) DO UPDATE SET seq = excluded.seq`);
  }
  async listDirty(): Promise<{ scope: string; seq: number }[]> {
    return this.db.select().from(t.dirty);
  }
  async changeSeq(): Promise<number> {
    return Number((await this.getMeta('change_seq')) ?? '0');
  }

  // ---- scopes ----
  async listScopes(): Promise<ScopeRecord[]> {
    return (await this.db.select().from(t.scopes).orderBy(t.scopes.scope)).map(toScope);
  }
  async getScope(scope: string): Promise<ScopeRecord | null> {
    const [row] = await this.db.select().from(t.scopes).where(eq(t.scopes.scope, scope));
    return row ? toScope(row) : null;
  }
  async requireScope(scope: string): Promise<ScopeRecord> {
    const s = await this.getScope(scope);
    if (!s) throw scopeNotFound(scope);
    return s;
  }
  async createScope(rec: ScopeRecord, now: Date): Promise<void> {
    await this.#write(async () => {
      const rows = await this.db
        .insert(t.scopes)
        .values({ scope: rec.scope, inherit: rec.inherit, level: rec.level, source: rec.source ?? null, createdAt: now.toISOString() })
        .onConflictDoNothing()
        .returning({ scope: t.scopes.scope });
      if (!rows.length) throw new KeyshareError(Codes.SCOPE_EXISTS, `scope ${JSON.stringify(rec.scope)} already exists`);
      await this.#markDirty(rec.scope);
    });
  }
  async updateScope(rec: ScopeRecord): Promise<void> {
    await this.#updateScopeRow(rec.scope, { inherit: rec.inherit, level: rec.level });
  }
  /** A federated scope's definition from its upstreams (sync/upstream/federate.ts): inherit, level and source. */
  async updateFederatedScope(rec: ScopeRecord): Promise<void> {
    await this.#updateScopeRow(rec.scope, { inherit: rec.inherit, level: rec.level, source: rec.source ?? null });
  }
  async #updateScopeRow(scope: string, set: Partial<typeof t.scopes.$inferInsert>): Promise<void> {
    await this.#write(async () => {
      const rows = await this.db.update(t.scopes).set(set).where(eq(t.scopes.scope, scope)).returning({ scope: t.scopes.scope });
      if (!rows.length) throw scopeNotFound(scope);
      await this.#markDirty(scope);
    });
  }
  async deleteScope(scope: string): Promise<void> {
    await this.#write(async () => {
      const rows = await this.db.delete(t.scopes).where(eq(t.scopes.scope, scope)).returning({ scope: t.scopes.scope });
      if (!rows.length) throw scopeNotFound(scope);
      await this.db.delete(t.anchors).where(eq(t.anchors.scope, scope));
      await this.#markDirty(scope);
    });
  }

  // ---- anchors ----
  async listAnchors(scopes?: string[]): Promise<AnchorRecord[]> {
    const q = this.db.select().from(t.anchors);
    const rows = await (scopes ? q.where(anyOf(t.anchors.scope, scopes)) : q);
    return rows.map(toAnchor).sort(byScopeAndId);
  }
  /** Anchors of some types (e.g. the CA anchors a publish needs for CRLs), without reading every anchor. */
  async listAnchorsOfTypes(types: AnchorType[]): Promise<AnchorRecord[]> {
    return (await this.db.select().from(t.anchors).where(anyOf(t.anchors.type, types))).map(toAnchor).sort(byScopeAndId);
  }
  async getAnchor(scope: string, id: string): Promise<AnchorRecord | null> {
    const [row] = await this.db.select().from(t.anchors).where(and(eq(t.anchors.scope, scope), eq(t.anchors.id, id)));
    return row ? toAnchor(row) : null;
  }
  async addAnchor(rec: AnchorRecord, now: Date): Promise<void> {
    await this.#write(async () => {
      await this.requireScope(rec.scope);
      const rows = await this.db.insert(t.anchors).values({ ...fromAnchor(rec), createdAt: now.toISOString() }).onConflictDoNothing().returning({ id: t.anchors.id });
      if (!rows.length) throw new KeyshareError(Codes.ANCHOR_EXISTS, `anchor ${rec.id} is already defined at scope ${JSON.stringify(rec.scope)}`);
      await this.#markDirty(rec.scope);
    });
  }
  /** Replaces an anchor's definition (same scope and ID). */
  async replaceAnchor(rec: AnchorRecord, now: Date): Promise<void> {
    await this.#write(async () => {
      const row = { ...fromAnchor(rec), createdAt: now.toISOString() };
      await this.db.insert(t.anchors).values(row).onConflictDoUpdate({ target: [t.anchors.scope, t.anchors.id], set: row });
      await this.#markDirty(rec.scope);
    });
  }
  async removeAnchor(scope: string, id: string): Promise<void> {
    await this.#write(async () => {
      await this.requireScope(scope);
      const rows = await this.db.delete(t.anchors).where(and(eq(t.anchors.scope, scope), eq(t.anchors.id, id))).returning({ id: t.anchors.id });
      if (!rows.length) throw new KeyshareError(Codes.ANCHOR_NOT_FOUND, `no anchor ${id} at scope ${JSON.stringify(scope)}`);
      await this.#markDirty(scope);
    });
  }

  // ---- revocations ----
  async listRevocations(): Promise<Revocations> {
    return toRevocations(await this.db.select().from(t.revocations).orderBy(t.revocations.id));
  }
  /** Adds a revocation; returns false when the same one already exists (idempotent). */
  async addRevocation(r: RevocationInput): Promise<boolean> {
    return this.#write(async () => {
      const row = revocationRow(r);
      const existing = await this.db
        .select({ id: t.revocations.id })
        .from(t.revocations)
        .where(and(eq(t.revocations.kind, row.kind), eq(t.revocations.subject, row.subject), eq(t.revocations.scope, row.scope)))
        .limit(1);
      if (existing.length) return false;
      await this.db.insert(t.revocations).values(row);
      await this.#markDirty(r.scope ?? ALL_SCOPES);
      return true;
    });
  }

  // ---- CRLs (the newest accepted one per CA anchor) ----
  async getCrl(issuer: string): Promise<CrlRecord | null> {
    const [row] = await this.db.select().from(t.crls).where(eq(t.crls.issuer, issuer));
    return row ?? null;
  }
  async listCrls(): Promise<CrlRecord[]> {
    return this.db.select().from(t.crls).orderBy(t.crls.issuer);
  }
  /**
   * Stores a CRL that the caller checked, replacing the issuer's previous one. RFC 5280 5.2.3:
   * the CRL number only goes up, so a number not greater than the stored one is ROLLBACK,
   * checked here again under the writes lock in case two uploads race. Marks the CRL target dirty, and every scope when the trust documents may change (the
   * issuer's first CRL, or a different set of revoked serials, which can revoke anchors).
   */
  async putCrl(rec: CrlInput, affectsTrust: boolean): Promise<void> {
    await this.#write(async () => {
      const existing = await this.getCrl(rec.issuer);
      const row = nextCrlRow(rec, existing);
      await this.db.insert(t.crls).values(row).onConflictDoUpdate({ target: t.crls.issuer, set: row });
      await this.#markDirty(`${CRL_DIRTY_PREFIX}${rec.issuer}`);
      // The trust documents carry the URL too (`crls[].urls`).
      if (affectsTrust || !existing || row.url !== existing.url) await this.#markDirty(ALL_SCOPES);
    });
  }
  /** Records an automatic fetch of an issuer's CRL URL (success: error null). */
  async recordCrlFetch(issuer: string, at: string, error: string | null): Promise<void> {
    await this.db.update(t.crls).set({ lastFetchAt: at, lastError: error }).where(eq(t.crls.issuer, issuer));
  }
  /** Sets or clears the URL the service fetches an issuer's CRL from. */
  async setCrlUrl(issuer: string, url: string | null): Promise<boolean> {
    return this.#write(async () => {
      const existing = await this.getCrl(issuer);
      if (!existing) return false;
      if (existing.url !== url) {
        await this.db.update(t.crls).set({ url }).where(eq(t.crls.issuer, issuer));
        // The trust documents list the URL (`crls[].urls`): republish them.
        await this.#markDirty(ALL_SCOPES);
      }
      return true;
    });
  }

  // ---- published trust documents ----
  async getTrustDocs(scopes: string[]): Promise<Map<string, TrustDocRecord>> {
    const rows = await this.db.select().from(t.trustDocs).where(anyOf(t.trustDocs.scope, scopes));
    return new Map(rows.map((r) => [r.scope, r]));
  }
  async listTrustDocs(): Promise<TrustDocRecord[]> {
    return this.db.select().from(t.trustDocs).where(eq(t.trustDocs.deleted, false)).orderBy(t.trustDocs.scope);
  }

  // ---- TUF repository ----
  async latestMetadata(role: string): Promise<MetadataRecord | null> {
    const [row] = await this.db.select().from(t.tufMetadata).where(eq(t.tufMetadata.role, role)).orderBy(desc(t.tufMetadata.version)).limit(1);
    return row ?? null;
  }
  /** The newest version of every role. */
  async latestMetadataAll(): Promise<MetadataRecord[]> {
    const m = t.tufMetadata;
    return this.db
      .selectDistinctOn([m.role], { role: m.role, version: m.version, bytes: m.bytes, expires: m.expires })
      .from(m)
      .orderBy(asc(m.role), desc(m.version));
  }
  async getMetadata(role: string, version: number): Promise<MetadataRecord | null> {
    const [row] = await this.db.select().from(t.tufMetadata).where(and(eq(t.tufMetadata.role, role), eq(t.tufMetadata.version, version)));
    return row ?? null;
  }
  async listMetadataVersions(role: string): Promise<MetadataRecord[]> {
    return this.db.select().from(t.tufMetadata).where(eq(t.tufMetadata.role, role)).orderBy(t.tufMetadata.version);
  }
  async getTarget(sha256: string, path: string): Promise<TargetRecord | null> {
    const [row] = await this.db.select().from(t.tufTargets).where(and(eq(t.tufTargets.sha256, sha256), eq(t.tufTargets.path, path)));
    return row ?? null;
  }
  /** Stores root metadata outside a publish (init and root rotation). */
  async putRoot(rec: MetadataRecord, publishedAt: string): Promise<void> {
    await this.db.insert(t.tufMetadata).values({ ...rec, publishedAt });
  }

  /**
   * One publish, atomically: new documents, targets and metadata land together, and the dirty
   * marks it consumed are cleared. Throws CONFLICT if another publish landed first.
   */
  async commitPublish(c: PublishCommit): Promise<void> {
    await this.transaction(async () => {
      // Replicas may publish at once (issue 11): the lock orders them, and the timestamp is read
      // after it, so the second one on the same base sees the first one's version and gets
      // CONFLICT. (role, version) is the key besides: never two metadata with one version.
      await this.#lock('publish');
      const current = (await this.latestMetadata('timestamp'))?.version ?? 0;
      if (current !== c.baseTimestampVersion) {
        throw new KeyshareError(Codes.CONFLICT, `timestamp moved from ${c.baseTimestampVersion} to ${current} during publish`);
      }
      for (const docs of batches(c.docs)) {
        await this.db
          .insert(t.trustDocs)
          .values(docs.map((d) => ({ scope: d.scope, version: d.version, issuedAt: d.issuedAt, digest: d.digest, deleted: d.deleted })))
          .onConflictDoUpdate({
            target: t.trustDocs.scope,
            set: { version: sql`excluded.version`, issuedAt: sql`excluded.issued_at`, digest: sql`excluded.digest`, deleted: sql`excluded.deleted` },
          });
      }
      for (const targets of batches(c.targets)) {
        await this.db
          .insert(t.tufTargets)
          .values(targets.map((tg) => ({ sha256: tg.sha256, path: tg.path, bytes: tg.bytes, publishedAt: c.publishedAt })))
          // A file published again (trusted_root.json may return to earlier bytes) is current again: pruneSuperseded goes by publishedAt.
          .onConflictDoUpdate({ target: [t.tufTargets.sha256, t.tufTargets.path], set: { publishedAt: sql`excluded.published_at` } });
      }
      for (const metadata of batches(c.metadata)) {
        await this.db.insert(t.tufMetadata).values(metadata.map((m) => ({ role: m.role, version: m.version, bytes: m.bytes, expires: m.expires, publishedAt: c.publishedAt })));
      }
      // Issue 21: the documents this publish changed, kept for diffs between any two versions.
      for (const rows of batches(historyRows(c))) await this.db.insert(t.trustHistory).values(rows);
      // A mark a writer re-makes meanwhile survives: the DELETE waits for its row lock and then re-checks seq.
      const keep = c.keepDirty ?? [];
      const consumed = lte(t.dirty.seq, c.upToSeq);
      await this.db.delete(t.dirty).where(keep.length ? and(consumed, sql`not ${anyOf(t.dirty.scope, keep)}`) : consumed);
      // Issue 23: the transparency log appends inside the same transaction (port.ts onPublishCommit).
      if (this.publishHook) await this.publishHook(c);
    });
  }

  private publishHook: PublishHook | null = null;
  onPublishCommit(hook: PublishHook | null): void {
    this.publishHook = hook;
  }

  // ---- transparency log ----
  async logSize(): Promise<number> {
    const [row] = await this.db.select({ n: sql<string | null>`max(${t.logEntries.idx})` }).from(t.logEntries);
    return row?.n === null || row?.n === undefined ? 0 : Number(row.n) + 1;
  }
  async appendLogEntry(a: LogAppend): Promise<void> {
    await this.transaction(async () => {
      // Under the publish lock: appends happen in publish order, one at a time.
      await this.#lock('publish');
      const size = await this.logSize();
      if (a.index !== size) throw new KeyshareError(Codes.CONFLICT, `the log has ${size} entries: entry ${a.index} cannot be appended`);
      await this.db.insert(t.logEntries).values({ idx: a.index, data: a.data, timestampVersion: a.timestampVersion });
      for (const nodes of batches(a.nodes)) await this.db.insert(t.logNodes).values(nodes.map((n) => ({ level: n.level, idx: n.index, hash: Buffer.from(n.hash) })));
    });
  }
  async getLogNodes(ids: { level: number; index: number }[]): Promise<Map<string, Buffer>> {
    const out = new Map<string, Buffer>();
    const byLevel = new Map<number, number[]>();
    for (const id of ids) byLevel.set(id.level, [...(byLevel.get(id.level) ?? []), id.index]);
    for (const [level, indices] of byLevel) {
      const rows = await this.db.select().from(t.logNodes).where(and(eq(t.logNodes.level, level), sql`${t.logNodes.idx} = any(${sql.param(indices)}::bigint[])`));
      for (const r of rows) out.set(`${r.level}/${r.idx}`, r.hash);
    }
    return out;
  }
  async listLogEntries(from: number, to: number): Promise<Buffer[]> {
    const rows = await this.db.select({ data: t.logEntries.data }).from(t.logEntries).where(and(gte(t.logEntries.idx, from), lt(t.logEntries.idx, to))).orderBy(asc(t.logEntries.idx));
    return rows.map((r) => r.data);
  }
  async findLogEntry(timestampVersion: number): Promise<number | null> {
    const [row] = await this.db.select({ idx: t.logEntries.idx }).from(t.logEntries).where(eq(t.logEntries.timestampVersion, timestampVersion));
    return row?.idx ?? null;
  }

  /**
   * Garbage-collects what no client can still need: a non-root metadata version, or a target
   * file, whose successor was published before `before` (the grace period lets a client that
   * read the previous timestamp finish its update). Root versions are kept forever. No lock:
   * it only deletes, and a concurrent prune waits for the same rows and then skips them.
   */
  async pruneSuperseded(before: string): Promise<{ metadata: number; targets: number }> {
    return this.transaction(async () => {
      const metadata = await this.db.execute(
        sql`DELETE FROM tuf_metadata WHERE role <> 'root' AND EXISTS (
              SELECT 1 FROM tuf_metadata n WHERE n.role = tuf_metadata.role AND n.version > tuf_metadata.version AND n.published_at < ${before})`,
      );
      const targets = await this.db.execute(
        sql`DELETE FROM tuf_targets WHERE EXISTS (
              SELECT 1 FROM tuf_targets n WHERE n.path = tuf_targets.path AND n.published_at > tuf_targets.published_at AND n.published_at < ${before})`,
      );
      return { metadata: metadata.rowCount ?? 0, targets: targets.rowCount ?? 0 };
    });
  }

  // ---- tokens ----
  async addToken(rec: TokenRecord): Promise<void> {
    await this.db.insert(t.tokens).values(rec);
  }
  async getToken(id: string): Promise<TokenRecord | null> {
    const [row] = await this.db.select().from(t.tokens).where(eq(t.tokens.id, id));
    return row ?? null;
  }
  async listTokens(): Promise<TokenRecord[]> {
    return this.db.select().from(t.tokens).orderBy(t.tokens.createdAt);
  }
  async revokeToken(id: string, at: string): Promise<boolean> {
    return changed(await this.db.update(t.tokens).set({ revokedAt: at }).where(eq(t.tokens.id, id)));
  }

  // ---- signing authorities ----
  async listCas(): Promise<CaRecord[]> {
    return (await this.db.select().from(t.cas).orderBy(t.cas.name)) as CaRecord[];
  }
  async getCa(name: string): Promise<CaRecord | null> {
    const [row] = await this.db.select().from(t.cas).where(eq(t.cas.name, name));
    return (row as CaRecord | undefined) ?? null;
  }
  async addCa(rec: CaRecord): Promise<void> {
    const inserted = await this.db.insert(t.cas).values(rec).onConflictDoNothing().returning({ name: t.cas.name });
    if (inserted.length === 0) throw new KeyshareError('CA_EXISTS', `a signing authority named ${rec.name} exists`);
  }

  // ---- operations views (web console, metrics): read-only summaries ----
  /** Every stored CRL without its DER: issuer, number, thisUpdate, nextUpdate and fetch state. */
  async crlSummaries(): Promise<CrlSummary[]> {
    const c = t.crls;
    return this.db
      .select({ issuer: c.issuer, crlNumber: c.crlNumber, thisUpdate: c.thisUpdate, nextUpdate: c.nextUpdate, url: c.url, lastFetchAt: c.lastFetchAt, lastError: c.lastError, updatedAt: c.updatedAt })
      .from(c)
      .orderBy(c.issuer);
  }
  /** Every upstream's sync state, without its pinned root or files. */
  async upstreamSummaries(): Promise<UpstreamSummary[]> {
    const u = t.upstreams;
    return this.db
      .select({ name: u.name, url: u.url, mode: u.mode, scopes: u.scopes, timestampVersion: u.timestampVersion, lastSuccessAt: u.lastSuccessAt, lastError: u.lastError, createdAt: u.createdAt })
      .from(u)
      .orderBy(u.name);
  }

  // ---- upstreams and their files (mirror mode: served byte for byte under /mirrors/{name}/tuf/) ----
  async getUpstream(name: string): Promise<UpstreamRecord | null> {
    const [row] = await this.db.select().from(t.upstreams).where(eq(t.upstreams.name, name));
    return row ?? null;
  }
  /** Inserts or replaces an upstream row. */
  async putUpstream(rec: UpstreamRecord): Promise<void> {
    await this.db.insert(t.upstreams).values(rec).onConflictDoUpdate({ target: t.upstreams.name, set: rec });
  }
  /** Replaces every file of an upstream (paths relative to its repository, e.g. `1.root.json`). */
  async replaceUpstreamFiles(upstream: string, files: Iterable<{ path: string; bytes: Buffer }>): Promise<void> {
    await this.transaction(async () => {
      // Two syncs of one upstream at once would insert the same paths: one at a time.
      await this.#lock(`upstream:${upstream}`);
      await this.db.delete(t.upstreamFiles).where(eq(t.upstreamFiles.upstream, upstream));
      for (const batch of batches(files)) {
        await this.db.insert(t.upstreamFiles).values(batch.map((f) => ({ upstream, path: f.path, bytes: f.bytes })));
      }
    });
  }
  async getUpstreamFile(upstream: string, path: string): Promise<Buffer | null> {
    const [row] = await this.db
      .select({ bytes: t.upstreamFiles.bytes })
      .from(t.upstreamFiles)
      .where(and(eq(t.upstreamFiles.upstream, upstream), eq(t.upstreamFiles.path, path)));
    return row?.bytes ?? null;
  }
  /** Every file of an upstream, in path order. */
  async listUpstreamFiles(upstream: string): Promise<{ path: string; bytes: Buffer }[]> {
    const f = t.upstreamFiles;
    return this.db.select({ path: f.path, bytes: f.bytes }).from(f).where(eq(f.upstream, upstream)).orderBy(f.path);
  }
  async countUpstreamFiles(upstream: string): Promise<number> {
    return this.db.$count(t.upstreamFiles, eq(t.upstreamFiles.upstream, upstream));
  }
  /** Every upstream row, pinned roots and state included (sync/upstream). */
  async listUpstreams(): Promise<UpstreamRecord[]> {
    return this.db.select().from(t.upstreams).orderBy(t.upstreams.name);
  }
  /** Records the outcome of a sync without touching the rest of the row; false when the row is gone. */
  async updateUpstreamStatus(
    name: string,
    status: Partial<Pick<UpstreamRecord, 'state' | 'timestampVersion' | 'lastSuccessAt' | 'lastError' | 'root'>>,
  ): Promise<boolean> {
    if (Object.keys(status).length === 0) return (await this.getUpstream(name)) !== null;
    return changed(await this.db.update(t.upstreams).set(status).where(eq(t.upstreams.name, name)));
  }
  /** Removes an upstream row and its files; false when there was none. */
  async deleteUpstream(name: string): Promise<boolean> {
    return this.transaction(async () => {
      await this.#lock(`upstream:${name}`); // as replaceUpstreamFiles: no files land after the delete
      await this.db.delete(t.upstreamFiles).where(eq(t.upstreamFiles.upstream, name));
      return changed(await this.db.delete(t.upstreams).where(eq(t.upstreams.name, name)));
    });
  }

  // ---- local blocks of upstream anchors (federation): the anchor is left out of the scope's trust here ----
  async listAnchorBlocks(scope?: string): Promise<{ scope: string; anchorId: string; createdAt: string }[]> {
    const b = t.anchorBlocks;
    const q = this.db.select().from(b);
    return (scope === undefined ? q : q.where(eq(b.scope, scope))).orderBy(b.scope, b.anchorId);
  }
  /** Blocks an anchor ID at a scope; false when it was already blocked there (idempotent). */
  async addAnchorBlock(scope: string, anchorId: string, now: Date): Promise<boolean> {
    return this.#write(async () => {
      await this.requireScope(scope);
      const added = changed(await this.db.insert(t.anchorBlocks).values({ scope, anchorId, createdAt: now.toISOString() }).onConflictDoNothing());
      if (added) await this.#markDirty(scope);
      return added;
    });
  }
  /** Lifts a block; false when there was none. */
  async removeAnchorBlock(scope: string, anchorId: string): Promise<boolean> {
    return this.#write(async () => {
      const removed = changed(await this.db.delete(t.anchorBlocks).where(and(eq(t.anchorBlocks.scope, scope), eq(t.anchorBlocks.anchorId, anchorId))));
      if (removed) await this.#markDirty(scope);
      return removed;
    });
  }

  /** For tests and diagnostics: row counts. */
  async count(table: 'scopes' | 'anchors' | 'revocations' | 'tuf_metadata' | 'tuf_targets' | 'clients' | 'trust_history'): Promise<number> {
    const { rows } = await this.db.execute<{ n: number }>(sql`SELECT COUNT(*)::int AS n FROM ${sql.identifier(table)}`);
    return rows[0]!.n;
  }

  // ---- issue 21: trust history and client reports ----
  async trustHistoryAt(version: number): Promise<TrustHistoryRecord[]> {
    const { rows } = await this.db.execute<{ version: string | number; scope: string; document: Buffer | null; publishedAt: string }>(
      sql`SELECT h.version, h.scope, h.document, h.published_at AS "publishedAt" FROM trust_history h
          WHERE h.version = (SELECT MAX(n.version) FROM trust_history n WHERE n.scope = h.scope AND n.version <= ${version})
          ORDER BY h.scope`,
    );
    return rows.map((r) => ({ ...r, version: Number(r.version) }));
  }
  async listTrustHistory(q: { after: number; upTo: number; limit: number; scope?: string }): Promise<TrustHistoryRecord[]> {
    return this.db
      .select()
      .from(t.trustHistory)
      .where(and(gt(t.trustHistory.version, q.after), lte(t.trustHistory.version, q.upTo), q.scope === undefined ? undefined : eq(t.trustHistory.scope, q.scope)))
      .orderBy(t.trustHistory.version, t.trustHistory.scope)
      .limit(q.limit);
  }
  async putClientReport(rec: ClientRecord, limits: ClientLimits): Promise<boolean> {
    // A flood of new clients past the cap is refused by reads alone (checked again below, under the lock).
    if (!(await this.#clientRoom(rec.clientId, limits))) return false;
    return this.transaction(async () => {
      // One reporter at a time, so that concurrent new clients cannot pass the cap together.
      await this.#lock('clients');
      await this.db.delete(t.clients).where(lt(t.clients.reportedAt, limits.expireBefore));
      if (!(await this.#clientRoom(rec.clientId, limits))) return false;
      const { clientId, ...rest } = rec;
      await this.db.insert(t.clients).values(rec).onConflictDoUpdate({ target: t.clients.clientId, set: rest });
      return true;
    });
  }
  /** Whether `clientId` may report: a known client always, a new one while there is room (expired ones count as room). */
  async #clientRoom(clientId: string, limits: ClientLimits): Promise<boolean> {
    const [known] = await this.db.select({ id: t.clients.clientId }).from(t.clients).where(eq(t.clients.clientId, clientId));
    return Boolean(known) || (await this.db.$count(t.clients, gte(t.clients.reportedAt, limits.expireBefore))) < limits.cap;
  }
  async listClients(since: string): Promise<ClientRecord[]> {
    return this.db.select().from(t.clients).where(gte(t.clients.reportedAt, since)).orderBy(t.clients.clientId);
  }

  // ---- audit (hash-chained; see service/audit/chain.ts) ----
  /**
   * Appends one entry: `link` gets the current head and returns the linked entry. Runs inside
   * the caller's transaction when there is one (the change and its entry land together), and
   * never shows itself to the observer.
   */
  async appendAudit(link: (head: AuditHead | null) => AuditRecord): Promise<AuditRecord> {
    return this.#run(async () => {
      // Replicas append at once: the lock makes read-head-then-insert one step, so the chain never forks.
      await this.#lock('audit');
      const entry = link((await this.auditHead()) ?? (await this.#lastAuditRow()));
      await this.db.insert(t.audit).values(entry);
      await this.setMeta('audit_head', JSON.stringify({ seq: entry.seq, hash: entry.hash }));
      return entry;
    }, false);
  }
  /** The head recorded with the last append (null before the first). */
  async auditHead(): Promise<AuditHead | null> {
    const v = await this.getMeta('audit_head');
    return v ? (JSON.parse(v) as AuditHead) : null;
  }
  async #lastAuditRow(): Promise<AuditHead | null> {
    const [row] = await this.db.select({ seq: t.audit.seq, hash: t.audit.hash }).from(t.audit).orderBy(desc(t.audit.seq)).limit(1);
    return row ?? null;
  }
  /** Entries in seq order: after `afterSeq`, at or after `since` (ISO time), at most `limit`. */
  async listAudit(q: { afterSeq?: number; since?: string; limit: number }): Promise<AuditRecord[]> {
    const where = and(q.afterSeq !== undefined ? gt(t.audit.seq, q.afterSeq) : undefined, q.since !== undefined ? gte(t.audit.at, q.since) : undefined);
    return this.db.select().from(t.audit).where(where).orderBy(t.audit.seq).limit(q.limit);
  }
}

/** `column = ANY($1)`: one array parameter for any number of values (PostgreSQL binds at most 65535). */
function anyOf(column: SQLWrapper, values: string[]): SQL {
  return sql`${column} = any(${sql.param(values)}::text[])`;
}

/** Whether an UPDATE/DELETE/INSERT touched a row. */
function changed(result: { rowCount: number | null }): boolean {
  return (result.rowCount ?? 0) > 0;
}

function* batches<T>(items: Iterable<T>): Generator<T[]> {
  let batch: T[] = [];
  for (const item of items) {
    batch.push(item);
    if (batch.length === BATCH) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length) yield batch;
}

function scopeNotFound(scope: string): KeyshareError {
  return new KeyshareError(Codes.SCOPE_NOT_FOUND, `scope ${JSON.stringify(scope)} is not defined`);
}

/**
 * An error as the database's own, never drizzle's wrapper: DrizzleQueryError's message holds
 * the SQL and every parameter (metadata bytes, token hashes), and logs must carry neither
 * (STYLE.md "Errors": never leak SQL). PostgreSQL's `detail` and `where` can quote row values
 * too, so only the message and the fields that name the failure (SQLSTATE code, constraint,
 * table, column) are kept.
 */
function databaseError(e: unknown): unknown {
  const cause = e instanceof DrizzleQueryError ? (e.cause ?? new Error('a database query failed')) : e;
  if (!(cause instanceof pg.DatabaseError)) return cause;
  // PostgreSQL text cannot hold U+0000 (SQLite's can): input with it is the client's error, not a 500.
  if (cause.code === '22021' && /0x00/.test(cause.message)) {
    return new KeyshareError(Codes.BAD_REQUEST, 'text with a NUL character (U+0000), which the database cannot store');
  }
  const clean = new Error(cause.message);
  clean.name = 'DatabaseError';
  return Object.assign(clean, { code: cause.code, constraint: cause.constraint, table: cause.table, column: cause.column });
}
