/**
 * Which database the test run uses (README, "Tests"): SQLite, the embedded default, or with
 * KEYSHARE_TEST_DATABASE=postgres, PostgreSQL: one throw-away cluster for the whole run
 * (./postgres-global.ts, the vitest global setup) and a fresh database per data dir, named as
 * `database:` in the data dir's keyshare.yaml, so that in-process openers and child processes
 * (`keyshare serve --data DIR`) all find it by themselves (service/config.ts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { freshDatabase } from './postgres.js';

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
  writeFileSync(join(dataDir, 'keyshare.yaml'), `database: ${JSON.stringify(await freshDatabase({ url, stop: async () => {} }))}\n`);
}

/**
 * For tests of the embedded SQLite database itself (its file, WAL, backup API, integrity
 * check): they run in the SQLite pass only, and their titles say "(SQLite)".
 */
export const describeSqlite = describe.skipIf(ON_POSTGRES);
export const itSqlite = it.skipIf(ON_POSTGRES);
