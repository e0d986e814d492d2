/**
 * Issue 16, findings 2, 5, 6 and 10, against one running service: refusals cost the refuser,
 * not the database; a malformed path is a 400; a token pasted into a URL reaches neither the
 * logs nor the audit log; console sign-ins are capped per token and audited.
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../service/log.js';
import { createApp } from '../../service/http/app.js';
import { DEFAULT_REFUSAL_LIMITS } from '../../service/http/middleware/refusals.js';
import { cleanupTempDirs, scopePath, startTestService, type TestService } from '../support/service.js';
import { databaseBytes } from '../support/database.js';

let service: TestService;
const logLines: string[] = [];
let editor: { id: string; token: string };
let reader: { id: string; token: string };
/** The same instance's app without a socket, for the floods (fast, and no per-address bucket). */
let inProcess: ReturnType<typeof createApp>;

beforeAll(async () => {
  const destination = new Writable({
    write(chunk, _enc, cb) {
      logLines.push(...String(chunk).split('\n').filter(Boolean));
      cb();
    },
  });
  service = await startTestService({ server: { logger: createLogger({ level: 'info', destination }) } });
  expect((await service.api('POST', '/scopes', { scope: 'registry.acme.io' })).status).toBe(201);
  editor = (await service.api('POST', '/tokens', { role: 'editor', scopes: ['registry.acme.io'] })).body;
  reader = (await service.api('POST', '/tokens', { role: 'reader' })).body;
  inProcess = createApp({ instance: service.instance });
});
afterAll(async () => {
  await service?.close();
  cleanupTempDirs();
});

