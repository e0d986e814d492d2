/**
 * The rules of keyshare's signing authorities (issue 18), pure: names, validity bounds, which
 * revocations a CA's CRL lists, and when it is signed again. No I/O; `now` is explicit.
 */
import { KeyshareError, CaCodes } from '../errors.js';
import type { CertificateRevocation } from './types.js';

/** A CA name: it appears in URLs, file names and token bounds. `tsa` names keyshare's TSA. */
export const CA_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const TSA_NAME = 'tsa';

export function checkCaName(name: string): string {
  if (typeof name !== 'string' || !CA_NAME.test(name) || name === TSA_NAME) {
    throw new KeyshareError(CaCodes.CA_NAME_INVALID, `a CA name is 1-63 of [a-z0-9-], starting with a letter or digit, and not "${TSA_NAME}": ${JSON.stringify(name)}`);
  }
  return name;
}

/** A signing certificate lives 10 minutes unless asked otherwise (issue 18: "CI keys live for minutes"). */
export const DEFAULT_LEAF_VALIDITY_MS = 10 * 60_000;
/** A CA certificate lives 5 years unless `--validity` says otherwise; its root twice as long. */
export const DEFAULT_CA_VALIDITY_MS = 5 * 365 * 86_400_000;

/** The validity of a signing certificate: the one asked for, at most the token's maximum (VALIDITY_TOO_LONG). */
export function leafValidityMs(requestedMs: number | null, maxSeconds: number): number {
  const maxMs = maxSeconds * 1000;
  const ms = requestedMs ?? Math.min(DEFAULT_LEAF_VALIDITY_MS, maxMs);
  if (ms > maxMs) throw new KeyshareError(CaCodes.VALIDITY_TOO_LONG, `this token may get certificates valid for at most ${maxSeconds} s, not ${Math.ceil(ms / 1000)} s`);
  return ms;
}

export interface CrlEntryPlan {
  serialHex: string;
  revokedAt: Date;
  reason: string;
}

/**
 * The entries of a managed CA's CRL: every certificate revocation naming the CA (by its anchor
 * ID), whatever its scope. A CRL is read by every verifier of the CA's certificates, so a
 * revocation in one scope revokes everywhere the CA is trusted (fail closed).
 */
export function crlEntriesFor(issuerId: string, revocations: CertificateRevocation[]): CrlEntryPlan[] {
  const bySerial = new Map<string, CrlEntryPlan>();
  for (const r of revocations) {
    if (r.issuer !== issuerId) continue;
    const prev = bySerial.get(r.serial);
    // RFC 5280 5.1.2.6: one entry per serial; keep the earliest revocation.
    if (!prev || Date.parse(r.revokedAt) < prev.revokedAt.getTime()) bySerial.set(r.serial, { serialHex: r.serial, revokedAt: new Date(r.revokedAt), reason: r.reason });
  }
  return [...bySerial.values()].sort((a, b) => (a.serialHex < b.serialHex ? -1 : a.serialHex > b.serialHex ? 1 : 0));
}

/**
 * Whether a managed CA's CRL must be signed again: there is none, its entries differ from the
 * revocations, or half its lifetime has passed (RFC 5280 5.1.2.5: a new CRL is issued before
 * nextUpdate; re-signing at half-life leaves clients the other half to fetch it).
 */
export function crlResignDue(stored: { thisUpdate: string; nextUpdate: string; serials: string[] } | null, wanted: CrlEntryPlan[], now: Date): boolean {
  if (!stored) return true;
  const have = new Set(stored.serials);
  if (have.size !== wanted.length || wanted.some((e) => !have.has(e.serialHex))) return true;
  const start = Date.parse(stored.thisUpdate);
  const end = Date.parse(stored.nextUpdate);
  return now.getTime() >= start + (end - start) / 2;
}

/** RFC 5280 5.2.3: the next CRL number, one more than the stored one (hex). */
export function nextCrlNumber(storedHex: string | null): string {
  return storedHex === null ? '1' : (BigInt(`0x${storedHex}`) + 1n).toString(16);
}

/** A token bucket per token: `perMinute` issuances, refilled continuously. */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly perMinute: number) {}

  /** Takes one issuance for `key`; RATE_LIMITED when its bucket is empty. */
  take(key: string, now: Date): void {
    const t = now.getTime();
    const b = this.buckets.get(key) ?? { tokens: this.perMinute, at: t };
    b.tokens = Math.min(this.perMinute, b.tokens + ((t - b.at) / 60_000) * this.perMinute);
    b.at = t;
    if (b.tokens < 1) {
      this.buckets.set(key, b);
      throw new KeyshareError(CaCodes.RATE_LIMITED, `this token may get at most ${this.perMinute} certificates a minute`);
    }
    b.tokens -= 1;
    this.buckets.set(key, b);
    if (this.buckets.size > 10_000) this.buckets.delete(this.buckets.keys().next().value!);
  }
}
