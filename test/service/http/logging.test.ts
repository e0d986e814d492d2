/** Structured logs: one JSON line per request with its request ID, and never a token or a session cookie. */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../../service/http/app.js';
import { openInstance, type Instance } from '../../../service/instance.js';
import { createLogger, scrubSecrets } from '../../../service/log.js';
import { cleanupTempDirs, newDataDir, scopePath } from '../../support/service.js';

function collector() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      cb();
    },
  });
  return { lines, logger: createLogger({ level: 'trace', destination: stream }) };
}

describe('the service logs', () => {
  let instance: Instance;
  let token: string;
  const { lines, logger } = collector();
  let app: ReturnType<typeof createApp>;

  beforeAll(async () => {
    const d = await newDataDir();
    token = d.token;
    instance = await openInstance({ dataDir: d.dataDir });
    app = createApp({ instance, logger });
  });
  afterAll(async () => {
    await instance.close();
    cleanupTempDirs();
  });

  const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    app.request(path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body ? JSON.stringify(body) : undefined,
    });

  it('never contain a token, during API calls, token creation, a console sign-in and errors', async () => {
    await call('GET', '/api/v1/scopes');
    await call('POST', '/api/v1/scopes', { scope: 'registry.acme.io' });
    await call('GET', scopePath('nowhere.example').replace(/^/, '/api/v1'));
    await call('GET', `/api/v1/scopes?token=${token}`);
    // A wrong token, and a token where it does not belong.
    await call('GET', '/api/v1/scopes', undefined, { authorization: `Bearer ${token.slice(0, -2)}xx` });
    await call('POST', '/api/v1/scopes', { scope: token });
    // Tokens made through the API are shown once, in the response, never in a log.
    const created = await call('POST', '/api/v1/tokens', { role: 'reader' });
    const newToken = ((await created.json()) as { token?: string }).token;
    // The console's sign-in form and its session cookie.
    const form = await app.request('/ui/signin');
    const pre = form.headers.get('set-cookie')!.split(';')[0]!;
    const csrf = /name="csrf" value="([^"]+)"/.exec(await form.text())![1]!;
    const signin = await app.request('/ui/signin', {
      method: 'POST',
      headers: { cookie: pre, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token, csrf }).toString(),
    });
    const session = signin.headers.getSetCookie().find((c) => c.startsWith('ks_session='))!.split(';')[0]!;
    await app.request('/ui/scopes', { headers: { cookie: session } });
    // Code that logs carelessly is still covered: redaction by field, and scrubbing of every line.
    logger.info({ headers: { authorization: `Bearer ${token}`, cookie: session } }, 'careless');
    logger.info({ token, nested: { token } }, 'careless');
    logger.error({ err: new Error(`failed with ${token}`) }, `careless message ${token}`);

    expect(lines.length).toBeGreaterThan(10);
    // A token is ks_<12 hex id>_<secret>; the secret alone must not appear either.
    const secretOf = (t: string) => t.slice('ks_'.length + 12 + 1);
    const secrets = [token, secretOf(token), session.split('=')[1]!, ...(newToken ? [newToken, secretOf(newToken)] : [])];
    for (const line of lines) {
      JSON.parse(line);
      for (const secret of secrets) expect(line).not.toContain(secret);
    }
    expect(lines.some((l) => l.includes('[REDACTED]'))).toBe(true);
  });

  it('logs one JSON line per request with a request ID, echoed in x-request-id', async () => {
    const res = await call('GET', '/api/v1/scopes', undefined, { 'x-request-id': 'trace-1234' });
    expect(res.headers.get('x-request-id')).toBe('trace-1234');
    const line = lines.map((l) => JSON.parse(l)).find((l) => l.reqId === 'trace-1234');
    expect(line).toMatchObject({ level: 'info', msg: 'request', method: 'GET', path: '/api/v1/scopes', status: 200, service: 'keyshare' });
    expect(typeof line.ms).toBe('number');
    expect(typeof line.time).toBe('string');
    // A caller's ID that is not plain is replaced by a fresh one.
    const odd = await call('GET', '/healthz', undefined, { 'x-request-id': 'bad id {"level":"fatal"}' });
    expect(odd.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('honours the level', async () => {
    const quiet = collector();
    const l = createLogger({ level: 'warn', destination: new Writable({ write: (c, _e, cb) => (quiet.lines.push(String(c)), cb()) }) });
    const a = createApp({ instance, logger: l });
    await a.request('/healthz');
    await a.request('/api/v1/scopes');
    expect(quiet.lines).toEqual([]);
  });

  it('scrubs token shapes, bearer credentials and session cookies from any text', () => {
    expect(scrubSecrets(`x ${token} y`)).toBe('x ks_[REDACTED] y');
    expect(scrubSecrets('Authorization: Bearer abc.def')).toBe('Authorization: Bearer [REDACTED]');
    expect(scrubSecrets('cookie: ks_session=abcdef; other=1')).toBe('cookie: ks_session=[REDACTED]; other=1');
  });
});
