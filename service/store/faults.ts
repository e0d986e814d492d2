/**
 * Database faults as the errors users see (issue 24 rows 5 and 9): an unreachable database is
 * DATABASE_UNAVAILABLE (503, retry later), a full disk is STORAGE_FULL (507) naming where
 * (the data dir, or the PostgreSQL server). Everything else stays what it was (INTERNAL).
 * Drivers wrap errors (drizzle's query error, our own databaseError): the cause chain is walked.
 */
import { KeyshareError, Codes } from '../errors.js';

/** PostgreSQL SQLSTATE classes 08 (connection exception) and 57P (operator intervention: shutdown, cannot connect now). */
const PG_UNAVAILABLE = /^(08...|57P0[1-4])$/;
const NODE_UNAVAILABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EPIPE', 'EAI_AGAIN']);
const UNAVAILABLE_MESSAGE = /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|Cannot use a pool after calling end/i;
/** SQLite's and the OS's "no space", and PostgreSQL's disk_full (53100). */
const FULL = new Set(['SQLITE_FULL', 'ENOSPC', 'EDQUOT', '53100']);

/** The store's fault kind of `e`, or null for any other error. */
export function storeFaultKind(e: unknown): 'unavailable' | 'full' | null {
  for (let cur = e, depth = 0; cur && depth < 8; cur = (cur as { cause?: unknown }).cause, depth++) {
    if (cur instanceof KeyshareError && cur.code === Codes.DATABASE_UNAVAILABLE) return 'unavailable';
    const code = String((cur as { code?: unknown }).code ?? '');
    if (FULL.has(code) || /SQLITE_FULL|ENOSPC/.test(String((cur as Error).message ?? ''))) return 'full';
    if (PG_UNAVAILABLE.test(code) || NODE_UNAVAILABLE.has(code)) return 'unavailable';
    if (UNAVAILABLE_MESSAGE.test(String((cur as Error).message ?? ''))) return 'unavailable';
  }
  return null;
}

/**
 * `e` as DATABASE_UNAVAILABLE or STORAGE_FULL when it is one of those faults, else null.
 * `where` names the storage: the data dir (embedded database) or "the PostgreSQL server".
 */
export function storeFault(e: unknown, where: string): KeyshareError | null {
  if (e instanceof KeyshareError && (e.code === Codes.STORAGE_FULL || e.code === Codes.DATABASE_UNAVAILABLE)) return e;
  switch (storeFaultKind(e)) {
    case 'unavailable':
      return new KeyshareError(Codes.DATABASE_UNAVAILABLE, 'the database cannot be reached: retry later (a write may not have been saved)', { cause: e });
    case 'full':
      return new KeyshareError(Codes.STORAGE_FULL, `no space left for the database in ${where}: free space there and retry (nothing is lost: a failed write is rolled back)`, { cause: e });
    default:
      return null;
  }
}

/** What `storeFault` names as the storage of an instance. */
export const storageOf = (dialect: 'sqlite' | 'postgres', dataDir: string) => (dialect === 'postgres' ? 'the PostgreSQL server' : `the data dir ${dataDir}`);
