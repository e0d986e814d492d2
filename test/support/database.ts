/**
 * Which database the test run uses (README, "Tests"): SQLite, the embedded default, or with
 * KEYSHARE_TEST_DATABASE=postgres, PostgreSQL: one throw-away cluster for the whole run
 * (./postgres-global.ts, the vitest global setup) and a fresh database per data dir, named as
 * `database:` in the data dir's keyshare.yaml, so that in-process openers and child processes
 * (`keyshare serve --data DIR`) all find it by themselves (service/config.ts).
 */
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import pg from 'pg';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { configuredDatabase } from '../../service/config.js';
import { freshDatabase } from './postgres.js';
import { SqliteStore, type Store } from '../../service/store/index.js';
import { PgStore } from '../../service/store/pg/store.js';

export const ON_POSTGRES = process.env.KEYSHARE_TEST_DATABASE === 'postgres';

/**
 * Gives a data dir about to be initialised its own database: on PostgreSQL, a new database on
 * the run's cluster, written into `<dataDir>/keyshare.yaml`. Creates the data dir either way.
 */
export async function prepareDataDir(dataDir: string): Promise<void> {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  if (!ON_POSTGRES) return;
  const url = process.env.KEYSHARE_TEST_POSTGRES_URL;
  if (!url) throw new Error('KEYSHARE_TEST_DATABASE=postgres needs the global setup (test/support/postgres-global.ts) to start the cluster');
  // 0600 as the service's own files (issue 16 finding 8): serve warns about wider ones.
  writeFileSync(join(dataDir, 'keyshare.yaml'), `database: ${JSON.stringify(await freshDatabase({ url, stop: async () => {} }))}\n`, { mode: 0o600 });
}

/**
 * For tests of the embedded SQLite database itself (its file, WAL, backup API, integrity
 * check): they run in the SQLite pass only, and their titles say "(SQLite)".
 */
export const describeSqlite = describe.skipIf(ON_POSTGRES);
export const itSqlite = it.skipIf(ON_POSTGRES);

/**
 * A copy of a data dir that is a repository of its own (same keys, same state), as a copy of
 * an embedded database is: on PostgreSQL its database is copied too (CREATE DATABASE ...
 * TEMPLATE; nothing may be connected to the source), since a data dir copied alone shares the
 * database, as a replica does (docs/DEPLOYMENT.md).
 */
export async function copyDataDir(from: string, to: string): Promise<void> {
  cpSync(from, to, { recursive: true });
  if (!ON_POSTGRES) return;
  const source = new URL(configuredDatabase(from)!);
  const target = new URL(await freshDatabase({ url: process.env.KEYSHARE_TEST_POSTGRES_URL!, stop: async () => {} }));
  const admin = new pg.Client({ connectionString: process.env.KEYSHARE_TEST_POSTGRES_URL });
  await admin.connect();
  try {
    const name = (u: URL) => u.pathname.slice(1);
    await admin.query(`DROP DATABASE ${name(target)}`);
    await admin.query(`CREATE DATABASE ${name(target)} TEMPLATE ${name(source)}`);
  } finally {
    await admin.end();
  }
  writeFileSync(join(to, 'keyshare.yaml'), `database: ${JSON.stringify(target.toString())}\n`, { mode: 0o600 });
}

/**
 * The bytes a data dir's database takes: the SQLite file and its WAL, or on PostgreSQL
 * pg_database_size (issue 16: refusals must not grow it).
 */
export async function databaseBytes(dataDir: string): Promise<number> {
  if (!ON_POSTGRES) {
    const { existsSync, statSync } = await import('node:fs');
    return ['keyshare.db', 'keyshare.db-wal'].map((f) => join(dataDir, f)).reduce((n, f) => n + (existsSync(f) ? statSync(f).size : 0), 0);
  }
  const client = new pg.Client({ connectionString: configuredDatabase(dataDir)! });
  await client.connect();
  try {
    return Number((await client.query('SELECT pg_database_size(current_database()) AS n')).rows[0].n);
  } finally {
    await client.end();
  }
}

/**
 * An empty store of the run's dialect, for code that writes a store of its own (a bundle
 * import, an upstream sync): in-memory SQLite, or a fresh database on the run's PostgreSQL
 * cluster, so that what such code leaves behind is checked on both dialects.
 */
export async function freshStore(): Promise<Store> {
  if (!ON_POSTGRES) return SqliteStore.memory();
  return PgStore.open(await freshDatabase({ url: process.env.KEYSHARE_TEST_POSTGRES_URL!, stop: async () => {} }));
}
