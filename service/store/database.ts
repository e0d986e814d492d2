/**
 * Which database a `--database` setting names (CONTRACT.md "Settings"), and whether this
 * version can use it: the embedded SQLite database in the data dir (the default), or
 * PostgreSQL (`postgres://...`, issue 11). A SQLite file outside the data dir is refused.
 * Messages never echo the setting: a URL may hold a password.
 */
import { KeyshareError, Codes } from '../errors.js';

export type DatabaseKind = 'embedded' | 'postgres' | 'sqlite-file';

export function databaseKind(database: string | null | undefined): DatabaseKind {
  if (database === null || database === undefined || database === '') return 'embedded';
  return /^postgres(ql)?:\/\//i.test(database) ? 'postgres' : 'sqlite-file';
}

/** The kind of a database this version can use; CONFIG_INVALID otherwise. */
export function supportedDatabase(database: string | null | undefined): 'embedded' | 'postgres' {
  const kind = databaseKind(database);
  if (kind === 'sqlite-file') {
    throw new KeyshareError(Codes.CONFIG_INVALID, 'database: a SQLite file outside the data dir is not supported; the embedded database is <data>/keyshare.db (remove --database / KEYSHARE_DATABASE_URL), or give a postgres://... URL');
  }
  return kind;
}
