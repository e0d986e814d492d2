/**
 * The store: the only code that touches the database. `Store` is the port every caller uses
 * (./port.ts, with the transaction rules); ./sqlite.ts is the embedded SQLite dialect.
 */
export * from './types.js';
export type { Store, Dialect, Transactions, AuditRecords, CaRecords, ChangeRecords, CrlRecords, LogRecords, RepositoryRecords, RolloutRecords, TokenRecords, TrustRecords, UpstreamRecords } from './port.js';
export { SqliteStore } from './sqlite.js';
export { openStore, storeDatabase, dbPath, type StoreOptions } from './open.js';
export { databaseKind, supportedDatabase } from './database.js';
