/** /metrics: Prometheus text format, names keyshare_*, the right types, and values that follow the repository. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openInstance, type Instance } from '../../../service/instance.js';
import { readFixtureText } from '../../../fixtures/index.js';
import { appApi, cleanupTempDirs, newDataDir, scopePath, type Api } from '../../support/service.js';
import { sqlRows } from '../../support/store.js';

/** Parses the text format into { name: type } and the samples. */
function parse(text: string) {
  const types = new Map<string, string>();
  const samples: { name: string; labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    const t = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (t) types.set(t[1]!, t[2]!);
    const s = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (s && !line.startsWith('#')) {
      const labels: Record<string, string> = {};
      for (const m of (s[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[m[1]!] = m[2]!;
      samples.push({ name: s[1]!, labels, value: Number(s[3]) });
    }
  }
  return { types, samples };
}

describe('the /metrics endpoint', () => {
  let instance: Instance;
  let app: ReturnType<typeof appApi>['app'];
  let api: Api;

  beforeAll(async () => {
    const { dataDir, token } = await newDataDir();
    instance = await openInstance({ dataDir });
    ({ app, api } = appApi(instance, token));
  });
  afterAll(async () => {
    await instance.close();
    cleanupTempDirs();
  });

  const scrape = async () => {
    const res = await app.request('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return parse(await res.text());
  };

  it('names every metric keyshare_* with the expected type', async () => {
    await api('GET', '/scopes');
    const { types } = await scrape();
    for (const name of types.keys()) expect(name).toMatch(/^keyshare_/);
    expect(Object.fromEntries(types)).toMatchObject({
      keyshare_http_requests_total: 'counter',
      keyshare_http_request_duration_seconds: 'histogram',
      keyshare_publish_total: 'counter',
      keyshare_publish_duration_seconds: 'histogram',
      keyshare_publish_roles_signed_total: 'counter',
      keyshare_role_expiry_seconds: 'gauge',
      keyshare_publisher_leader: 'gauge',
      keyshare_role_version: 'gauge',
      keyshare_upstream_lag_seconds: 'gauge',
      keyshare_upstream_error: 'gauge',
      keyshare_upstream_timestamp_version: 'gauge',
      keyshare_crl_next_update_seconds: 'gauge',
      keyshare_anchors_expiring_soon: 'gauge',
      keyshare_anchors_expired: 'gauge',
    });
  });

  it('counts requests by route pattern (never the raw path) and status, with latency', async () => {
    await api('POST', '/scopes', { scope: 'registry.acme.io' });
    await api('GET', scopePath('registry.acme.io'));
    await api('GET', scopePath('nowhere.example'));
    const { samples } = await scrape();
    const count = (route: string, status: string) =>
      samples.find((s) => s.name === 'keyshare_http_requests_total' && s.labels.route === route && s.labels.status === status)?.value;
    expect(count('/api/v1/scopes/:scope', '200')).toBe(1);
    expect(count('/api/v1/scopes/:scope', '404')).toBe(1);
    expect(count('/api/v1/scopes', '201')).toBe(1);
    expect(samples.some((s) => s.labels.route?.includes('nowhere'))).toBe(false);
    const hist = samples.find((s) => s.name === 'keyshare_http_request_duration_seconds_count' && s.labels.route === '/api/v1/scopes/:scope' && s.labels.status === '200');
    expect(hist?.value).toBe(1);
  });

  it('follows publishes and the version and expiry of each role', async () => {
    const before = (await scrape()).samples;
    const version = (ss: typeof before, role: string) => ss.find((s) => s.name === 'keyshare_role_version' && s.labels.role === role)!.value;
    const published = (ss: typeof before) => ss.find((s) => s.name === 'keyshare_publish_total' && s.labels.outcome === 'ok')!.value;
    await api('POST', '/scopes', { scope: 'registry.acme.io/team-a' });
    const after = (await scrape()).samples;
    expect(version(after, 'timestamp')).toBe(version(before, 'timestamp') + 1);
    expect(published(after)).toBe(published(before) + 1);
    expect(after.find((s) => s.name === 'keyshare_publish_duration_seconds_count')!.value).toBeGreaterThanOrEqual(2);
    for (const role of ['root', 'timestamp', 'snapshot', 'targets', 'bins']) {
      const left = after.find((s) => s.name === 'keyshare_role_expiry_seconds' && s.labels.role === role)!.value;
      expect(left).toBeGreaterThan(3600);
    }
    expect(version(after, 'timestamp')).toBe(instance.publisher.latestMetadata('timestamp')!.version);
  });

  it('counts anchors expiring within 30 days, and shows CRL time left and upstream lag from the store', async () => {
    await api('POST', `${scopePath('registry.acme.io')}/anchors`, { certificate: readFixtureText('certs/root-ca.pem') });
    let { samples } = await scrape();
    expect(samples.find((s) => s.name === 'keyshare_anchors_expiring_soon')!.value).toBe(0);
    // Rows written as the CRL and upstream features write them.
    const soon = new Date(Date.now() + 10 * 86_400_000).toISOString();
    await sqlRows(instance.store, `UPDATE anchors SET not_after = ? WHERE scope = 'registry.acme.io'`, [soon]);
    const next = new Date(Date.now() + 3600_000).toISOString();
    await sqlRows(instance.store, `INSERT INTO crls (issuer, crl_number, this_update, next_update, der, updated_at) VALUES ('sha256:${'a'.repeat(64)}', '01', ?, ?, ?, ?)`, [
      new Date().toISOString(),
      next,
      Buffer.from([0]),
      new Date().toISOString(),
    ]);
    const lastSync = new Date(Date.now() - 120_000).toISOString();
    await instance.store.putUpstream({
      name: 'corp',
      url: 'https://corp.example',
      mode: 'federate',
      scopes: null,
      root: Buffer.from('{}'),
      state: null,
      timestampVersion: 42,
      lastSuccessAt: lastSync,
      lastError: 'connection refused',
      createdAt: lastSync,
    });
    ({ samples } = await scrape());
    expect(samples.find((s) => s.name === 'keyshare_anchors_expiring_soon')!.value).toBe(1);
    const crl = samples.find((s) => s.name === 'keyshare_crl_next_update_seconds')!;
    expect(crl.labels.issuer).toBe(`sha256:${'a'.repeat(64)}`);
    expect(crl.value).toBeGreaterThan(3500);
    expect(crl.value).toBeLessThanOrEqual(3600);
    const lag = samples.find((s) => s.name === 'keyshare_upstream_lag_seconds' && s.labels.upstream === 'corp')!.value;
    expect(lag).toBeGreaterThanOrEqual(119);
    expect(samples.find((s) => s.name === 'keyshare_upstream_error' && s.labels.upstream === 'corp')!.value).toBe(1);
    expect(samples.find((s) => s.name === 'keyshare_upstream_timestamp_version' && s.labels.upstream === 'corp')!.value).toBe(42);
  });

  it('keeps a registry per app: two apps on one instance count separately', async () => {
    const other = appApi(instance, null).app;
    await other.request('/healthz');
    const text = await (await other.request('/metrics')).text();
    const { samples } = parse(text);
    const requests = samples.filter((s) => s.name === 'keyshare_http_requests_total');
    expect(requests.map((s) => s.labels.route)).toEqual(['/healthz']);
  });
});