const auditEntries = async (): Promise<any[]> => service.instance.audit.list({ limit: 10_000 });
const as = (token: string | null, method: string, path: string, body?: unknown) =>
  fetch(`${service.url}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });

describe('finding 5: a malformed percent-encoding in a public path', () => {
  it('is answered 400 BAD_REQUEST, not a 500', async () => {
    for (const path of ['/tuf/targets/%E0%A4%A', '/tuf/targets/trust/%', '/mirrors/x/tuf/%E0%A4%A', '/crl/%ZZ.crl', '/api/v1/scopes/%E0%A4%A']) {
      const res = await fetch(`${service.url}${path}`);
      expect(res.status, path).toBeLessThan(500);
      expect(res.status, path).toBeGreaterThanOrEqual(400);
    }
    const res = await fetch(`${service.url}/tuf/targets/%E0%A4%A`);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: 'BAD_REQUEST' });
    expect(logLines.join('\n')).not.toMatch(/internal error|URIError/);
  });
});

describe('finding 6: a token pasted into a URL', () => {
  it('appears in neither the logs nor the audit log', async () => {
    const secret = reader.token.slice(reader.token.indexOf('_', 3) + 1);
    // A reader's write is refused and audited (with its path); the path carries a whole token.
    const res = await as(reader.token, 'DELETE', `/api/v1${scopePath(reader.token)}`);
    expect(res.status).toBe(403);
    const entry = (await auditEntries()).at(-1);
    expect(entry).toMatchObject({ tokenId: reader.id, outcome: 'denied' });
    expect(JSON.stringify(entry)).not.toContain(secret);
    expect(JSON.stringify(entry)).toContain('ks_[REDACTED]');
    expect(logLines.some((l) => l.includes('/api/v1/scopes/'))).toBe(true);
    expect(logLines.join('\n')).not.toContain(secret);
  });
});

describe('finding 2: refused requests', () => {
  it("still audits a valid editor's refused write", async () => {
    const res = await as(editor.token, 'POST', '/api/v1/scopes', { scope: 'other.io' });
    expect(res.status).toBe(403);
    expect((await auditEntries()).at(-1)).toMatchObject({ tokenId: editor.id, outcome: 'denied' });
  });

  it('10,000 unauthenticated requests with long paths grow the database by less than 64 KB', async () => {
    // In process (no socket, so no per-address bucket): the audit rule alone keeps the database still.
    const before = await databaseBytes(service.dataDir);
    const auditBefore = (await auditEntries()).length;
    const statuses = new Set<number>();
    const path = `/api/v1/scopes/${'x'.repeat(15_000)}`;
    for (let i = 0; i < 10_000; i++) {
      const headers: Record<string, string> = i % 3 ? {} : { authorization: 'Bearer ks_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' };
      const res = await inProcess.request(path, { method: i % 2 ? 'GET' : 'DELETE', headers });
      statuses.add(res.status);
      // Let timers run (keep-alive sockets of this process's other clients close on time).
      if (i % 100 === 0) await new Promise((r) => setImmediate(r));
    }
    expect([...statuses]).toEqual([401]);
    expect((await auditEntries()).length).toBe(auditBefore);
    expect((await databaseBytes(service.dataDir)) - before).toBeLessThan(64 * 1024);
  }, 120_000);

  it('are rate-limited per client address (429 with Retry-After), counted in metrics and logged sampled', async () => {
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < DEFAULT_REFUSAL_LIMITS.burst + 20; i++) {
      const res = await as(null, 'GET', `/api/v1/scopes/${'x'.repeat(15_000)}`);
      if (res.status === 429) retryAfter = res.headers.get('retry-after');
      await res.arrayBuffer();
      statuses.push(res.status);
    }
    expect(statuses.slice(0, DEFAULT_REFUSAL_LIMITS.burst - 5).every((s) => s === 401), statuses.join()).toBe(true);
    // Past the burst, only what the bucket refills (perSecond) is refused as 401; the rest is 429.
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(10);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    expect(metrics).toMatch(/keyshare_http_refusals_total\{code="UNAUTHORIZED"\} \d+/);
    expect(metrics).toMatch(/keyshare_http_refusals_total\{code="RATE_LIMITED"\} \d+/);
    expect(logLines.filter((l) => l.includes('api.refused')).length).toBeLessThanOrEqual(2);
  });

  it('an address out of refusals still gets the requests that succeed', async () => {
    // Drain the bucket (it refills 5 a second), then an admin's read still succeeds.
    let limited = false;
    for (let i = 0; i < 200 && !limited; i++) limited = (await as(null, 'GET', '/api/v1/scopes')).status === 429;
    expect(limited).toBe(true);
    expect((await service.api('GET', '/scopes')).status).toBe(200);
  });
});

describe('finding 10: console sign-ins', () => {
  /** Signs in through the form (CSRF cookie and field, one pair reused: the pair is checked, not stored), returning the session cookie. */
  const signInWith = async (form: { cookie: string; csrf: string }, token: string): Promise<string | null> => {
    const res = await inProcess.request('/ui/signin', {
      method: 'POST',
      headers: { cookie: form.cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf: form.csrf, token }).toString(),
    });
    const session = res.headers.getSetCookie().find((c) => c.startsWith('ks_session='));
    return session ? session.split(';')[0]! : null;
  };
  const signInForm = async () => {
    const res = await inProcess.request('/ui/signin');
    const cookie = res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    return { cookie, csrf: /name="csrf" value="([^"]+)"/.exec(await res.text())![1]! };
  };

  it('10,000 reader sign-ins leave an admin session working, and sign-ins are audited', async () => {
    const auditSeq = (await auditEntries()).at(-1).seq;
    const form = await signInForm();
    const admin = await signInWith(form, service.token);
    expect(admin).not.toBeNull();
    for (let i = 0; i < 10_000; i++) {
      expect(await signInWith(form, reader.token)).not.toBeNull();
      if (i % 100 === 0) await new Promise((r) => setImmediate(r));
    }
    const page = await inProcess.request('/ui/', { headers: { cookie: admin! } });
    expect(page.status).toBe(200);
    expect(await page.text()).not.toContain('name="token"');
    let readerSignIns = 0;
    for (let after = auditSeq; ; ) {
      const page = await service.instance.audit.list({ afterSeq: after, limit: 5_000 });
      if (page.length === 0) break;
      readerSignIns += page.filter((e) => e.action === 'console.signin' && e.tokenId === reader.id).length;
      after = page.at(-1)!.seq;
    }
    expect(readerSignIns).toBe(10_000);
  }, 300_000);
});
