/** The admin API client used by admin commands: JSON over HTTP with the bearer token. */
import { KeyshareError, Codes } from '../service/errors.js';
import { adminTokenWithSource, serverUrl } from './settings.js';
import { httpRequest, type HttpAnswer } from '../sync/client/http.js';
import { CliCodes } from './errors.js';

export interface AdminFlags {
  server?: string;
  token?: string;
  data?: string;
  /** false with `--no-wait`: a write is done once saved, published or not. */
  wait?: boolean;
}

/** How long a write waits to be published before the CLI says it was saved but not published (issue 24 row 9). */
export const PUBLISH_WAIT_MS = 30_000;
/** How to get a working token, for an UNAUTHORIZED answer (issue 15: every error says what to do). */
const NEW_TOKEN_ADVICE =
  'an admin makes a new one with `keyshare token create --role admin` (or --role editor --scopes ...); ' +
  'the first admin token is <data>/admin.token, written by `keyshare init` or the first `keyshare serve`';

export class AdminClient {
  constructor(
    private readonly base: string,
    private readonly token: string,
    private readonly wait = true,
    /** Where the token came from: --token, KEYSHARE_TOKEN, or the admin.token file. */
    private readonly tokenSource?: string,
  ) {}

  static from(flags: AdminFlags): AdminClient {
    const base = serverUrl(flags.server);
    const { token, source } = adminTokenWithSource(flags);
    return new AdminClient(base, token, flags.wait !== false, source);
  }

  /**
   * `options.awaitPublish: false` for an answer whose `published: null` does not mean "saved, not
   * published yet": a key rotation that stages root N+1 for offline signatures has nothing to wait for.
   */
  async call<T = unknown>(method: string, path: string, body?: unknown, options: { awaitPublish?: boolean; lines?: Iterable<string> } = {}): Promise<T> {
    let res: HttpAnswer;
    const { lines } = options;
    try {
      res = await httpRequest(`${this.base}/api/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${this.token}`, ...(lines ? { 'content-type': 'application/x-ndjson' } : body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: lines ? ndjson(lines) : body === undefined ? undefined : JSON.stringify(body),
        // A streamed body is a large change (a 100k-scope apply): the service validates and commits it whole before it answers.
        timeoutMs: lines ? STREAMED_TIMEOUT_MS : 60_000,
      });
    } catch (e) {
      const cause = (e as Error).cause as { code?: string } | undefined;
      throw new KeyshareError(
        'SERVER_UNREACHABLE',
        `cannot reach ${this.base} (${cause?.code ?? (e as Error).message}): is \`keyshare serve\` running there? Name the server with --server or KEYSHARE_SERVER`,
      );
    }
    const text = res.body.toString('utf8');
    let json: unknown = undefined;
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      // not JSON: see below
    }
    const ok = res.status >= 200 && res.status < 300;
    const err = json as { code?: unknown; message?: unknown; details?: unknown } | undefined;
    // A keyshare error is { code, message } (service/http/errors.ts); anything else is someone else.
    if (json === undefined || (!ok && (typeof err?.code !== 'string' || typeof err?.message !== 'string'))) await this.notKeyshare(res.status);
    if (!ok) {
      const code = err!.code as string;
      if (code === Codes.UNAUTHORIZED && this.tokenSource) {
        throw new KeyshareError(code, `${this.base} refused the token from ${this.tokenSource} (${err!.message as string}): ${NEW_TOKEN_ADVICE}`);
      }
      throw new KeyshareError(code, err!.message as string, { details: err!.details });
    }
    // Issue 24 row 9: a write saved but not yet published (a replica handed it to the publisher,
    // or publishing fails) is waited for; exit 0 only once it is published, or with --no-wait.
    const record = json as { published?: unknown };
    const awaitPublish = this.wait && options.awaitPublish !== false;
    if (method !== 'GET' && record && typeof record === 'object' && record.published === null && !path.includes('dryRun=true') && awaitPublish) {
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

  /** Throws NOT_KEYSHARE when the server has no keyshare admin API, else UNEXPECTED_RESPONSE. */
  private async notKeyshare(status: number): Promise<never> {
    let isKeyshare = false;
    try {
      const res = await fetch(`${this.base}/api/v1/openapi.json`, { signal: AbortSignal.timeout(10_000) });
      const doc = res.ok ? ((await res.json()) as { openapi?: unknown; info?: { title?: unknown } }) : null;
      isKeyshare = typeof doc?.openapi === 'string' && /keyshare/i.test(String(doc.info?.title ?? ''));
    } catch {
      // not reachable or not JSON: not keyshare
    }
    if (!isKeyshare) {
      throw new KeyshareError(CliCodes.NOT_KEYSHARE, `${this.base} did not answer as a keyshare service (no /api/v1/openapi.json): check --server or KEYSHARE_SERVER`);
    }
    throw new KeyshareError(CliCodes.UNEXPECTED_RESPONSE, `unexpected response from ${this.base} (HTTP ${status}): is the CLI older or newer than the service?`);
  }
}

/** How long a streamed request (NDJSON, see call's `lines`) may take, sent and answered. */
const STREAMED_TIMEOUT_MS = 15 * 60_000;

/** One JSON text a line (each without a line break), made as the request is sent. */
function* ndjson(lines: Iterable<string>): Iterable<string> {
  for (const line of lines) yield line + '\n';
}

export const scopePath = (scope: string) => `/scopes/${encodeURIComponent(scope)}`;
