/**
 * What tuf-js throws while a bundle is verified, as the codes of offline bundles
 * (shared/bundle/errors.ts `BundleCodes`).
 */
import { KeyshareError, isKeyshareError } from '../../shared/errors.js';
import { BundleCodes } from '../../shared/bundle/errors.js';
import { toFetchError } from '../client/errors.js';

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
