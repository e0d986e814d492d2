/**
 * The mapping from tuf-js / @tufjs/models errors to the codes of the verified fetch
 * (shared/fetch.ts `FetchCodes`, CONTRACT.md "CLI": stable upper-case codes). Tests assert codes, never messages.
 */
import { LengthOrHashMismatchError, UnsignedMetadataError } from '@tufjs/models/dist/error.js';
import {
  BadVersionError,
  DownloadError,
  DownloadLengthMismatchError,
  ExpiredMetadataError,
  RuntimeError,
} from 'tuf-js/dist/error.js';
import { KeyshareError, isKeyshareError } from '../../shared/errors.js';
import { FetchCodes } from '../../shared/fetch.js';

export { FetchCodes };

/** Thrown by the offline fetcher for anything not in the cache. */
export class NotCachedError extends Error {
  override name = 'NotCachedError';
}

const ROLLBACK_HINT = 'the server offered metadata older than, or inconsistent with, what this client already trusts (rollback attack?)';
const EXPIRED_HINT = 'the metadata has expired (freeze attack, or a server that stopped re-signing)';
const SIGNATURE_HINT = 'the metadata is not signed by the keys of the pinned root (wrong server or root, or an attack)';
const HASH_HINT = 'a file does not match the length and hash in its signed metadata (tampering?)';

/**
 * tuf-js 5.0.1 wraps failures while loading snapshot and targets roles in a RuntimeError whose
 * message embeds the cause as text ("Unable to load ... error Error: snapshot.json is expired"),
 * so the class is lost. These patterns recover it from the messages tuf-js and @tufjs/models emit.
 */
const WRAPPED: [RegExp, string, string][] = [
  [/NotCachedError|not in the offline cache/, FetchCodes.NOT_CACHED, 'the cache does not hold it'],
  [/is expired/, FetchCodes.EXPIRED_METADATA, EXPIRED_HINT],
  // Two signatures under one key ID: an attempt to count one key twice towards a threshold (TUF 5.4.2).
  [/was signed by \d+\/\d+ keys|failed to verify .* signature|no signature for key|no public key found|multiple signatures found for keyid/, FetchCodes.BAD_SIGNATURE, SIGNATURE_HINT],
  [/Expected (length|hash)|Max length reached|Hash algorithm .* not supported/, FetchCodes.HASH_MISMATCH, HASH_HINT],
  [/Expected version|less than current version|does not match snapshot version|doesn't match timestamp|Missing file .* in new snapshot/, FetchCodes.ROLLBACK, ROLLBACK_HINT],
  [/Failed to download|download failed|cannot reach|HTTP \d{3}/, FetchCodes.DOWNLOAD_FAILED, 'a download failed'],
];

/**
 * Issue 24 row 13: an expiry names both times, since a client clock that runs ahead looks just
 * like a server that stopped re-signing (TUF 5.4.4 compares with the local clock).
 */
export function expiredError(role: string, expires: string | undefined, now: Date, cause?: unknown): KeyshareError {
  const at = expires ? `expired at ${expires}` : 'has expired';
  return new KeyshareError(
    FetchCodes.EXPIRED_METADATA,
    `${role}.json ${at}, and the local time is ${now.toISOString()}: check the local clock first (is it ahead? e.g. timedatectl, NTP); if the clock is right, the server stopped re-signing its metadata, or is replaying old metadata (freeze attack)`,
    { cause },
  );
}

/** tuf-js's "X.json is expired" with the expiry of the metadata it rejected (held by its trusted set), else null. */
export function expiredFromUpdater(e: unknown, updater: unknown, now: Date): KeyshareError | null {
  if (!(e instanceof ExpiredMetadataError) && !/is expired/.test(String((e as Error)?.message))) return null;
  const role = /(root|timestamp|snapshot|targets|[\w-]+)\.json is expired/.exec(String((e as Error).message))?.[1] ?? 'the';
  const trusted = (updater as { trustedSet?: Record<string, { signed?: { expires?: string } } | undefined> }).trustedSet;
  return expiredError(role, trusted?.[role]?.signed?.expires, now, e);
}

function coded(code: string, hint: string, e: Error): KeyshareError {
  return new KeyshareError(code, `${hint}: ${e.message}`, { cause: e });
}

/** File system failures that make a cache unusable (issue 24 row 12). */
const CACHE_ERRNO = new Set(['EROFS', 'EACCES', 'EPERM', 'EEXIST', 'ENOTDIR', 'EISDIR', 'ENOSPC', 'EDQUOT']);

/** Turns anything a verified fetch throws into a KeyshareError with a stable code. */
export function toFetchError(e: unknown): KeyshareError {
  if (isKeyshareError(e)) return e;
  const err = e instanceof Error ? e : new Error(String(e));
  const errno = err as NodeJS.ErrnoException;
  if (errno.code && CACHE_ERRNO.has(errno.code) && errno.path) {
    return new KeyshareError(FetchCodes.CACHE_UNUSABLE, `the cache cannot be used: ${errno.code} on ${errno.path}; make it writable, or give another directory with --cache (--offline only reads it)`, { cause: e });
  }
  if (err instanceof NotCachedError) return coded(FetchCodes.NOT_CACHED, 'offline, and the cache does not hold what is needed (run one fetch online first)', err);
  if (err instanceof ExpiredMetadataError) return coded(FetchCodes.EXPIRED_METADATA, EXPIRED_HINT, err);
  // EqualVersionError is a BadVersionError too.
  if (err instanceof BadVersionError) return coded(FetchCodes.ROLLBACK, ROLLBACK_HINT, err);
  if (err instanceof UnsignedMetadataError) return coded(FetchCodes.BAD_SIGNATURE, SIGNATURE_HINT, err);
  if (err instanceof LengthOrHashMismatchError || err instanceof DownloadLengthMismatchError) return coded(FetchCodes.HASH_MISMATCH, HASH_HINT, err);
  if (err instanceof DownloadError || err.name === 'TimeoutError' || err.name === 'AbortError') {
    return coded(FetchCodes.DOWNLOAD_FAILED, 'cannot download the repository', err);
  }
  if (err instanceof RuntimeError || /multiple signatures found for keyid/.test(err.message)) {
    for (const [pattern, code, hint] of WRAPPED) if (pattern.test(err.message)) return coded(code, hint, err);
  }
  // Everything else: a malformed file (ValueError, TypeError, SyntaxError) or a repository error.
  return coded(FetchCodes.METADATA_INVALID, 'the repository metadata is invalid', err);
}
