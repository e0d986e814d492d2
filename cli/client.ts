/** The admin API client used by admin commands: JSON over HTTP with the bearer token. */
import { KeyshareError, Codes } from '../service/errors.js';
import { adminTokenWithSource, serverUrl } from './settings.js';

export interface AdminFlags {
  server?: string;
  token?: string;
  data?: string;
}

/** How to get a working token, for an UNAUTHORIZED answer (issue 15: every error says what to do). */
const NEW_TOKEN_ADVICE =
  'an admin makes a new one with `keyshare token create --role admin` (or --role editor --scopes ...); ' +
  'the first admin token is <data>/admin.token, written by `keyshare init` or the first `keyshare serve`';

export class AdminClient {
  constructor(
    private readonly base: string,
    private readonly token: string,
    /** Where the token came from: --token, KEYSHARE_TOKEN, or the admin.token file. */
    private readonly tokenSource?: string,
  ) {}

  static from(flags: AdminFlags): AdminClient {
    const base = serverUrl(flags.server);
    const { token, source } = adminTokenWithSource(flags);
    return new AdminClient(base, token, source);
  }

  async call<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.base}/api/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${this.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(60_000),
      });
    } catch (e) {
      const cause = (e as Error).cause as { code?: string } | undefined;
      throw new KeyshareError(
        'SERVER_UNREACHABLE',
        `cannot reach ${this.base} (${cause?.code ?? (e as Error).message}): is \`keyshare serve\` running there? Name the server with --server or KEYSHARE_SERVER`,
      );
    }
    const text = await res.text();
    let json: unknown = undefined;
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      // not JSON: see below
    }
    const err = json as { code?: unknown; message?: unknown; details?: unknown } | undefined;
    // A keyshare error is { code, message } (service/http/errors.ts); anything else is someone else.
    if (json === undefined || (!res.ok && (typeof err?.code !== 'string' || typeof err?.message !== 'string'))) await this.notKeyshare(res.status);
    if (!res.ok) {
      const code = err!.code as string;
      if (code === Codes.UNAUTHORIZED && this.tokenSource) {
        throw new KeyshareError(code, `${this.base} refused the token from ${this.tokenSource} (${err!.message as string}): ${NEW_TOKEN_ADVICE}`);
      }
      throw new KeyshareError(code, err!.message as string, { details: err!.details });
    }
    return json as T;
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
      throw new KeyshareError('NOT_KEYSHARE', `${this.base} did not answer as a keyshare service (no /api/v1/openapi.json): check --server or KEYSHARE_SERVER`);
    }
    throw new KeyshareError('UNEXPECTED_RESPONSE', `unexpected response from ${this.base} (HTTP ${status}): is the CLI older or newer than the service?`);
  }
}

export const scopePath = (scope: string) => `/scopes/${encodeURIComponent(scope)}`;
