/**
 * Opens the store that a data dir and a `--database` setting name (CONTRACT.md "Settings"): the
 * embedded SQLite database `<data>/keyshare.db`, the default. Other databases are refused until
 * their dialect is wired in (./database.ts).
 */
import { join } from 'node:path';
import { assertSupportedDatabase } from './database.js';
import type { Store } from './port.js';
import { SqliteStore } from './sqlite.js';

export const dbPath = (dataDir: string) => join(dataDir, 'keyshare.db');

export interface StoreOptions {
  dataDir: string;
  /** `--database` / KEYSHARE_DATABASE_URL; absent or empty: the embedded database. */
  database?: string | null;
}

export async function openStore(options: StoreOptions): Promise<Store> {
  assertSupportedDatabase(options.database);
  return SqliteStore.open(dbPath(options.dataDir));
}
