/**
 * The store's PostgreSQL dialect (issue 11): the store port (../port.ts, with the transaction
 * rules this follows) over a PostgreSQL database that several replicas (processes) may share.
 * The same records and semantics as the SQLite dialect (../sqlite.ts), method for method.
 *
 * One class per concern (./trust.ts, ./crls.ts, ./repository.ts, ./log.ts, ./tokens.ts,
 * ./cas.ts, ./upstreams.ts, ./rollout.ts, ./audit.ts) over one shared core (./core.ts:
 * transactions, advisory locks, meta, dirty marks, and the concurrency rules); this class
 * opens the database and composes them.
 */
import { join } from 'node:path';
import pg from 'pg';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import * as t from './schema.js';
import { advisoryKey } from './lease.js';
import { KeyshareError, Codes } from '../../errors.js';
import { packageRoot } from '../../util/paths.js';
import type { Records, Store } from '../port.js';
import type { TransactionObserver } from '../types.js';
import { exposeParts } from '../compose.js';
import { PgCore, databaseError, type Db } from './core.js';
import { PgTrust } from './trust.js';
import { PgCrls } from './crls.js';
import { PgRepository } from './repository.js';
import { PgLog } from './log.js';
import { PgTokens } from './tokens.js';
import { PgCas } from './cas.js';
import { PgUpstreams } from './upstreams.js';
import { PgRollout } from './rollout.js';
import { PgAudit } from './audit.js';

// The concerns' methods, put on each instance by exposeParts (each part `implements` its port).
export interface PgStore extends Records {}

export class PgStore implements Store {
  readonly dialect = 'postgres' as const;
  private readonly core: PgCore;

  private constructor(
    private readonly pool: pg.Pool,
    rootDb: Db,
  ) {
    const core = (this.core = new PgCore(pool, rootDb, this));
    exposeParts(this, core, [
      new PgTrust(core),
      new PgCrls(core),
      new PgRepository(core),
      new PgLog(core),
      new PgTokens(core),
      new PgCas(core),
      new PgUpstreams(core),
      new PgRollout(core),
      new PgAudit(core),
    ]);
  }

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

  /** port.ts: the outermost transaction on a pool connection of its own (READ COMMITTED, the server's default: locks are explicit), a nested one a SAVEPOINT. */
  transaction<T>(fn: () => Promise<T>): Promise<T> {
    return this.core.transaction(fn);
  }

  /** service/audit installs itself here. */
  observeTransactions(observer: TransactionObserver | null): void {
    this.core.observeTransactions(observer);
  }
}
