/**
 * The store port: the one interface the service, sync and CLI use, whatever the database (issue
 * 11: "one domain and one store interface, with a dialect per backend"). ./sqlite.ts implements
 * it over the embedded SQLite database, ./pg/ over PostgreSQL. Every method returns a Promise.
 *
 * Transactions (every dialect implements exactly this):
 * - `transaction(fn)` keeps the current transaction in an AsyncLocalStorage: every store call made
 *   within `fn`'s async context, awaited or not, runs inside it. A call made from that context
 *   after the transaction ended runs where it would have run without it.
 * - The outermost transaction is exclusive: nobody else reads its uncommitted writes or writes
 *   into it while `fn` awaits. SQLite (one connection): a mutex serialises outermost
 *   transactions and every call made outside a transaction while one is open; a call made inside
 *   the current transaction never waits for it. PostgreSQL: one pooled connection per
 *   transaction, as the database isolates them.
 * - A nested `transaction(fn)` is a SAVEPOINT: if `fn` throws, ROLLBACK TO it and rethrow; the
 *   enclosing transaction goes on. Nested transactions started concurrently in one transaction
 *   run one after another, as do the plain calls made meanwhile in the enclosing transaction.
 * - If anything throws (fn, the observer, COMMIT), the transaction rolls back: nothing is half
 *   written.
 * - Each public write is atomic on its own (a transaction, or a savepoint of the current one).
 *   Writes that change trust or the published repository are also shown to the observer when
 *   they are the outermost transaction.
 * - Never await, inside a transaction, work that itself waits for the store outside it (a
 *   background publish, another request): with SQLite that work waits for the transaction to end.
 */
import type { TransactionObserver } from './types.js';
import type { AuditRecords } from './ports/audit.js';
import type { CaRecords } from './ports/cas.js';
import type { ChangeRecords } from './ports/changes.js';
import type { CrlRecords } from './ports/crls.js';
import type { LogRecords } from './ports/log.js';
import type { RepositoryRecords } from './ports/repository.js';
import type { RolloutRecords } from './ports/rollout.js';
import type { TokenRecords } from './ports/tokens.js';
import type { TrustRecords } from './ports/trust.js';
import type { UpstreamRecords } from './ports/upstreams.js';

export type { AuditRecords, CaRecords, ChangeRecords, CrlRecords, LogRecords, RepositoryRecords, RolloutRecords, TokenRecords, TrustRecords, UpstreamRecords };

export type Dialect = 'sqlite' | 'postgres';

/** The transactions every concern's writes run in (the rules above). */
export interface Transactions {
  readonly dialect: Dialect;
  close(): Promise<void>;
  /** Runs `fn` in one transaction (see above): all of it lands, or none. */
  transaction<T>(fn: () => Promise<T>): Promise<T>;
  /** Shows every outermost transaction to `observer` (service/audit installs itself here). */
  observeTransactions(observer: TransactionObserver | null): void;
}

/**
 * The whole store: every concern's records (./ports/), one class per dialect implementing them
 * all. A caller that needs one concern takes that port (issue 22 "narrow ports"), e.g.
 * `TokenRecords` for the token service, not `Store`.
 */
export interface Store
  extends Transactions,
    ChangeRecords,
    TrustRecords,
    CrlRecords,
    RepositoryRecords,
    LogRecords,
    TokenRecords,
    CaRecords,
    UpstreamRecords,
    RolloutRecords,
    AuditRecords {}

/** Every concern's records, without the transactions: what a dialect's parts add up to. */
export type Records = Omit<Store, keyof Transactions>;
