/**
 * Opens the store that a data dir and a `--database` setting name (CONTRACT.md "Settings"): the
 * embedded SQLite database `<data>/keyshare.db` by default, or PostgreSQL for a
 * `postgres://...` URL (./database.ts decides which).
 */
import { join } from 'node:path';
import { configuredDatabase } from '../config.js';
import { supportedDatabase } from './database.js';
import type { Store } from './port.js';
import { SqliteStore } from './sqlite.js';

export const dbPath = (dataDir: string) => join(dataDir, 'keyshare.db');

export interface StoreOptions {
  dataDir: string;
  /**
   * `--database` / KEYSHARE_DATABASE_URL; null or empty: the embedded database; absent: as
   * configured for the data dir (environment, then its keyshare.yaml: config.ts).
   */
  database?: string | null;
}

/** The database a data dir's store lives in (see StoreOptions.database). */
export function storeDatabase(options: StoreOptions): string | null {
  return options.database !== undefined ? options.database : configuredDatabase(options.dataDir);
}

export async function openStore(options: StoreOptions): Promise<Store> {
  const database = storeDatabase(options);
  if (supportedDatabase(database) === 'embedded') return SqliteStore.open(dbPath(options.dataDir));
  // Loaded on use: node-postgres is not needed by the embedded default.
  const { PgStore } = await import('./pg/store.js');
  return PgStore.open(database!);
}
