/**
 * Keeping CA CRLs fresh: `crl add --url` / `anchor add --crl-url` record where a CA publishes
 * its CRL, and the refresher fetches it again on a schedule derived from nextUpdate. Every
 * fetched CRL goes through the same checks as an uploaded one (TrustService.addCrl), and is
 * stored only once accepted (tuf-js updater style). Fetches are capped in size and time.
 */
import { KeyshareError, Codes } from '../errors.js';
import { MAX_CRL_BYTES } from '../crypto/index.js';
import type { Store, CrlRecord } from '../store/index.js';
import type { CrlRecords } from '../store/port.js';
import type { TrustService } from '../trust-service.js';
import { httpRequest } from '../net/http.js';
import { PUBLIC_ONLY, guardFor, type AddressPolicy } from '../net/outbound.js';

export const CrlFetchCodes = {
  CRL_FETCH_FAILED: 'CRL_FETCH_FAILED',
  CRL_URL_INVALID: 'CRL_URL_INVALID',
} as const;
export const { CRL_FETCH_FAILED, CRL_URL_INVALID } = CrlFetchCodes;
/** How long one CRL download may take. */
export const CRL_FETCH_TIMEOUT_MS = 15_000;
/** Bounds on the time between two fetches of one CRL. */
export const MIN_REFRESH_MS = 5 * 60_000;
export const MAX_REFRESH_MS = 6 * 3600_000;

/** The fetch port: tests and air-gapped sites give their own. */
export type CrlFetch = (url: string, init: { signal: AbortSignal; headers: Record<string, string> }) => Promise<Response>;

