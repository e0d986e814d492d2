/**
 * The database under a store, for the tests that tamper with rows or dump every table: raw SQL
 * is not part of the store port (service/store/port.ts), so it is reached here, per dialect.
 */
import type Database from 'better-sqlite3';
import { SqliteStore, type Store } from '../../service/store/index.js';
import { PgStore } from '../../service/store/pg/store.js';
import { freshDatabase, testPostgres, type RunningPostgres } from './postgres.js';

/** The SQLite connection, for what only SQLite has (its files, its pragmas). */
export function rawDb(store: Store): Database.Database {
  if (!(store instanceof SqliteStore)) throw new Error(`this test reads the SQLite database directly, and the store is ${store.dialect}`);
  return store.rawForTests();
}

/**
 * Runs one statement outside the store, on either dialect: `?` placeholders (PostgreSQL gets
 * $1, $2...), parameters as the drivers take them (a Buffer is a blob / bytea). Returns the rows.
 */
export async function sqlRows<T = Record<string, unknown>>(store: Store, text: string, params: unknown[] = []): Promise<T[]> {
  if (store instanceof SqliteStore) {
    const st = store.rawForTests().prepare(text);
    if (st.reader) return st.all(...params) as T[];
    st.run(...params);
    return [];
  }
  if (store instanceof PgStore) {
    let n = 0;
    return (await store.rawPoolForTests().query(text.replace(/\?/g, () => `$${++n}`), params)).rows as T[];
  }
  throw new Error(`no raw access to a ${(store as Store).dialect} store`);
}

/** A number from a COUNT(*) (PostgreSQL returns a bigint as text). */
export async function sqlCount(store: Store, text: string, params: unknown[] = []): Promise<number> {
  const [row] = await sqlRows<{ n: number | string }>(store, text, params);
  return Number(row!.n);
}

/** The store's tables, migrations' bookkeeping aside. */
export async function tableNames(store: Store): Promise<string[]> {
  const rows =
    store.dialect === 'sqlite'
      ? await sqlRows<{ name: string }>(store, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '__drizzle%'`)
      : await sqlRows<{ name: string }>(store, `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`);
  return rows.map((r) => r.name).sort();
}

/**
 * Every row of a table, sorted, with blob columns (signed metadata, target files) as their
 * length and the hex of their first 16 bytes: a dump per case must stay fast.
 */
export async function dumpTable(store: Store, table: string): Promise<Record<string, unknown>[]> {
  const columns =
    store.dialect === 'sqlite'
      ? (await sqlRows<{ name: string; type: string }>(store, `PRAGMA table_info("${table}")`)).map((c) => ({ name: c.name, blob: /blob/i.test(c.type) }))
      : (await sqlRows<{ name: string; type: string }>(store, `SELECT column_name AS name, data_type AS type FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position`, [table])).map(
          (c) => ({ name: c.name, blob: c.type === 'bytea' }),
        );
  const head = (c: string) => (store.dialect === 'sqlite' ? `hex(substr("${c}", 1, 16))` : `encode(substring("${c}" from 1 for 16), 'hex')`);
  const select = columns.map((c) => (c.blob ? `length("${c.name}") || ':' || ${head(c.name)} AS "${c.name}"` : `"${c.name}"`));
  const rows = await sqlRows(store, `SELECT ${select.join(', ')} FROM "${table}"`);
  return rows.sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
}

/**
 * Each dialect's empty store, for tests that hold every dialect to the same port rules:
 * SQLite in memory, PostgreSQL a fresh database on one throw-away cluster (test/support/postgres.ts),
 * stopped by `stop` (call it in afterAll).
 */
export function storeDialects(): { dialects: [string, () => Promise<Store>][]; stop: () => Promise<void> } {
  let cluster: Promise<RunningPostgres> | undefined;
  return {
    dialects: [
      ['sqlite', async () => SqliteStore.memory()],
      ['postgres', async () => PgStore.open(await freshDatabase(await (cluster ??= testPostgres())))],
    ],
    stop: async () => (await cluster)?.stop(),
  };
}
