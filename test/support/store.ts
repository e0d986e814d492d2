/**
 * The SQLite database under a store, for the tests that tamper with rows or dump every table.
 * SQLite only: raw access is not part of the store port (service/store/port.ts).
 */
import type Database from 'better-sqlite3';
import { SqliteStore, type Store } from '../../service/store/index.js';

export function rawDb(store: Store): Database.Database {
  if (!(store instanceof SqliteStore)) throw new Error(`this test reads the SQLite database directly, and the store is ${store.dialect}`);
  return store.rawForTests();
}
