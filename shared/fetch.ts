/**
 * What the verified fetch (sync/client) and its users in the service (service/federation: upstream
 * syncs, bundle imports) agree on: the fetch's error codes (CONTRACT.md "CLI": stable upper-case
 * codes) and the size cap of a root. Here, outside sync/, so that the service names them without
 * importing the client library (issue 22: only service/composition.ts imports sync/).
 */

/** tuf-js's default cap on root metadata (Config.rootMaxLength): the largest root.json accepted, pinned or downloaded. */
export const MAX_ROOT_BYTES = 512_000;

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
