/**
 * Issue 21, client rollout status over the admin API: only a `client` token reports and it does
 * nothing else; the latest report per client is kept, bounded by a cap; the rollout of a
 * revocation counts the clients holding a version that carries it; /metrics has the totals.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openInstance, type Instance } from '../../../service/instance.js';
import { createApp } from '../../../service/http/app.js';
import { cleanupTempDirs, newDataDir, type Api } from '../../support/service.js';

const CAP = 300;
let instance: Instance;
let app: ReturnType<typeof createApp>;
let admin: Api;
let client: Api;
let clientToken: string;

const apiWith = (token: string): Api => async (method, path, body) => {
  const res = await app.request(`/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: await res.json().catch(() => null) };
};
const report = (clientId: string, version: number, labels: Record<string, string> = {}) =>
  client('POST', '/clients/reports', { clientId, version, labels, scopes: [], format: 'json', keyshareVersion: '0.1.0' });
const timestampVersion = () => instance.publisher.latestMetadata('timestamp')!.version;

beforeAll(async () => {
  const dir = await newDataDir();
  instance = await openInstance({ dataDir: dir.dataDir });
  // A generous refusal budget: the flood below is refused by the cap, not by the per-address limiter.
  app = createApp({ instance, clientLimits: { cap: CAP, ttlMs: 3600_000, metricLabelSets: 3 }, refusalLimits: { burst: 1e9, perSecond: 1e9 } });
  admin = apiWith(dir.token);
  await admin('POST', '/scopes', { scope: 'registry.acme.io' });
  clientToken = (await admin('POST', '/tokens', { role: 'client' })).body.token;
  client = apiWith(clientToken);
});
afterAll(async () => {
  await instance?.close();
  cleanupTempDirs();
});

describe('client tokens', () => {
  it('a report from a token that is not a client token is refused', async () => {
    const res = await admin('POST', '/clients/reports', { clientId: 'x', version: 1, format: 'json', keyshareVersion: '0.1.0' });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('FORBIDDEN');
    const reader = apiWith((await admin('POST', '/tokens', { role: 'reader' })).body.token);
    expect((await reader('POST', '/clients/reports', { clientId: 'x', version: 1, format: 'json', keyshareVersion: '0.1.0' })).status).toBe(403);
  });

  it('a client token reports and can do nothing else, not even read', async () => {
    expect((await report('host-1', timestampVersion(), { env: 'prod' })).status).toBe(201);
    expect((await client('GET', '/scopes')).status).toBe(403);
    expect((await client('POST', '/scopes', { scope: 'evil.io' })).status).toBe(403);
    expect((await client('GET', '/clients')).status).toBe(403);
  });

  it('refuses a bad report with REPORT_INVALID, and a version never published', async () => {
    expect((await report('bad id with spaces', 1)).body.code).toBe('REPORT_INVALID');
    expect((await report('host-2', timestampVersion() + 5)).body.code).toBe('REPORT_INVALID');
    expect((await report('host-2', 1, { 'Bad-Name': 'x' })).body.code).toBe('REPORT_INVALID');
  });
});

describe('rollout of a revocation', () => {
  it('counts the clients holding a version that carries it, and lists the others', async () => {
    const old = timestampVersion();
    const rev = await admin('POST', '/revocations', { kind: 'key', id: `sha256:${'ee'.repeat(32)}`, reason: 'keyCompromise' });
    const carrying = rev.body.published.timestampVersion as number;
    await report('host-1', old, { env: 'prod' });
    await report('host-2', old, { env: 'dev' });
    await report('host-3', carrying, { env: 'prod' });
    const before = (await admin('GET', `/rollout?id=sha256:${'ee'.repeat(32)}`)).body.revocations[0];
    expect(before).toMatchObject({ carriedFrom: carrying, clients: 3, holding: 1, behind: ['host-1', 'host-2'] });
    expect((await admin('GET', `/clients?behind=${carrying}`)).body.clients.map((c: { clientId: string }) => c.clientId)).toEqual(['host-1', 'host-2']);
    expect((await admin('GET', `/clients?behind=${carrying}&label=env=prod`)).body.clients.map((c: { clientId: string }) => c.clientId)).toEqual(['host-1']);
    await report('host-1', carrying, { env: 'prod' });
    await report('host-2', carrying, { env: 'dev' });
    expect((await admin('GET', `/rollout?id=sha256:${'ee'.repeat(32)}`)).body.revocations[0]).toMatchObject({ holding: 3, percent: 100, behind: [] });
  });

  it('counts a federated downstream’s summarised clients without naming them', async () => {
    const v = timestampVersion();
    expect((await client('POST', '/clients/reports', { clientId: 'hub-customer', version: v, format: 'federate', keyshareVersion: '0.1.0', summary: { clients: 10, holding: { [v]: 4 } } })).status).toBe(201);
    const r = (await admin('GET', `/rollout?id=sha256:${'ee'.repeat(32)}`)).body.revocations[0];
    expect(r).toMatchObject({ clients: 13, holding: 7 });
    expect(r.behind).toEqual([]);
  });
});

describe('a flood of distinct client IDs', () => {
  it('stays within the cap: the rest are refused and the table does not grow past it', async () => {
    const v = timestampVersion();
    // Over HTTP: the refusal a flooding client sees.
    const codes = new Map<string, number>();
    for (let i = 0; i < 1_000; i += 100) {
      const batch = await Promise.all(Array.from({ length: 100 }, (_, j) => report(`http-flood-${i + j}`, v)));
      for (const r of batch) codes.set(String(r.body?.code ?? r.status), (codes.get(String(r.body?.code ?? r.status)) ?? 0) + 1);
    }
    expect(await instance.store.count('clients')).toBe(CAP);
    expect(codes.get('CLIENTS_FULL')).toBe(1_000 - (CAP - 4));
    expect(codes.get('201')).toBe(CAP - 4);
    // 100k distinct IDs straight at the store, whose bound this is (one HTTP request each is too slow for npm test).
    const limits = { cap: CAP, expireBefore: new Date(Date.now() - 3600_000).toISOString() };
    // PostgreSQL answers each refusal in two round trips: 20k there keeps npm test's PostgreSQL pass within its budget.
    const flood = process.env.KEYSHARE_TEST_DATABASE === 'postgres' ? 20_000 : 100_000;
    let refused = 0;
    for (let i = 0; i < flood; i++) {
      const rec = { clientId: `flood-${i}`, tokenId: 'flood', version: v, labels: {}, scopes: [], format: 'json', keyshareVersion: '0.1.0', summary: null, reportedAt: new Date().toISOString() };
      if (!(await instance.store.putClientReport(rec, limits))) refused++;
    }
    expect(refused).toBe(flood);
    expect(await instance.store.count('clients')).toBe(CAP);
    // A known client still reports when full.
    expect((await report('host-1', v, { env: 'prod' })).status).toBe(201);
  }, 300_000);

  it('exposes totals and behind per label set on /metrics, with bounded label sets', async () => {
    const text = await (await app.request('/metrics')).text();
    expect(text).toMatch(/keyshare_clients_total\{labels="(.*)"\} \d+/);
    const sets = text.split('\n').filter((l) => l.startsWith('keyshare_clients_total{'));
    expect(sets.length).toBeLessThanOrEqual(4); // 3 named + other
    expect(text).toContain('keyshare_clients_behind{');
  });
});
