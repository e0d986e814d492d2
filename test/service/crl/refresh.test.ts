import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFixture, readFixtureText } from '../../../fixtures/index.js';
import { parseCertificate } from '../../../service/crypto/index.js';
import {
  CrlRefresher,
  MAX_REFRESH_MS,
  MIN_REFRESH_MS,
  addCrlFromUrl,
  crlRefreshInterval,
  fetchCrl,
  isCrlRefreshDue,
} from '../../../service/crl/refresh.js';
import { openInstance, type Instance } from '../../../service/instance.js';
import { ANY_ADDRESS } from '../../../service/net/outbound.js';
import { appApi, cleanupTempDirs, newDataDir } from '../../support/service.js';
import { expectCode } from '../crypto/helpers.js';

const root = parseCertificate(readFixtureText('certs/root-ca.pem'));
const intermediate = parseCertificate(readFixtureText('certs/intermediate-ca.pem'));

/** A CA's CRL distribution point whose answer the test changes. */
let serve: { status: number; body: Buffer; delayMs?: number; length?: number } = { status: 200, body: readFixture('crls/intermediate-ca.crl') };
let hits = 0;
let server: Server;
let base: string;
let instance: Instance;

beforeAll(async () => {
  server = createServer((req, res) => {
    hits++;
    const answer = () => {
      res.writeHead(serve.status, { 'content-type': 'application/pkix-crl', 'content-length': String(serve.length ?? serve.body.length) });
      res.end(serve.body);
    };
    if (serve.delayMs) setTimeout(answer, serve.delayMs);
    else answer();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { dataDir } = await newDataDir({ binBits: 4 });
  instance = await openInstance({ dataDir, outbound: ANY_ADDRESS });
  await instance.service.createScope({ scope: 'acme.io' });
  await instance.service.addAnchor('acme.io', { certificate: root.pem });
  await instance.service.addAnchor('acme.io', { certificate: intermediate.pem });
});
afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  await instance?.close();
  cleanupTempDirs();
});

describe('the refresh schedule', () => {
  const now = new Date('2026-06-01T00:00:00Z');
  const inDays = (d: number) => new Date(now.getTime() + d * 86_400_000).toISOString();

  it('is a quarter of the time left to nextUpdate, between 5 minutes and 6 hours', () => {
    expect(crlRefreshInterval({ nextUpdate: inDays(365) }, now)).toBe(MAX_REFRESH_MS);
    expect(crlRefreshInterval({ nextUpdate: inDays(0.5) }, now)).toBe(3 * 3600_000);
    expect(crlRefreshInterval({ nextUpdate: inDays(0.001) }, now)).toBe(MIN_REFRESH_MS);
    expect(crlRefreshInterval({ nextUpdate: inDays(-1) }, now)).toBe(MIN_REFRESH_MS);
  });

  it('is due without a URL never, without a fetch at once, else after the interval', () => {
    expect(isCrlRefreshDue({ url: null, nextUpdate: inDays(1), lastFetchAt: null }, now)).toBe(false);
    expect(isCrlRefreshDue({ url: 'http://x', nextUpdate: inDays(1), lastFetchAt: null }, now)).toBe(true);
    expect(isCrlRefreshDue({ url: 'http://x', nextUpdate: inDays(1), lastFetchAt: inDays(-0.1) }, now)).toBe(false);
    expect(isCrlRefreshDue({ url: 'http://x', nextUpdate: inDays(1), lastFetchAt: inDays(-0.3) }, now)).toBe(true);
  });
});

describe('fetchCrl', () => {
  it('refuses URLs that are not http(s) with CRL_URL_INVALID', async () => {
    await expectCode(() => fetchCrl('file:///etc/passwd'), 'CRL_URL_INVALID');
    await expectCode(() => fetchCrl('http://user:pw@example.com/x.crl'), 'CRL_URL_INVALID');
  });

  it('caps the size, by the announced length and by the bytes read (CRL_TOO_LARGE)', async () => {
    serve = { status: 200, body: Buffer.alloc(2000) };
    await expectCode(() => fetchCrl(`${base}/big.crl`, { maxBytes: 1000, outbound: ANY_ADDRESS }), 'CRL_TOO_LARGE');
  });

  it('gives up after the timeout (CRL_FETCH_FAILED)', async () => {
    serve = { status: 200, body: readFixture('crls/intermediate-ca.crl'), delayMs: 2000 };
    const e = await expectCode(() => fetchCrl(`${base}/slow.crl`, { timeoutMs: 200, outbound: ANY_ADDRESS }), 'CRL_FETCH_FAILED');
    expect(e.message).toMatch(/200 ms|timed out/);
  });

  it('says which HTTP status it got (CRL_FETCH_FAILED)', async () => {
    serve = { status: 404, body: Buffer.from('no') };
    await expectCode(() => fetchCrl(`${base}/missing.crl`, { outbound: ANY_ADDRESS }), 'CRL_FETCH_FAILED');
  });
});