/** A CRL distribution point URL we fetch: http or https (RFC 5280 4.2.1.13 uses http for CRLs), no credentials. */
export function checkCrlUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new KeyshareError(CRL_URL_INVALID, `not a URL: ${JSON.stringify(url)}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new KeyshareError(CRL_URL_INVALID, `a CRL URL is http or https, not ${u.protocol}`);
  if (u.username || u.password) throw new KeyshareError(CRL_URL_INVALID, 'a CRL URL carries no credentials');
  if (url.length > 2048) throw new KeyshareError(CRL_URL_INVALID, 'a CRL URL is at most 2048 characters');
  return u.toString();
}

/**
 * Downloads a CRL: at most MAX_CRL_BYTES (CRL_TOO_LARGE) within the timeout (CRL_FETCH_FAILED),
 * from addresses `outbound` allows, redirects included (ADDRESS_NOT_ALLOWED; issue 16, finding 9).
 * A failure to connect has one text whatever its cause (no port-scanner oracle).
 */
export async function fetchCrl(url: string, options: { fetch?: CrlFetch; timeoutMs?: number; maxBytes?: number; outbound?: AddressPolicy } = {}): Promise<Uint8Array> {
  const maxBytes = options.maxBytes ?? MAX_CRL_BYTES;
  const timeoutMs = options.timeoutMs ?? CRL_FETCH_TIMEOUT_MS;
  const tooLarge = () => new KeyshareError(Codes.CRL_TOO_LARGE, `the CRL at ${url} is larger than ${maxBytes} bytes`);
  const doFetch: CrlFetch = options.fetch ?? guardedFetch(options.outbound ?? PUBLIC_ONLY, maxBytes, tooLarge);
  const signal = AbortSignal.timeout(timeoutMs);
  const fail = (why: string, cause?: unknown) => new KeyshareError(CRL_FETCH_FAILED, `cannot fetch the CRL from ${url}: ${why}`, { cause });
  let res: Response;
  try {
    res = await doFetch(checkCrlUrl(url), { signal, headers: { accept: 'application/pkix-crl, application/x-pkcs7-crl;q=0.5, */*;q=0.1' } });
  } catch (e) {
    if (e instanceof KeyshareError) throw e;
    throw fail(NO_ANSWER, e);
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => {});
    throw fail(`HTTP ${res.status}`);
  }
  // Cap before reading (STYLE.md "Security habits"): the announced length, then the bytes read.
  if (Number(res.headers.get('content-length') ?? '0') > maxBytes) {
    await res.body?.cancel().catch(() => {});
    throw tooLarge();
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    const reader = res.body?.getReader();
    if (!reader) return new Uint8Array();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > maxBytes) {
        await reader.cancel().catch(() => {});
        throw tooLarge();
      }
      chunks.push(value);
    }
  } catch (e) {
    if (e instanceof KeyshareError) throw e;
    throw fail(signal.aborted ? 'the download timed out' : NO_ANSWER, e);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

const NO_ANSWER = 'no answer (the connection failed or timed out)';

/** The CrlFetch of the service itself: service/net/http.ts with the address guard, following redirects. */
function guardedFetch(policy: AddressPolicy, maxBytes: number, tooLarge: () => Error): CrlFetch {
  return async (url, init) => {
    const timeoutMs = CRL_FETCH_TIMEOUT_MS;
    const answer = await httpRequest(url, { headers: init.headers, signal: init.signal, timeoutMs, maxBytes, tooLarge, guard: guardFor(policy) });
    const headers = new Headers();
    for (const [k, v] of Object.entries(answer.headers)) if (typeof v === 'string') headers.set(k, v);
    return new Response(answer.status === 204 || answer.status === 304 ? null : new Uint8Array(answer.body), { status: answer.status, headers });
  };
}

/**
 * When to fetch a CRL again: a quarter of the time left to its nextUpdate, between 5 minutes
 * and 6 hours; so a daily CRL is fetched every 6 hours, and one about to expire every 5
 * minutes until its CA publishes the next (RFC 5280 5.1.2.5: nextUpdate is when a new CRL
 * will be issued at the latest). After a failure, the same interval applies (no hammering).
 */
export function crlRefreshInterval(rec: Pick<CrlRecord, 'nextUpdate'>, now: Date): number {
  const left = Date.parse(rec.nextUpdate) - now.getTime();
  return Math.min(MAX_REFRESH_MS, Math.max(MIN_REFRESH_MS, Math.floor(left / 4)));
}

export function isCrlRefreshDue(rec: Pick<CrlRecord, 'url' | 'nextUpdate' | 'lastFetchAt'>, now: Date): boolean {
  if (!rec.url) return false;
  if (!rec.lastFetchAt) return true;
  return now.getTime() - Date.parse(rec.lastFetchAt) >= crlRefreshInterval(rec, now);
}

export interface RefreshOutcome {
  issuer: string;
  url: string;
  outcome: 'updated' | 'unchanged' | 'failed';
  error?: { code: string; message: string };
}

export interface CrlRefresherOptions {
  fetch?: CrlFetch;
  /** Where the default fetch may connect (issue 16, finding 9); default: public addresses only. */
  outbound?: AddressPolicy;
  timeoutMs?: number;
  clock?: () => Date;
  onRefresh?: (outcome: RefreshOutcome) => void;
  /** A scheduled run that failed as a whole (e.g. the store is unavailable); the next one tries again. */
  onError?: (error: unknown) => void;
}

/** Fetches every due CRL URL, one at a time; `start` checks every minute. */
export class CrlRefresher {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<RefreshOutcome[]> | null = null;
  private readonly clock: () => Date;

  constructor(
    private readonly store: Store,
    private readonly service: TrustService,
    private readonly options: CrlRefresherOptions = {},
  ) {
    this.clock = options.clock ?? (() => new Date());
  }

  /** Refreshes what is due (`all`: every CRL with a URL). One run at a time. */
  tick(all = false): Promise<RefreshOutcome[]> {
    this.running ??= this.run(all).finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async run(all: boolean): Promise<RefreshOutcome[]> {
    const out: RefreshOutcome[] = [];
    for (const rec of await this.store.listCrls()) {
      const now = this.clock();
      if (!rec.url || (!all && !isCrlRefreshDue(rec, now))) continue;
      const outcome = await this.refreshOne(rec, now);
      out.push(outcome);
      this.options.onRefresh?.(outcome);
    }
    return out;
  }

  private async refreshOne(rec: CrlRecord, now: Date): Promise<RefreshOutcome> {
    const url = rec.url!;
    const at = now.toISOString();
    try {
      const bytes = await fetchCrl(url, { fetch: this.options.fetch, outbound: this.options.outbound, timeoutMs: this.options.timeoutMs });
      // The same CRL again is the common case: nothing to check or publish.
      if (Buffer.from(bytes).equals(rec.der)) {
        await this.store.recordCrlFetch(rec.issuer, at, null);
        return { issuer: rec.issuer, url, outcome: 'unchanged' };
      }
      await this.service.addCrl(bytes, { fetchedAt: at, expectIssuer: rec.issuer });
      return { issuer: rec.issuer, url, outcome: 'updated' };
    } catch (e) {
      const error = e instanceof KeyshareError ? { code: e.code, message: e.message } : { code: Codes.INTERNAL, message: String((e as Error)?.message ?? e) };
      await this.store.recordCrlFetch(rec.issuer, at, `${error.code}: ${error.message}`);
      return { issuer: rec.issuer, url, outcome: 'failed', error };
    }
  }

  start(intervalMs = 60_000): void {
    this.stop();
    const scheduled = () => void this.tick().catch((e) => this.options.onError?.(e));
    this.timer = setInterval(scheduled, intervalMs);
    this.timer.unref();
    scheduled();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  async idle(): Promise<void> {
    while (this.running) await this.running;
  }
}

/**
 * `crl add --url` / `anchor add --crl-url`: fetches the CRL now, checks and stores it with
 * the URL, so that the refresher keeps it fresh. When the CRL fetched is the one already
 * stored, only the URL is recorded.
 */
export async function addCrlFromUrl(
  store: Pick<CrlRecords, 'listCrls' | 'setCrlUrl' | 'recordCrlFetch'>,
  service: TrustService,
  url: string,
  options: { issuer?: string; fetch?: CrlFetch; outbound?: AddressPolicy; timeoutMs?: number; now?: Date } = {},
): Promise<Awaited<ReturnType<TrustService['addCrl']>> & { unchanged: boolean }> {
  const normalized = checkCrlUrl(url);
  const bytes = await fetchCrl(normalized, { fetch: options.fetch, outbound: options.outbound, timeoutMs: options.timeoutMs });
  const at = (options.now ?? new Date()).toISOString();
  const same = (await store.listCrls()).find((c) => c.der.equals(Buffer.from(bytes)) && (options.issuer === undefined || c.issuer === options.issuer));
  if (same) {
    await store.setCrlUrl(same.issuer, normalized);
    await store.recordCrlFetch(same.issuer, at, null);
    const info = await service.crlInfo(same.issuer);
    return { crl: info, published: null, unchanged: true };
  }
  const r = await service.addCrl(bytes, { url: normalized, fetchedAt: at, expectIssuer: options.issuer });
  return { ...r, unchanged: false };
}
