/**
 * Issue 21, federation: a downstream keyshare (D) reports to its upstream (U) as one client, with
 * its own clients' rollout summarised in U's versions, so that U's `clients ls` and rollout count
 * D's machines without listing them. Two services on loopback; D's clients report through D's API.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFixtureText } from '../../fixtures/index.js';
import { expectedSpkiId } from '../service/crypto/helpers.js';
import { cleanupTempDirs, scopePath, startTestService, type TestService } from '../support/service.js';

const EC = readFixtureText('keys/ec-p256.pub.pem');
const EC_ID = expectedSpkiId(EC);
const rootOf = (s: TestService) => readFileSync(join(s.dataDir, 'root.json'), 'utf8');
const version = (s: TestService) => s.instance.publisher.latestMetadata('timestamp')!.version;

let U: TestService;
let D: TestService;
let dClientToken: string;

async function clientToken(s: TestService): Promise<string> {
  const r = await s.api('POST', '/tokens', { role: 'client' });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body.token;
}

async function report(s: TestService, token: string, clientId: string, v: number) {
  return fetch(`${s.url}/api/v1/clients/reports`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ clientId, version: v, format: 'pem', keyshareVersion: '0.1.0' }),
  });
}

async function syncD() {
  const r = await D.api('POST', '/upstreams/u/sync');
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  expect(r.body.results[0].ok, JSON.stringify(r.body)).toBe(true);
  await D.instance.publisher.flush();
}

beforeAll(async () => {
  // U keeps at most 2 clients (serve --clients-cap): D counts as one, whatever it summarises.
  [U, D] = await Promise.all([startTestService({ init: { binBits: 4 }, server: { clients: { cap: 2 } } }), startTestService({ init: { binBits: 4 } })]);
  expect((await U.api('POST', '/scopes', { scope: 'registry.acme.io' })).status).toBe(201);
  expect((await U.api('POST', `${scopePath('registry.acme.io')}/anchors`, { publicKey: EC, name: 'ec' })).status).toBe(201);
  await U.instance.publisher.flush();
  const added = await D.api('POST', '/upstreams', { name: 'u', url: U.url, root: rootOf(U), reportToken: await clientToken(U) });
  expect(added.status, JSON.stringify(added.body)).toBe(201);
  expect(added.body.sync.ok).toBe(true);
  await D.instance.publisher.flush();
  dClientToken = await clientToken(D);
});
afterAll(async () => {
  await Promise.all([U, D].map((s) => s?.close()));
  cleanupTempDirs();
});

describe("a federated downstream's summary reaches its upstream", () => {
  it("counts the downstream's clients in the upstream's rollout, as they refresh", async () => {
    const before = version(D);
    for (const id of ['d-1', 'd-2', 'd-3']) expect((await report(D, dClientToken, id, before)).status).toBe(201);

    // The key leaks at U; D follows (the sync reports), but D's clients still hold the old version.
    expect((await U.api('POST', '/revocations', { kind: 'key', id: EC_ID, reason: 'keyCompromise' })).status).toBe(201);
    await U.instance.publisher.flush();
    await syncD();
    expect(version(D)).toBeGreaterThan(before);

    const listed = await U.api('GET', '/clients');
    expect(listed.status).toBe(200);
    const hub = (listed.body.clients as { clientId: string; version: number; summary: { clients: number } | null }[]).find((c) => c.clientId.startsWith('keyshare-'));
    expect(hub, JSON.stringify(listed.body)).toBeDefined();
    expect(hub).toMatchObject({ version: version(U), summary: { clients: 3 } });
    // The machines behind D are not listed at U.
    expect((listed.body.clients as { clientId: string }[]).map((c) => c.clientId)).toEqual([hub!.clientId]);
    const rollout = async () => (await U.api('GET', `/rollout?id=${encodeURIComponent(EC_ID)}`)).body.revocations[0];
    expect(await rollout()).toMatchObject({ carriedFrom: version(U), clients: 3, holding: 0, percent: 0 });

    // Two of D's clients refresh; the next sync of D (a poll, or by hand) reports again.
    for (const id of ['d-1', 'd-2']) expect((await report(D, dClientToken, id, version(D))).status).toBe(201);
    await syncD();
    expect(await rollout()).toMatchObject({ clients: 3, holding: 2, percent: 66.66 });
    expect((await report(D, dClientToken, 'd-3', version(D))).status).toBe(201);
    await syncD();
    expect(await rollout()).toMatchObject({ clients: 3, holding: 3, percent: 100 });
  });

  it('the upstream keeps the downstream as one client within its --clients-cap', async () => {
    const t = await clientToken(U);
    expect((await report(U, t, 'direct-1', version(U))).status).toBe(201);
    const full = await report(U, t, 'direct-2', version(U));
    expect(full.status).toBe(429);
    expect(((await full.json()) as { code: string }).code).toBe('CLIENTS_FULL');
  });

  it('refuses a report token for a mirror, and a token that is not a token', async () => {
    const mirror = await D.api('POST', '/upstreams', { name: 'm', url: U.url, root: rootOf(U), mode: 'mirror', reportToken: await clientToken(U) });
    expect(mirror.status).toBe(400);
    expect(mirror.body.code).toBe('UPSTREAM_INVALID');
    const bad = await D.api('POST', '/upstreams', { name: 'x', url: U.url, root: rootOf(U), reportToken: 'not a token' });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('UPSTREAM_INVALID');
  });
});
