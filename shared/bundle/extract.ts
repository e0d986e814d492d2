/**
 * Safe extraction of a bundle (a file, or the layer of an OCI bundle artifact) into a fresh
 * directory, before anything is verified: the one safe tar extractor (shared/safe-tar.ts) with
 * a bundle's rules. Only regular files named `bundle.json` or `tuf/...` are written; `..`,
 * absolute paths and links are PATH_TRAVERSAL; anything else a bundle may not hold, and a
 * damaged archive, are BUNDLE_INVALID; a size or count over its limit is BUNDLE_TOO_LARGE.
 */
import { extractTar, type TarLimits, type TarRules } from '../safe-tar.js';
import { BundleCodes, bundleError } from './errors.js';
import { BUNDLE_JSON, TUF_DIR } from './format.js';

export interface ExtractLimits extends TarLimits {
  maxFileBytes: number;
}

const MiB = 1024 * 1024;
export const DEFAULT_LIMITS: ExtractLimits = {
  maxArchiveBytes: 1024 * MiB,
  maxTotalBytes: 2048 * MiB,
  maxFileBytes: 64 * MiB,
  maxFiles: 250_000,
};

const invalid = (m: string, cause?: unknown) => bundleError(BundleCodes.BUNDLE_INVALID, m, cause);

const bundleRules = (limits: ExtractLimits): TarRules => ({
  what: 'bundle',
  limits,
  fileCap(rel) {
    if (rel !== BUNDLE_JSON && !rel.startsWith(`${TUF_DIR}/`)) throw invalid(`unexpected file ${JSON.stringify(rel.slice(0, 200))}: a bundle holds bundle.json and tuf/ only`);
    return limits.maxFileBytes;
  },
  directoryAllowed: (rel) => rel === TUF_DIR || rel.startsWith(`${TUF_DIR}/`),
  errors: {
    invalid,
    tooLarge: (m) => bundleError(BundleCodes.BUNDLE_TOO_LARGE, m),
    traversal: (m) => bundleError(BundleCodes.PATH_TRAVERSAL, m),
  },
});

/** Extracts `file` into the empty directory `dest`; returns each file written with its size. */
export function extractBundle(file: string, dest: string, limits: ExtractLimits = DEFAULT_LIMITS): Promise<Map<string, number>> {
  return extractTar(file, dest, bundleRules(limits));
}
