/**
 * File-system errors that reach the CLI uncaught (an --out in a missing directory, a read-only
 * disk) become coded errors that say what to do, instead of `INTERNAL: ENOENT ...` (issue 15).
 */
import { KeyshareError } from '../service/errors.js';

const ADVICE: Record<string, [code: string, what: string]> = {
  ENOENT: ['PATH_NOT_FOUND', 'no such file or directory; create the directory first, or choose another path'],
  ENOTDIR: ['PATH_NOT_FOUND', 'a part of the path is not a directory; choose another path'],
  EACCES: ['PERMISSION_DENIED', 'permission denied; choose a path this user may write, or run as a user who may'],
  EPERM: ['PERMISSION_DENIED', 'operation not permitted; choose a path this user may write'],
  EROFS: ['PERMISSION_DENIED', 'the file system is read-only; choose a writable path'],
  EISDIR: ['PATH_INVALID', 'is a directory; give a file name'],
  EEXIST: ['PATH_INVALID', 'already exists; remove it or choose another path'],
  ENOSPC: ['NO_SPACE', 'no space left on the device; free some, or choose another disk'],
  EDQUOT: ['NO_SPACE', 'disk quota exceeded; free some space, or choose another disk'],
};

/** A coded error for a Node file-system error, or null for anything else. */
export function fileSystemError(e: unknown): KeyshareError | null {
  const err = e as NodeJS.ErrnoException;
  const advice = err && typeof err.code === 'string' ? ADVICE[err.code] : undefined;
  if (!advice || typeof err.path !== 'string') return null;
  return new KeyshareError(advice[0], `${err.path}: ${advice[1]}`, { cause: e });
}
