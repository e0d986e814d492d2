/**
 * An upstream's token (issue 16, finding 3): an upstream that keeps change-feed slots for
 * requests with a token (service/http/routes/feed.ts) starves a follower that sends none. A
 * token given at `upstream add --token-file` is stored with the upstream and sent as
 * `Authorization: Bearer` on its feed long-poll and its repository fetches, to the upstream's
 * own origin only: never to another origin, not even through a redirect (shared/http.ts).
 *
 * It is a secret like the service's own tokens: never in an answer (`upstream ls`/`show`,
 * the API: only `authenticated: true`), an audit entry or a log line (service/log.ts redacts
 * bearer credentials), and sent over the upstream URL's scheme, so an https upstream is advised.
 */
import { UpstreamCodes, upstreamError } from './errors.js';

/** Generous for any bearer credential (a keyshare token is 62 characters, a JWT a few KiB). */
export const MAX_UPSTREAM_TOKEN_LENGTH = 8192;

/**
 * The token to store, from what `upstream add` was given: surrounding whitespace (the newline
 * of a token file) trimmed; empty or absent is none. A token is one line of visible ASCII
 * (RFC 6750 b64token and more), so that it cannot split or inject an HTTP header.
 */
export function upstreamToken(given: string | null | undefined): string | null {
  if (given === undefined || given === null) return null;
  const token = given.trim();
  if (token === '') return null;
  if (token.length > MAX_UPSTREAM_TOKEN_LENGTH || !/^[\x21-\x7e]+$/.test(token)) {
    throw upstreamError(UpstreamCodes.UPSTREAM_INVALID, `an upstream token is one line of at most ${MAX_UPSTREAM_TOKEN_LENGTH} visible ASCII characters`);
  }
  return token;
}

/** What the follower sends the upstream at `url` (its origin only), from the stored row. */
export function upstreamBearer(row: { url: string; token?: string | null }): { origin: string; token: string } | undefined {
  return row.token ? { origin: new URL(row.url).origin, token: row.token } : undefined;
}
