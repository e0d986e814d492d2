/**
 * The PostgreSQL dialect's shared machinery: transactions (the frames of ../port.ts's rules),
 * advisory locks, settings (meta) and dirty marks. Each concern's records (./trust.ts,
 * ./repository.ts, ...) run their queries through it; ./store.ts composes them.
 *
 * Transactions: an outermost `transaction(fn)` takes a pool connection of its own, and an
 * AsyncLocalStorage makes every store call in fn's async context use it; a nested one is a
 * SAVEPOINT. Outside a transaction each call is one autocommit statement on the pool.
 *
 * Concurrency. SQLite has one writer at a time (BEGIN IMMEDIATE), so check-then-write needed
 * no care there. Here transactions run at READ COMMITTED side by side, in this process and in
 * other replicas, so every write that reads before it writes takes a transaction-scoped
 * advisory lock first (`lock()`, held to COMMIT):
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
import pg from 'pg';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import { and, DrizzleQueryError, eq, sql, type SQL, type SQLWrapper } from 'drizzle-orm';
import * as t from './schema.js';
import { advisoryKey } from './lease.js';
import { KeyshareError, Codes } from '../../errors.js';
import { Mutex } from '../../util/mutex.js';
import { dirtyKeys, type TrustChange } from '../../domain/dirty.js';
import type { ChangeRecords } from '../ports/changes.js';
import type { Transactions } from '../port.js';
import type { TransactionObserver } from '../types.js';

export type Db = NodePgDatabase<typeof t>;

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
  /** Advisory locks taken in this frame (lock()): held to COMMIT, or dropped by a ROLLBACK TO its savepoint. */
  readonly locks: Set<string>;
  /** The transaction's change seqs (markDirty): one object for the transaction and its savepoints. */
  readonly seqs: ChangeSeqs;
}

/**
 * The change seq within one transaction: `last` given to a mark, `stored` in the change_seq row.
 * Marks after the first count in memory, and the row is written once before COMMIT (or when
 * read): one update per mark made a transaction of 10,000 marks walk the row's ever longer chain
 * of versions that transaction made (not prunable while it is open), quadratic
 * (test/service/repo/publisher.test.ts took minutes on PostgreSQL).
 */
interface ChangeSeqs {
  last: number | null;
  stored: number | null;
}

/** Rows per INSERT: PostgreSQL binds at most 65535 parameters per statement. */
const BATCH = 500;

/** Methods that manage frames themselves rather than run in one (inFrames leaves them alone). */
const FRAME_METHODS = new Set(['constructor', 'onPublishCommit']);

/**
 * Makes every public method of a part (or those named) run through its core's `call` (port.ts:
 * in a transaction, a call waits while a nested transaction holds the frame; a query's error
 * leaves as the database's own).
 */
export function inFrames(cls: { prototype: object }, names?: string[]): void {
  for (const name of names ?? Object.getOwnPropertyNames(cls.prototype)) {
    const d = Object.getOwnPropertyDescriptor(cls.prototype, name)!;
    if (FRAME_METHODS.has(name) || typeof d.value !== 'function') continue;
    const method = d.value as (...args: unknown[]) => Promise<unknown>;
    d.value = function (this: PgCore | { c: PgCore }, ...args: unknown[]) {
      const core = this instanceof PgCore ? this : this.c;
      return core.call(() => method.apply(this, args));
    };
    Object.defineProperty(cls.prototype, name, d);
  }
}

export class PgCore implements ChangeRecords {
  private readonly rootFrame: Frame = { tx: null, lock: new Mutex(), parent: null, depth: 0, open: true, locks: new Set(), seqs: { last: null, stored: null } };
  private readonly frames = new AsyncLocalStorage<Frame>();
  private observer: TransactionObserver | null = null;
  static {
    inFrames(PgCore, ['getMeta', 'setMeta', 'swapMeta', 'listDirty', 'changeSeq', 'count']);
  }

  /** `outer`: the composed store, whose `transaction` every write of a concern opens (so that wrapping it wraps them all). */
  constructor(
    private readonly pool: pg.Pool,
    private readonly rootDb: Db,
    readonly outer: Pick<Transactions, 'transaction'>,
  ) {}

