/** The admin API client used by admin commands: JSON over HTTP with the bearer token. */
import { KeyshareError, Codes } from '../service/errors.js';
import { adminToken, serverUrl } from './settings.js';
import { httpRequest, type HttpAnswer } from '../sync/client/http.js';

export interface AdminFlags {
  server?: string;
  token?: string;
  data?: string;
  /** false with `--no-wait`: a write is done once saved, published or not. */
  wait?: boolean;
}

/** How long a write waits to be published before the CLI says it was saved but not published (issue 24 row 9). */
export const PUBLISH_WAIT_MS = 30_000;

export class AdminClient {
  constructor(
    private readonly base: string,
    private readonly token: string,
    private readonly wait = true,
  ) {}

  static from(flags: AdminFlags): AdminClient {
    return new AdminClient(serverUrl(flags.server), adminToken(flags), flags.wait !== false);
  }

  async call<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    let res: HttpAnswer;
    try {
      res = await httpRequest(`${this.base}/api/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${this.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
        timeoutMs: 60_000,
      });
    } catch (e) {
      throw new KeyshareError('SERVER_UNREACHABLE', `cannot reach ${this.base}: ${(e as Error).cause ?? (e as Error).message}`);
    }
    const text = res.body.toString('utf8');
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      throw new KeyshareError(Codes.INTERNAL, `unexpected response from ${this.base} (HTTP ${res.status})`);
    }
    if (res.status < 200 || res.status >= 300) {
      const err = json as { code?: string; message?: string; details?: unknown };
      throw new KeyshareError(err.code ?? Codes.INTERNAL, err.message ?? `HTTP ${res.status}`, { details: err.details });
    }
    // Issue 24 row 9: a write saved but not yet published (a replica handed it to the publisher,
    // or publishing fails) is waited for; exit 0 only once it is published, or with --no-wait.
    const record = json as { published?: unknown };
    if (method !== 'GET' && record && typeof record === 'object' && record.published === null && !path.includes('dryRun=true') && this.wait) {
      const warning = res.headers['warning'];
      record.published = await this.waitForPublish(typeof warning === 'string' ? warning : null);
    }
    return json as T;
  }

  /** Polls /readyz until no committed change is left unpublished; NOT_PUBLISHED after PUBLISH_WAIT_MS. */
  private async waitForPublish(warning: string | null): Promise<{ timestampVersion: number }> {
    const deadline = Date.now() + PUBLISH_WAIT_MS;
    let why = warning ? /"(.*)"/.exec(warning)?.[1] ?? warning : 'the service has not published it yet';
    for (;;) {
      try {
        const res = await fetch(`${this.base}/readyz`, { signal: AbortSignal.timeout(10_000) });
        const r = (await res.json()) as { timestampVersion?: number | null; publishing?: { pendingChanges: number | null; lastError: { code: string; message: string } | null } };
        if (r.publishing?.pendingChanges === 0 && typeof r.timestampVersion === 'number') return { timestampVersion: r.timestampVersion };
        if (r.publishing?.lastError) {
          why = `publishing fails: ${r.publishing.lastError.code}: ${r.publishing.lastError.message}`;
          // A failure that outlasts a retry of the publisher's watch (2 s) is not waited out.
          if (Date.now() > deadline - PUBLISH_WAIT_MS + 3_000) throw new KeyshareError(Codes.NOT_PUBLISHED, `saved, but not published (${why}); the service publishes it once it can (see /readyz), or pass --no-wait not to wait`);
        }
      } catch (e) {
        if (e instanceof KeyshareError) throw e;
        why = `cannot ask ${this.base}/readyz: ${(e as Error).message}`;
      }
      if (Date.now() > deadline) {
        throw new KeyshareError(Codes.NOT_PUBLISHED, `saved, but not published within ${PUBLISH_WAIT_MS / 1000} s (${why}); the service publishes it once it can (see /readyz), or pass --no-wait not to wait`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

export const scopePath = (scope: string) => `/scopes/${encodeURIComponent(scope)}`;
