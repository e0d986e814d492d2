/**
 * Error codes of upstreams (CONTRACT.md "CLI": stable upper-case codes). A failed sync keeps
 * the verified fetch's code (ROLLBACK, EXPIRED_METADATA, BAD_SIGNATURE, HASH_MISMATCH,
 * DOWNLOAD_FAILED, METADATA_INVALID, TOO_LARGE ...) in the upstream's lastError.
 */
import { KeyshareError, isKeyshareError } from '../../errors.js';
import { FetchCodes } from '../../../shared/fetch.js';
import type { FederationClient } from '../ports.js';
import { FederationCodes } from '../../domain/federation.js';

export const UpstreamCodes = {
  ...FetchCodes,
  UPSTREAM_NOT_FOUND: FederationCodes.UPSTREAM_NOT_FOUND,
  UPSTREAM_EXISTS: FederationCodes.UPSTREAM_EXISTS,
  /** A bad name, URL, mode or scope pattern. */
  UPSTREAM_INVALID: 'UPSTREAM_INVALID',
  /** The origin of imported bundles: listed, never polled. */
  UPSTREAM_NOT_POLLED: 'UPSTREAM_NOT_POLLED',
  /** The upstream is this service itself (its pinned root is this repository's). */
  UPSTREAM_LOOP: 'UPSTREAM_LOOP',
  /** A sync ran past its deadline. */
  SYNC_TIMEOUT: 'SYNC_TIMEOUT',
  /** A scope the upstream defines is defined locally here: it was left out. */
  SCOPE_EXISTS: 'SCOPE_EXISTS',
  /** A file over a size limit. */
  TOO_LARGE: 'TOO_LARGE',
} as const;

export function upstreamError(code: string, message: string, cause?: unknown): KeyshareError {
  return new KeyshareError(code, message, { cause });
}

/** Anything a sync throws, as a coded error (an oversized download is TOO_LARGE). */
export function toSyncError(e: unknown, client: Pick<FederationClient, 'toFetchError'>): KeyshareError {
  const err = isKeyshareError(e) ? e : client.toFetchError(e);
  const text = `${err.message} ${(err.cause as Error | undefined)?.message ?? ''}`;
  if (/Max length reached/.test(text)) return new KeyshareError(UpstreamCodes.TOO_LARGE, `the upstream sent a file over the size limit: ${err.message}`, { cause: err });
  return err;
}