describe('when a CRL is registered by URL', () => {
  const url = () => `${base}/intermediate.crl`;
  let clock = new Date();
  let refresher: CrlRefresher;

  beforeAll(async () => {
    serve = { status: 200, body: readFixture('crls/intermediate-ca.crl') };
    const r = await addCrlFromUrl(instance.store, instance.service, url(), { issuer: intermediate.id, outbound: ANY_ADDRESS });
    expect(r.crl).toMatchObject({ issuer: intermediate.id, crlNumber: '2', url: url() });
    refresher = new CrlRefresher(instance.store, instance.service, { clock: () => clock, outbound: ANY_ADDRESS });
  });

  it('stores it with the URL and the time of the fetch', async () => {
    expect(await instance.store.getCrl(intermediate.id)).toMatchObject({ url: url(), lastError: null, crlNumber: '2' });
    expect((await instance.store.getCrl(intermediate.id))!.lastFetchAt).not.toBeNull();
  });

  it('does not fetch again before it is due', async () => {
    clock = new Date();
    const before = hits;
    expect(await refresher.tick()).toEqual([]);
    expect(hits).toBe(before);
  });

  it('records an unchanged CRL as a successful fetch, without a new publish', async () => {
    clock = new Date(Date.now() + MAX_REFRESH_MS + 1000);
    expect(await refresher.tick()).toEqual([{ issuer: intermediate.id, url: url(), outcome: 'unchanged' }]);
    expect((await instance.store.getCrl(intermediate.id))!.lastFetchAt).toBe(clock.toISOString());
  });

  it('takes a newer CRL and publishes it', async () => {
    serve = { status: 200, body: readFixture('crls/intermediate-ca-3.crl') };
    expect((await refresher.tick(true))[0]).toMatchObject({ outcome: 'updated' });
    await instance.publisher.flush();
    const rec = (await instance.store.getCrl(intermediate.id))!;
    expect(rec.crlNumber).toBe('3');
    expect(rec.url).toBe(url());
    expect(rec.der.equals(readFixture('crls/intermediate-ca-3.crl'))).toBe(true);
  });

  it.each([
    ['an older CRL', () => readFixture('crls/intermediate-ca-1.crl'), 'ROLLBACK'],
    ['an expired CRL', () => readFixture('crls/expired.crl'), 'CRL_EXPIRED'],
    ['a CRL of another CA', () => readFixture('crls/root-ca.crl'), 'CRL_UNKNOWN_ISSUER'],
    ['something else', () => readFixture('certs/root-ca.der'), 'CRL_INVALID'],
  ])('refuses %s with the same checks, records the error and keeps the stored CRL', async (_what, body, code) => {
    serve = { status: 200, body: body() };
    const [outcome] = await refresher.tick(true);
    expect(outcome).toMatchObject({ outcome: 'failed', error: { code } });
    const rec = (await instance.store.getCrl(intermediate.id))!;
    expect(rec.lastError).toMatch(new RegExp(`^${code}: `));
    expect(rec.crlNumber).toBe('3');
  });

  it('clears the error after the next good fetch', async () => {
    serve = { status: 200, body: readFixture('crls/intermediate-ca-3.crl') };
    expect((await refresher.tick(true))[0]!.outcome).toBe('unchanged');
    expect((await instance.store.getCrl(intermediate.id))!.lastError).toBeNull();
  });
});

describe('POST /api/v1/crls with a url', () => {
  it('fetches, checks and stores the CRL of the given issuer', async () => {
    serve = { status: 200, body: readFixture('crls/root-ca.crl') };
    const token = readFileSync(join(instance.dataDir, 'admin.token'), 'utf8').trim();
    const { api } = appApi(instance, token);
    const wrong = await api('POST', '/crls', { url: `${base}/root.crl`, issuer: intermediate.id });
    expect(wrong.body.code).toBe('CRL_UNKNOWN_ISSUER');
    const r = await api('POST', '/crls', { url: `${base}/root.crl`, issuer: root.id });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body.crl).toMatchObject({ issuer: root.id, crlNumber: '1', url: `${base}/root.crl` });
    expect((await api('GET', '/crls')).body.crls.map((c: any) => c.url)).toEqual(expect.arrayContaining([`${base}/root.crl`]));
    expect((await api('POST', '/crls', {})).status).toBe(400);
  });
});
