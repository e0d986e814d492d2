/**
 * The store over the embedded SQLite database (drizzle over better-sqlite3, WAL mode): the
 * SQLite dialect of the store port (./port.ts, which states the transaction rules this follows).
 * Each public write is atomic; `transaction(fn)` groups several into one. Writes that change a
 * scope's effective trust mark it dirty for the publisher.
 *
 * One class per concern (./sqlite/: trust, crls, repository, log, tokens, cas, upstreams,
 * rollout, audit) over one shared core (./sqlite/core.ts: transactions, meta, dirty marks);
 * this class composes them and adds what only SQLite has (backup, integrity checks).
 */
import Database from 'better-sqlite3';
import { ensurePrivateFile } from '../util/private-files.js';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { join } from 'node:path';
import * as t from './schema.js';
import { packageRoot } from '../util/paths.js';
import type { Records, Store } from './port.js';
import type { TransactionObserver } from './types.js';
import { exposeParts } from './compose.js';
import { SqliteCore } from './sqlite/core.js';
import { SqliteTrust } from './sqlite/trust.js';
import { SqliteCrls } from './sqlite/crls.js';
import { SqliteRepository } from './sqlite/repository.js';
import { SqliteLog } from './sqlite/log.js';
import { SqliteTokens } from './sqlite/tokens.js';
import { SqliteCas } from './sqlite/cas.js';
import { SqliteUpstreams } from './sqlite/upstreams.js';
import { SqliteRollout } from './sqlite/rollout.js';
import { SqliteAudit } from './sqlite/audit.js';

/**
 * The page size of a new database file (bench B9, issue 17 twelfth round): a parent change writes
 * every governed document's pages to the WAL at its COMMIT (about 100 MB at 100k scopes), two
 * write calls and a checksum a page. With 16 KiB pages the store's commit took 1,025 → 723 ms of
 * CPU at 100k and 109 → 69 ms at 10k (bench/b9-phases.mjs); a one-scope write's CPU stayed within
 * 1 ms (bench/b10-service-ab.mjs), and the page cache the same in bytes (B8). Files created before
 * keep theirs (SQLite changes it only by a VACUUM out of WAL mode).
 */
const PAGE_SIZE = 16384;

// The concerns' methods, put on each instance by exposeParts (each part `implements` its port).
export interface SqliteStore extends Records {}

export class SqliteStore implements Store {
  readonly dialect = 'sqlite' as const;
  private readonly core: SqliteCore;

  private constructor(private readonly sqlite: Database.Database, db: BetterSQLite3Database<typeof t>) {
    const core = (this.core = new SqliteCore(sqlite, db, this));
    exposeParts(this, core, [
      new SqliteTrust(core),
      new SqliteCrls(core),
      new SqliteRepository(core),
      new SqliteLog(core),
      new SqliteTokens(core),
      new SqliteCas(core),
      new SqliteUpstreams(core),
      new SqliteRollout(core),
      new SqliteAudit(core),
    ]);
  }

  /** Opens (or creates) the database and applies pending migrations. */
  static open(file: string): SqliteStore {
    // 0600 whatever the umask; SQLite gives its -wal and -shm files the same mode (issue 16, finding 8).
    if (file !== ':memory:') ensurePrivateFile(file);
    const sqlite = new Database(file);
    // Set before WAL mode creates the file: a no-op on an existing one, which keeps its page size.
    sqlite.pragma(`page_size = ${PAGE_SIZE}`);
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

  /** The checkpoint thread first (./sqlite/checkpoint.ts): this connection, closed last, checkpoints the WAL and removes it. */
  async close(): Promise<void> {
    await this.core.checkpoints?.close();
    return this.core.call(() => {
      this.sqlite.close();
    });
  }

  /** Runs `fn` in one transaction (port.ts): BEGIN IMMEDIATE (other processes may write the file), a nested one a SAVEPOINT. */
  transaction<T>(fn: () => Promise<T>): Promise<T> {
    return this.core.transaction(fn);
  }

  observeTransactions(observer: TransactionObserver | null): void {
    this.core.observeTransactions(observer);
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

  /** Exposed for the few callers that need a raw statement in tests (e.g. tampering). */
  rawForTests(): Database.Database {
    return this.sqlite;
  }
}
