/** The admin API client used by admin commands: JSON over HTTP with the bearer token. */
import { KeyshareError, Codes } from '../service/errors.js';
import { adminToken, serverUrl } from './settings.js';
import { httpRequest, type HttpAnswer } from '../sync/client/http.js';

export interface AdminFlags {
  server?: string;
  token?: string;
  data?: string;
}

export class AdminClient {
  constructor(
    private readonly base: string,
    private readonly token: string,
  ) {}

  static from(flags: AdminFlags): AdminClient {
    return new AdminClient(serverUrl(flags.server), adminToken(flags));
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
    return json as T;
  }
}

export const scopePath = (scope: string) => `/scopes/${encodeURIComponent(scope)}`;
