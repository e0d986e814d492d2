/**
 * The SQLite dialect's shared machinery: transactions (the frames of ../port.ts's rules),
 * prepared statements, settings (meta), dirty marks and scope lookups. Each concern's records
 * (./trust.ts, ./repository.ts, ...) run their statements through it; ./store.ts composes them.
 *
 * One connection serves the whole process (besides the WAL checkpoint's, which neither reads
 * nor writes rows: ./checkpoint.ts), so the exclusivity of a transaction is ours to keep:
 * statements run synchronously (better-sqlite3), and a Frame's mutex makes whoever is outside a
 * transaction wait while it is open (port.ts).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type Database from 'better-sqlite3';
import type { BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { eq, sql } from 'drizzle-orm';
import * as t from '../schema.js';
import { KeyshareError, Codes } from '../../errors.js';
import { Mutex } from '../../util/mutex.js';
import type { ScopeRecord } from '../../domain/types.js';
import { dirtyKeys, type TrustChange } from '../../domain/dirty.js';
import { toScope } from '../rows.js';
import type { ChangeRecords } from '../ports/changes.js';
import type { Transactions } from '../port.js';
import type { TransactionObserver } from '../types.js';
import { DeferredCheckpoints } from './checkpoint.js';

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

/** A named parameter of a prepared query. */
export const ph = (name: string) => sql.placeholder(name);

export class SqliteCore implements ChangeRecords {
  private readonly root: Frame = { lock: new Mutex(), parent: null, depth: 0, open: true };
  private readonly frames = new AsyncLocalStorage<Frame>();
  private observer: TransactionObserver | null = null;

  /** `outer`: the composed store, whose `transaction` every write of a concern opens (so that wrapping it wraps them all). */
  constructor(
    readonly sqlite: Database.Database,
    readonly db: BetterSQLite3Database<typeof t>,
    readonly outer: Pick<Transactions, 'transaction'>,
  ) {
    this.checkpoints = sqlite.pragma('journal_mode', { simple: true }) === 'wal' ? new DeferredCheckpoints(sqlite, this.root.lock) : null;
  }

  /** WAL checkpoints run after a commit, not inside it (./checkpoint.ts; bench B9). */
  readonly checkpoints: DeferredCheckpoints | null;

  /**
   * Point queries built once and then run many times: building a drizzle query costs more than
   * SQLite takes to run it, and an apply of 100k scopes runs about ten per scope (bench B4).
   */
  private readonly prepared = new Map<string, unknown>();
  prep<T>(key: string, build: () => T): T {
    let q = this.prepared.get(key) as T | undefined;
    if (q === undefined) this.prepared.set(key, (q = build()));
    return q;
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
  call<T>(op: () => T): Promise<T> {
    const f = this.frame();
    if (!f.lock.idle) return f.lock.run(op);
    try {
      return Promise.resolve(op());
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Several statements as one: a savepoint in the current transaction, else a transaction (BEGIN IMMEDIATE) of their own. */
  atomic<T>(body: () => T): Promise<T> {
    return this.call(() => {
      const r = this.#atomically().immediate(body) as T;
      if (!this.sqlite.inTransaction) this.checkpoints?.committed();
      return r;
    });
  }

  /** better-sqlite3's transaction function, made once: it runs the body it is given (each make builds four wrappers; issue 25, B10). */
  #atomic: Database.Transaction<(body: () => unknown) => unknown> | null = null;
  #atomically() {
    return (this.#atomic ??= this.sqlite.transaction((body: () => unknown) => body()));
  }

  /** A control statement (BEGIN, COMMIT, SAVEPOINT...), prepared once rather than compiled by exec each time (issue 25, B10). */
  #control(text: string): void {
    this.prep(`control:${text}`, () => this.sqlite.prepare(text)).run();
  }

  /** A write of trust or repository state: atomic, and shown to the observer when it is the outermost transaction. */
  write<T>(body: () => T): Promise<T> {
    return this.observer && this.frame() === this.root ? this.outer.transaction(async () => body()) : this.atomic(body);
  }

  /** port.ts: the outermost transaction is BEGIN IMMEDIATE (other processes may write the file), a nested one a SAVEPOINT. */
  transaction<T>(fn: () => Promise<T>): Promise<T> {
    const parent = this.frame();
    return parent.lock.run(async () => {
      const frame: Frame = { lock: new Mutex(), parent, depth: parent.depth + 1, open: true };
      const outermost = parent === this.root;
      const savepoint = `ks_${frame.depth}`;
      this.#control(outermost ? 'BEGIN IMMEDIATE' : `SAVEPOINT ${savepoint}`);
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
        this.#control(outermost ? 'COMMIT' : `RELEASE ${savepoint}`);
        if (outermost) this.checkpoints?.committed();
        if (pending !== null) observer!.end?.(pending, true);
        return result;
      } catch (e) {
        frame.open = false;
        if (outermost) {
          if (this.sqlite.inTransaction) this.#control('ROLLBACK TRANSACTION');
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
  getMetaSync(key: string): string | null {
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
  setMetaSync(key: string, value: string): void {
    this.prep('setMeta', () =>
      this.db.insert(t.meta).values({ key: ph('key'), value: ph('value') }).onConflictDoUpdate({ target: t.meta.key, set: { value: sql`excluded.value` } }).prepare(),
    ).run({ key, value });
  }

  // ---- change tracking ----
  /** Marks the keys a change makes dirty (service/domain/dirty.ts) for the publisher. */
  markChanged(change: TrustChange): void {
    this.markChangedMany([change]);
  }
  /** Marks the keys of many changes, each with the next change seq; the seq is read and written once (bench B4). */
  markChangedMany(changes: Iterable<TrustChange>): void {
    const keys = new Set<string>();
    for (const change of changes) for (const key of dirtyKeys(change)) keys.add(key);
    if (keys.size === 0) return;
    let seq = Number(this.getMetaSync('change_seq') ?? '0');
    const mark = this.prep('markDirty', () =>
      this.db.insert(t.dirty).values({ scope: ph('scope'), seq: ph('seq') }).onConflictDoUpdate({ target: t.dirty.scope, set: { seq: sql`excluded.seq` } }).prepare(),
    );
    for (const scope of keys) mark.run({ scope, seq: ++seq });
    this.setMetaSync('change_seq', String(seq));
  }
  listDirty(): Promise<{ scope: string; seq: number }[]> {
    return this.call(() => this.prep('listDirty', () => this.db.select().from(t.dirty).prepare()).all());
  }
  changeSeq(): Promise<number> {
    return this.call(() => Number(this.getMetaSync('change_seq') ?? '0'));
  }

  /** For tests and diagnostics: row counts. */
  count(table: 'scopes' | 'anchors' | 'revocations' | 'tuf_metadata' | 'tuf_targets' | 'clients' | 'trust_history'): Promise<number> {
    return this.call(() => (this.sqlite.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n);
  }

  // ---- scope lookups inside a statement (trust writes check their scope) ----
  getScopeSync(scope: string): ScopeRecord | null {
    const row = this.prep('getScope', () => this.db.select().from(t.scopes).where(eq(t.scopes.scope, ph('scope'))).prepare()).get({ scope });
    return row ? toScope(row) : null;
  }
  requireScopeSync(scope: string): ScopeRecord {
    const s = this.getScopeSync(scope);
    if (!s) throw new KeyshareError(Codes.SCOPE_NOT_FOUND, `scope ${JSON.stringify(scope)} is not defined`);
    return s;
  }
}
