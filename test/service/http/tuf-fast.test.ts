/**
 * The hot read path (service/http/routes/tuf.ts tufFastPath, served by service/server.ts before
 * hono): the same responses as the /tuf/ routes, request IDs and metrics included.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFixtureText } from '../../../fixtures/index.js';
import { createApp } from '../../../service/http/app.js';
import { cleanupTempDirs, httpApi, scopePath, startTestService, type TestService } from '../../support/service.js';

let svc: TestService;
let app: ReturnType<typeof createApp>;

beforeAll(async () => {
  svc = await startTestService();
  const api = httpApi(svc.url, svc.token);
  expect((await api('POST', '/scopes', { scope: 'registry.acme.io/team-a' })).status).toBe(201);
  expect((await api('POST', `${scopePath('registry.acme.io/team-a')}/anchors`, { publicKey: readFixtureText('keys/ec-p256.pub.pem') })).status).toBe(201);
  app = createApp({ instance: svc.instance });
});
afterAll(async () => {
  await svc?.close();
  cleanupTempDirs();
});

const HEADERS = ['etag', 'cache-control', 'content-type'];

/** The socket (fast path) and hono (app.request) answers to the same request. */
async function both(path: string, headers: Record<string, string> = {}) {
  const [fast, slow] = [await fetch(`${svc.url}${path}`, { headers }), await app.request(path, { headers })];
  return {
    fast: { status: fast.status, body: Buffer.from(await fast.arrayBuffer()), headers: HEADERS.map((h) => fast.headers.get(h)), id: fast.headers.get('x-request-id') },
    slow: { status: slow.status, body: Buffer.from(await slow.arrayBuffer()), headers: HEADERS.map((h) => slow.headers.get(h)) },
  };
}

async function hotPaths(): Promise<string[]> {
  const ts = JSON.parse(Buffer.from(await (await fetch(`${svc.url}/tuf/timestamp.json`)).arrayBuffer()).toString());
  const snap = `/tuf/${ts.signed.meta['snapshot.json'].version}.snapshot.json`;
  const snapshot = JSON.parse(await (await fetch(`${svc.url}${snap}`)).text());
  const targetsV = snapshot.signed.meta['targets.json'].version;
  const doc = Buffer.from(await (await fetch(`${svc.url}/tuf/targets/trust/registry.acme.io/team-a.json`)).arrayBuffer());
  const sha = createHash('sha256').update(doc).digest('hex');
  return ['/tuf/timestamp.json', snap, `/tuf/${targetsV}.targets.json`, `/tuf/targets/trust/registry.acme.io/${sha}.team-a.json`];
}

describe('when a client reads the hot TUF files over a socket', () => {
  it('gets the bytes, status and headers that the /tuf/ routes send', async () => {
    for (const path of await hotPaths()) {
      const r = await both(path);
      expect(r.fast.status, path).toBe(200);
      expect(r.fast.headers, path).toEqual(r.slow.headers);
      expect(r.fast.body.equals(r.slow.body), path).toBe(true);
      expect(r.fast.id).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it('gets 304 for a matching If-None-Match, as from the routes', async () => {
    for (const path of await hotPaths()) {
      const etag = (await fetch(`${svc.url}${path}`)).headers.get('etag')!;
      const r = await both(path, { 'if-none-match': `W/${etag}, "other"` });
      expect(r.fast.status, path).toBe(304);
      expect(r.slow.status, path).toBe(304);
      expect(r.fast.headers, path).toEqual(r.slow.headers);
    }
  });

  it('keeps the caller\'s request ID and counts the request in /metrics', async () => {
    const r = await fetch(`${svc.url}/tuf/timestamp.json`, { headers: { 'x-request-id': 'client-42' } });
    expect(r.headers.get('x-request-id')).toBe('client-42');
    const metrics = await (await fetch(`${svc.url}/metrics`)).text();
    expect(metrics).toMatch(/keyshare_http_requests_total\{method="GET",route="\/tuf\/timestamp.json",status="200"\} [1-9]/);
  });

  it('serves the new timestamp and targets role once a change is published, never the old ones', async () => {
    const before = await both('/tuf/timestamp.json');
    const api = httpApi(svc.url, svc.token);
    expect((await api('POST', '/scopes', { scope: 'registry.acme.io/team-b' })).status).toBe(201);
    await svc.instance.publisher.flush();
    const after = await both('/tuf/timestamp.json');
    expect(after.fast.body.equals(before.fast.body)).toBe(false);
    expect(after.fast.body.equals(after.slow.body)).toBe(true);
    expect(after.fast.headers).toEqual(after.slow.headers);
    for (const path of await hotPaths()) {
      const r = await both(path);
      expect(r.fast.body.equals(r.slow.body), path).toBe(true);
    }
  });

  it('leaves other paths to the routes: a missing target is a 404 with a JSON body', async () => {
    const r = await fetch(`${svc.url}/tuf/targets/trust/${'0'.repeat(64)}.nothing.json`);
    expect(r.status).toBe(404);
    expect((await r.json()).code).toBe('NOT_FOUND');
  });
});
