/**
 * File-system errors that reach the CLI uncaught (an --out in a missing directory, a read-only
 * disk) become coded errors that say what to do, instead of `INTERNAL: ENOENT ...` (issue 15).
 */
import { KeyshareError } from '../service/errors.js';
import { SharedCodes } from '../shared/errors.js';

/** The CLI's own codes (the service's are service/errors.ts `Codes`, the client's shared/fetch.ts `FetchCodes`). */
export const CliCodes = {
  USAGE: SharedCodes.USAGE,
  FILE_NOT_READABLE: SharedCodes.FILE_NOT_READABLE,
  /** The server is not a keyshare service (no /api/v1/openapi.json). */
  NOT_KEYSHARE: 'NOT_KEYSHARE',
  UNEXPECTED_RESPONSE: 'UNEXPECTED_RESPONSE',
  /** `check`: no trust document for the repository. */
  UNTRUSTED: 'UNTRUSTED',
  /** `check`: the decision's code for a revoked key (sync/check CheckCodes.REVOKED, not loaded at start). */
  REVOKED: 'REVOKED',
  /** An output path that exists (keys are never overwritten). */
  OUT_INVALID: 'OUT_INVALID',
  BAD_METADATA: 'BAD_METADATA',
  FILE_NOT_WRITABLE: 'FILE_NOT_WRITABLE',
  /** A key that is not the one asked for. */
  UNKNOWN_KEY: 'UNKNOWN_KEY',
  AUDIT_TAMPERED: 'AUDIT_TAMPERED',
  WRITE_FAILED: 'WRITE_FAILED',
  PATH_NOT_FOUND: 'PATH_NOT_FOUND',
  PERMISSION_DENIED: 'PERMISSION_DENIED',
  PATH_INVALID: 'PATH_INVALID',
  NO_SPACE: 'NO_SPACE',
} as const;

const ADVICE: Record<string, [code: (typeof CliCodes)[keyof typeof CliCodes], what: string]> = {
  ENOENT: [CliCodes.PATH_NOT_FOUND, 'no such file or directory; create the directory first, or choose another path'],
  ENOTDIR: [CliCodes.PATH_NOT_FOUND, 'a part of the path is not a directory; choose another path'],
  EACCES: [CliCodes.PERMISSION_DENIED, 'permission denied; choose a path this user may write, or run as a user who may'],
  EPERM: [CliCodes.PERMISSION_DENIED, 'operation not permitted; choose a path this user may write'],
  EROFS: [CliCodes.PERMISSION_DENIED, 'the file system is read-only; choose a writable path'],
  EISDIR: [CliCodes.PATH_INVALID, 'is a directory; give a file name'],
  EEXIST: [CliCodes.PATH_INVALID, 'already exists; remove it or choose another path'],
  ENOSPC: [CliCodes.NO_SPACE, 'no space left on the device; free some, or choose another disk'],
  EDQUOT: [CliCodes.NO_SPACE, 'disk quota exceeded; free some space, or choose another disk'],
};

/** A coded error for a Node file-system error, or null for anything else. */
export function fileSystemError(e: unknown): KeyshareError | null {
  const err = e as NodeJS.ErrnoException;
  const advice = err && typeof err.code === 'string' ? ADVICE[err.code] : undefined;
  if (!advice || typeof err.path !== 'string') return null;
  return new KeyshareError(advice[0], `${err.path}: ${advice[1]}`, { cause: e });
}
