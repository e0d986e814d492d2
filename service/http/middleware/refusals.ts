/**
 * Refused admin API requests cost the refuser little (issue 16, finding 2): each one is counted
 * in keyshare_http_refusals_total, unauthenticated ones are logged at a sampled rate (the audit
 * log keeps only attempts by a known token, see audit.ts), and refusals per client address are
 * rate-limited with a token bucket. An address with no refusals left still gets every request
 * that succeeds; a request of its that would be refused is answered 429 RATE_LIMITED with
 * Retry-After instead, and is not audited (the `refusalLimited` context flag), so that neither
 * guessing nor flooding grows the audit log. Requests without a socket (app.request in tests)
 * have no address and no bucket.
 */
import type { MiddlewareHandler } from 'hono';
import { Codes, isKeyshareError } from '../../errors.js';
import type { AppEnv } from '../context.js';
import type { Metrics } from '../metrics.js';

const RATE_LIMITED = Codes.RATE_LIMITED;

export interface RefusalLimits {
  /** Refusals an address may have at once... */
  burst: number;
  /** ...and how many it gets back per second. */
  perSecond: number;
}
export const DEFAULT_REFUSAL_LIMITS: RefusalLimits = { burst: 50, perSecond: 5 };
/** Addresses tracked at once; the least recently refused are forgotten first. */
const MAX_ADDRESSES = 10_000;
/** One unauthenticated refusal in this many is logged (the first one always). */
const LOG_ONE_IN = 100;

interface Bucket {
  tokens: number;
  at: number;
}

/** A token bucket per key (RFC 6585 4: 429 Too Many Requests with Retry-After). */
export class RefusalBuckets {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly limits: RefusalLimits,
    private readonly now: () => number = () => Date.now(),
  ) {}

  private refill(key: string): Bucket {
    const now = this.now();
    const b = this.buckets.get(key) ?? { tokens: this.limits.burst, at: now };
    b.tokens = Math.min(this.limits.burst, b.tokens + ((now - b.at) / 1000) * this.limits.perSecond);
    b.at = now;
    return b;
  }

  /** Seconds until `key` may be refused again, or 0 when it has refusals left. */
  retryAfter(key: string): number {
    const b = this.buckets.get(key);
    if (!b) return 0;
    const tokens = this.refill(key).tokens;
    return tokens >= 1 ? 0 : Math.ceil((1 - tokens) / this.limits.perSecond);
  }

  /** Takes one refusal from `key`'s bucket. */
  take(key: string): void {
    const b = this.refill(key);
    b.tokens = Math.max(0, b.tokens - 1);
    this.buckets.delete(key);
    this.buckets.set(key, b);
    if (this.buckets.size > MAX_ADDRESSES) this.buckets.delete(this.buckets.keys().next().value!);
  }
}

const REFUSED = new Set<string>([Codes.UNAUTHORIZED, Codes.FORBIDDEN]);

export function limitRefusals(options: { metrics: Metrics; limits?: RefusalLimits }): MiddlewareHandler<AppEnv> {
  const buckets = new RefusalBuckets(options.limits ?? DEFAULT_REFUSAL_LIMITS);
  let unauthenticated = 0;
  return async function limitRefusalsMiddleware(c, next) {
    const address = c.var.client.address;
    const wait = address ? buckets.retryAfter(address) : 0;
    c.set('refusalLimited', wait > 0);
    await next();
    const err = c.error;
    if (!isKeyshareError(err) || !REFUSED.has(err.code)) return;
    if (wait > 0) {
      options.metrics.countRefusal(RATE_LIMITED);
      c.res = c.json({ code: RATE_LIMITED, message: `too many refused requests from this address: retry in ${wait} s` }, 429, { 'Retry-After': String(wait) });
      return;
    }
    options.metrics.countRefusal(err.code);
    if (address) buckets.take(address);
    if (err.code === Codes.UNAUTHORIZED && unauthenticated++ % LOG_ONE_IN === 0) {
      c.var.log?.info({ event: 'api.refused', code: err.code, address, refusedSoFar: unauthenticated }, `unauthenticated admin API request refused (1 in ${LOG_ONE_IN} logged)`);
    }
  };
}
