/**
 * Which database a `--database` setting names (CONTRACT.md "Settings"), and whether this
 * version can use it. The store is the embedded SQLite database in the data dir; PostgreSQL
 * is refused with a clear error until the store has a PostgreSQL dialect (issue 11;
 * docs/DEPLOYMENT.md, "Replicas with PostgreSQL").
 */
import { KeyshareError, Codes } from '../errors.js';

export type DatabaseKind = 'embedded' | 'postgres' | 'sqlite-file';

export function databaseKind(database: string | null | undefined): DatabaseKind {
  if (database === null || database === undefined || database === '') return 'embedded';
  return /^postgres(ql)?:\/\//i.test(database) ? 'postgres' : 'sqlite-file';
}

/** Throws CONFIG_INVALID for a database this version cannot use; never echoes a URL (it may hold a password). */
export function assertSupportedDatabase(database: string | null | undefined): void {
  const kind = databaseKind(database);
  if (kind === 'postgres') {
    throw new KeyshareError(
      Codes.CONFIG_INVALID,
      'database: PostgreSQL (postgres://...) is not supported yet; this version keeps its state in the embedded SQLite database in the data dir (remove --database / KEYSHARE_DATABASE_URL; see docs/DEPLOYMENT.md, "Replicas with PostgreSQL")',
    );
  }
  if (kind === 'sqlite-file') {
    throw new KeyshareError(Codes.CONFIG_INVALID, 'database: a SQLite file outside the data dir is not supported yet; the database is <data>/keyshare.db (remove --database / KEYSHARE_DATABASE_URL)');
  }
}