  /** The innermost open frame of the caller's async context. */
  #frame(): Frame {
    let f = this.frames.getStore() ?? this.rootFrame;
    while (!f.open) f = f.parent!;
    return f;
  }

  /** The current transaction's connection, or the pool (one autocommit statement per call). */
  get db(): Db {
    return this.#frame().tx?.db ?? this.rootDb;
  }

  /**
   * Every public method runs through here (the static block below). port.ts: in a transaction,
   * a call waits while a nested transaction holds the frame, and then holds it itself, in a
   * frame of its own so that its own savepoints can take it in turn. And a query's error leaves
   * as the database's own error, without SQL or parameters (`databaseError`).
   */
  async call<T>(op: () => Promise<T>): Promise<T> {
    const f = this.#frame();
    try {
      if (!f.tx || f.lock.idle) return await op();
      // Not a savepoint: the locks it takes belong to `f` (#enter hands them up).
      return await f.lock.run(() => this.#enter({ tx: f.tx, lock: new Mutex(), parent: f, depth: f.depth, open: true, locks: f.locks, seqs: f.seqs }, op));
    } catch (e) {
      throw databaseError(e);
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
    return this.run(fn, true);
  }

  async run<T>(fn: () => Promise<T>, observe: boolean): Promise<T> {
    const parent = this.#frame();
    if (parent.tx) return parent.lock.run(() => this.#savepoint(parent, fn));
    const client = await this.pool.connect();
    const frame: Frame = { tx: { client, db: drizzle(client, { schema: t }) }, lock: new Mutex(), parent, depth: 1, open: true, locks: new Set(), seqs: { last: null, stored: null } };
    const observer = observe ? this.observer : null;
    let pending: unknown = null;
    let broken = false;
    try {
      await client.query('BEGIN');
      const result = await this.#enter(frame, async () => {
        pending = observer ? await observer.begin() : null;
        const value = await fn();
        await this.#storeSeq(frame);
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
    const frame: Frame = { tx: parent.tx, lock: new Mutex(), parent, depth: parent.depth + 1, open: true, locks: new Set(), seqs: parent.seqs };
    const seqsBefore = { ...parent.seqs };
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
      // The savepoint's marks and change_seq writes are undone: so are their seqs.
      Object.assign(parent.seqs, seqsBefore);
      throw e;
    }
  }

  /** service/audit installs itself here. */
  observeTransactions(observer: TransactionObserver | null): void {
    this.observer = observer;
  }

  /** A transaction-scoped advisory lock on `name`, held to COMMIT/ROLLBACK (callers run inside a transaction). */
  async lock(name: 'writes' | 'publish' | 'audit' | 'clients' | `upstream:${string}`): Promise<void> {
    const f = this.#frame();
    // Taken once per transaction: a round trip per write counts when one transaction makes thousands (apply).
    for (let g: Frame | null = f; g?.tx; g = g.parent) if (g.locks.has(name)) return;
    await this.db.execute(sql`SELECT pg_advisory_xact_lock(${advisoryKey(`keyshare:${name}`)}::bigint)`);
    f.locks.add(name);
  }

  /** A transaction that changes trust (it marks dirty): under the `writes` lock, one at a time. */
  write<T>(fn: () => Promise<T>): Promise<T> {
    return this.outer.transaction(async () => {
      await this.lock('writes');
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
  async markChanged(change: TrustChange): Promise<void> {
    await this.markChangedMany([change]);
  }
  /**
   * The marks of many changes. In a transaction, after the first mark has taken the seq row
   * (ChangeSeqs), the rest go in one statement, each with the next seq (bench B4: an apply marks
   * every scope it touches).
   */
  async markChangedMany(changes: Iterable<TrustChange>): Promise<void> {
    // The rule of which keys a change marks is the domain's (service/domain/dirty.ts).
    const keys = new Set<string>();
    for (const change of changes) for (const key of dirtyKeys(change)) keys.add(key);
    const [first, ...rest] = keys;
    if (first === undefined) return;
    await this.#markDirty(first);
    const { seqs, tx } = this.#frame();
    if (!tx || seqs.last === null) {
      for (const key of rest) await this.#markDirty(key);
      return;
    }
    if (rest.length === 0) return;
    const base = seqs.last;
    seqs.last += rest.length;
    await this.db.execute(sql`
      INSERT INTO dirty (scope, seq) SELECT k, ${base}::bigint + n FROM unnest(${sql.param(rest)}::text[]) WITH ORDINALITY AS u(k, n)
      ON CONFLICT (scope) DO UPDATE SET seq = excluded.seq`);
  }
  async #markDirty(scope: string): Promise<void> {
    const { seqs, tx } = this.#frame();
    if (tx && seqs.last !== null) {
      // The transaction's change_seq row is locked (its first mark updated it): count here (ChangeSeqs).
      await this.db.execute(sql`INSERT INTO dirty (scope, seq) VALUES (${scope}, ${++seqs.last}) ON CONFLICT (scope) DO UPDATE SET seq = excluded.seq`);
      return;
    }
    // One statement (a round trip per mark counts: an apply marks every scope it touches).
    const { rows } = await this.db.execute<{ seq: string }>(sql`
      WITH next AS (
        INSERT INTO meta (key, value) VALUES ('change_seq', '1')
        ON CONFLICT (key) DO UPDATE SET value = (meta.value::bigint + 1)::text
        RETURNING value::bigint AS seq)
      INSERT INTO dirty (scope, seq) SELECT ${scope}, seq FROM next
      ON CONFLICT (scope) DO UPDATE SET seq = excluded.seq
      RETURNING seq`);
    if (tx) seqs.last = seqs.stored = Number(rows[0]!.seq);
  }
  /** Writes the transaction's last seq to change_seq, if marks after the first counted past it (ChangeSeqs). */
  async #storeSeq(frame: Frame): Promise<void> {
    const { seqs } = frame;
    if (seqs.last === null || seqs.last === seqs.stored) return;
    await this.frames.run(frame, () => this.setMeta('change_seq', String(seqs.last)));
    seqs.stored = seqs.last;
  }
  async listDirty(): Promise<{ scope: string; seq: number }[]> {
    return this.db.select().from(t.dirty);
  }
  async changeSeq(): Promise<number> {
    const f = this.#frame();
    if (f.tx) await this.#storeSeq(f);
    return Number((await this.getMeta('change_seq')) ?? '0');
  }

  async count(table: 'scopes' | 'anchors' | 'revocations' | 'tuf_metadata' | 'tuf_targets' | 'clients' | 'trust_history'): Promise<number> {
    const { rows } = await this.db.execute<{ n: number }>(sql`SELECT COUNT(*)::int AS n FROM ${sql.identifier(table)}`);
    return rows[0]!.n;
  }
}

/** `column = ANY($1)`: one array parameter for any number of values (PostgreSQL binds at most 65535). */
export function anyOf(column: SQLWrapper, values: string[]): SQL {
  return sql`${column} = any(${sql.param(values)}::text[])`;
}

/** Whether an UPDATE/DELETE/INSERT touched a row. */
export function changed(result: { rowCount: number | null }): boolean {
  return (result.rowCount ?? 0) > 0;
}

export function* batches<T>(items: Iterable<T>, size = BATCH): Generator<T[]> {
  let batch: T[] = [];
  for (const item of items) {
    batch.push(item);
    if (batch.length === size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length) yield batch;
}

export function scopeNotFound(scope: string): KeyshareError {
  return new KeyshareError(Codes.SCOPE_NOT_FOUND, `scope ${JSON.stringify(scope)} is not defined`);
}

/**
 * An error as the database's own, never drizzle's wrapper: DrizzleQueryError's message holds
 * the SQL and every parameter (metadata bytes, token hashes), and logs must carry neither
 * (STYLE.md "Errors": never leak SQL). PostgreSQL's `detail` and `where` can quote row values
 * too, so only the message and the fields that name the failure (SQLSTATE code, constraint,
 * table, column) are kept.
 */
export function databaseError(e: unknown): unknown {
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