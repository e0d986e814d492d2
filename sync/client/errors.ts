/**
 * Error codes of the verified fetch (CONTRACT.md "CLI": stable upper-case codes), and the
 * mapping from tuf-js / @tufjs/models errors to them. Tests assert codes, never messages.
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

export const FetchCodes = {
  /** TUF 5.3.5, 5.4.3, 5.5.5, 5.6.4: a version lower than one already trusted (or inconsistent ones). */
  ROLLBACK: 'ROLLBACK',
  /** TUF 5.3.10, 5.4.4, 5.5.6, 5.6.5: a freeze attack, or a cache too old to start offline. */
  EXPIRED_METADATA: 'EXPIRED_METADATA',
  /** TUF 5.3.4, 5.4.2, 5.5.3, 5.6.3: not signed by a threshold of the keys the trusted root names. */
  BAD_SIGNATURE: 'BAD_SIGNATURE',
  /** TUF 5.5.2, 5.6.2, 5.7.3: a file whose length or hash differs from the signed metadata. */
  HASH_MISMATCH: 'HASH_MISMATCH',
  /** The server could not be reached, or answered with an HTTP error. */
  DOWNLOAD_FAILED: 'DOWNLOAD_FAILED',
  /** A requested scope is not in index.json, or no defined scope contains a requested repository. */
  UNKNOWN_SCOPE: 'UNKNOWN_SCOPE',
  /** The pinned root cannot be read, or is not a TUF root signed by its own keys. */
  ROOT_INVALID: 'ROOT_INVALID',
  /** Signed metadata or a target that is malformed or inconsistent (index.json vs trust documents). */
  METADATA_INVALID: 'METADATA_INVALID',
  /** --offline, and the cache lacks what is needed: run one fetch online first. */
  NOT_CACHED: 'NOT_CACHED',
  /** Another fetch held the cache's lock for too long. */
  CACHE_BUSY: 'CACHE_BUSY',
  /** Online, the cache cannot be written (read-only, not a directory, no permission, full); the message names the path. */
  CACHE_UNUSABLE: 'CACHE_UNUSABLE',
  /** --out cannot be written, or holds files keyshare fetch did not write. */
  OUT_INVALID: 'OUT_INVALID',
  /** A file over a size limit: endless data (the same code upstream sync uses). */
  TOO_LARGE: 'TOO_LARGE',
  /** `fetch --report`: the server could not be told what this client fetched. */
  REPORT_FAILED: 'REPORT_FAILED',
  /** --notation-crl-cache cannot be written (not a directory, a symlink, no permission). */
  CRL_CACHE_INVALID: 'CRL_CACHE_INVALID',
  /** `fetch --watch --max-stale`: no fetch has verified for longer than the limit (watch.ts). */
  TRUST_STALE: 'TRUST_STALE',
  /** Issue 23: the timestamp has no entry in the transparency log, or there is no log where one is required. */
  NOT_LOGGED: 'NOT_LOGGED',
  /** Issue 23: the log does not extend the checkpoint verified last (a split view, a rollback), or is not signed by the log key. */
  LOG_INCONSISTENT: 'LOG_INCONSISTENT',
  /** Issue 23: the log checkpoint lacks valid cosignatures by enough of the witnesses given (fetch --witness, --witness-threshold). */
  NOT_WITNESSED: 'NOT_WITNESSED',
} as const;

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
