/**
 * Issue 24, row 3: imported trust carries its origin's expiry. A site republishes an origin's
 * scopes (a bundle's, or a federated upstream's) under its own root; without this, it would do
 * so forever after the origin's own metadata expired, and its clients would lose the origin's
 * freeze protection (TUF spec 5.4.4: expired metadata is not trusted).
 *
 * - valid: before the origin's timestamp expires.
 * - expired: past it, within the grace period: still republished, and flagged (`upstream ls`,
 *   `/readyz`, `keyshare_origin_expires_seconds`).
 * - withdrawn: past the grace period (`--origin-grace`, default 7 days): the origin's trust is
 *   no longer republished (fail closed) until a fresh bundle or sync brings it back.
 */
export type OriginExpiryStatus = 'valid' | 'expired' | 'withdrawn';

export const DEFAULT_ORIGIN_GRACE_SECONDS = 7 * 86_400;

export interface OriginExpiry {
  /** The origin's timestamp expiry, as last accepted; null when none is known yet. */
  expires: string | null;
  /** Seconds until it expires (negative after). */
  secondsLeft: number | null;
  status: OriginExpiryStatus;
}

export function originExpiry(expires: string | null | undefined, now: Date, graceSeconds: number): OriginExpiry {
  const at = expires ? Date.parse(expires) : NaN;
  if (Number.isNaN(at)) return { expires: null, secondsLeft: null, status: 'valid' };
  const secondsLeft = Math.floor((at - now.getTime()) / 1000);
  const status: OriginExpiryStatus = secondsLeft > 0 ? 'valid' : -secondsLeft <= graceSeconds ? 'expired' : 'withdrawn';
  return { expires: expires!, secondsLeft, status };
}
