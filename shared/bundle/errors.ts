/**
 * Error codes of offline bundles (CONTRACT.md "CLI": stable upper-case codes). The four TUF
 * codes are the verified fetch's (shared/fetch.ts), so a refused bundle and a refused
 * online fetch read the same.
 */
import { KeyshareError } from '../errors.js';
import { FetchCodes } from '../fetch.js';

export const BundleCodes = {
  /** Not a tar, a truncated archive, a malformed bundle.json, files missing or unaccounted for. */
  BUNDLE_INVALID: 'BUNDLE_INVALID',
  /** Over a size or file-count limit, including a decompression bomb. */
  BUNDLE_TOO_LARGE: 'BUNDLE_TOO_LARGE',
  /** An incremental bundle whose base this site does not have (import the bundles in between). */
  BUNDLE_GAP: 'BUNDLE_GAP',
  /** An entry with `..`, an absolute path, or a link. */
  PATH_TRAVERSAL: 'PATH_TRAVERSAL',
  /** Issue 24 row 2: `export --since` with --scopes other than the base bundle's (or a base whose scopes are unknown). */
  BUNDLE_SCOPE_MISMATCH: 'BUNDLE_SCOPE_MISMATCH',
  ROLLBACK: FetchCodes.ROLLBACK,
  EXPIRED_METADATA: FetchCodes.EXPIRED_METADATA,
  BAD_SIGNATURE: FetchCodes.BAD_SIGNATURE,
  HASH_MISMATCH: FetchCodes.HASH_MISMATCH,
  /** The --root file is not a TUF root signed by its own keys. */
  ROOT_INVALID: FetchCodes.ROOT_INVALID,
} as const;

export function bundleError(code: string, message: string, cause?: unknown): KeyshareError {
  return new KeyshareError(code, message, { cause });
}
