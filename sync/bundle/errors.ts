/**
 * Error codes of offline bundles (CONTRACT.md "CLI": stable upper-case codes). The four TUF
 * codes are the verified fetch's (sync/client/errors.ts), so a refused bundle and a refused
 * online fetch read the same.
 */
import { KeyshareError, isKeyshareError } from '../../service/errors.js';
import { FetchCodes, toFetchError } from '../client/errors.js';

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

const TUF_CODES = new Set<string>([BundleCodes.ROLLBACK, BundleCodes.EXPIRED_METADATA, BundleCodes.BAD_SIGNATURE, BundleCodes.HASH_MISMATCH]);

/**
 * Anything tuf-js throws while verifying a bundle, as a coded error: the verified fetch's
 * mapping, where a file the metadata needs but the bundle lacks (a "download" failure) or a
 * malformed file is BUNDLE_INVALID.
 */
export function toBundleError(e: unknown): KeyshareError {
  if (isKeyshareError(e)) return e;
  const coded = toFetchError(e);
  if (TUF_CODES.has(coded.code)) return coded;
  return new KeyshareError(BundleCodes.BUNDLE_INVALID, `the bundle's repository is incomplete or malformed: ${coded.message}`, { cause: e });
}
