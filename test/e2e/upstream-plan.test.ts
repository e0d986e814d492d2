/**
 * Issue 21, plans: `upstream add` with ?dryRun=true reads the upstream once (the same first sync
 * as the real add) and answers the plan per scope, changing nothing; the real add then publishes
 * exactly that diff. Two services on loopback: U (the upstream) and D (which follows it).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFixtureText } from '../../fixtures/index.js';
import { expectedSpkiId } from '../service/crypto/helpers.js';
import { appApi, cleanupTempDirs, newDataDir, scopePath, startTestService, type Api, type TestService } from '../support/service.js';
import { openInstance, type Instance } from '../../service/instance.js';
import { ANY_ADDRESS } from '../../service/net/outbound.js';

const EC = readFixtureText('keys/ec-p256.pub.pem');
const ED = readFixtureText('keys/ed25519.pub.pem');
const P384 = readFixtureText('keys/ec-p384.pub.pem');

const rootOf = (s: TestService) => readFileSync(join(s.dataDir, 'root.json'), 'utf8');
let U: TestService;
let D: TestService;

beforeAll(async () => {
  [U, D] = await Promise.all([startTestService({ init: { binBits: 4 } }), startTestService({ init: { binBits: 4 } })]);
  for (const [scope, key, name] of [
    ['registry.acme.io', EC, 'ec'],
    ['registry.acme.io/team-a', ED, 'ed'],
  ] as const) {
    expect((await U.api('POST', '/scopes', { scope })).status).toBe(201);
    expect((await U.api('POST', `${scopePath(scope)}/anchors`, { publicKey: key, name })).status).toBe(201);
  }
  expect((await U.api('POST', '/revocations', { kind: 'signature', digest: `sha256:${'cd'.repeat(32)}`, scope: 'registry.acme.io' })).status).toBe(201);
  // D's own scope, under the upstream's: it keeps its anchor, and inherits nothing new (the federated parent is defined at U).
  expect((await D.api('POST', '/scopes', { scope: 'local.example.com' })).status).toBe(201);
  expect((await D.api('POST', `${scopePath('local.example.com')}/anchors`, { publicKey: P384, name: 'p384' })).status).toBe(201);
  await Promise.all([U.instance.publisher.flush(), D.instance.publisher.flush()]);
});
afterAll(async () => {
  await Promise.all([U, D].map((s) => s?.close()));
  cleanupTempDirs();
});

const timestampVersion = (s: TestService) => s.instance.publisher.latestMetadata('timestamp')!.version;

describe('upstream add --dry-run', () => {
  it('plans what following the upstream adds per scope, changes nothing, and equals the diff the add publishes', async () => {
    const before = timestampVersion(D);
    const body = { name: 'u', url: U.url, root: rootOf(U), scopes: ['registry.acme.io'] };
    const planned = await D.api('POST', '/upstreams?dryRun=true', body);
    expect(planned.status, JSON.stringify(planned.body)).toBe(200);
    expect(planned.body).toMatchObject({ dryRun: true, sync: { ok: true, timestampVersion: timestampVersion(U) } });
    const plan = planned.body.plan as { scope: string; change: string; anchorsAdded: { id: string }[]; revoked: { id: string }[] }[];
    expect(plan.map((p) => [p.scope, p.change])).toEqual([
      ['registry.acme.io', 'create'],
      ['registry.acme.io/team-a', 'create'],
    ]);
    expect(plan[1]!.anchorsAdded.map((a) => a.id).sort()).toEqual([expectedSpkiId(EC), expectedSpkiId(ED)].sort());
    expect(plan[0]!.revoked.map((r) => r.id)).toEqual([`sha256:${'cd'.repeat(32)}`]);

    // Nothing changed: no upstream row, no scope, no publish, no cache, no audit entry.
    expect((await D.api('GET', '/upstreams')).body.upstreams).toEqual([]);
    expect(((await D.api('GET', '/scopes')).body.scopes as { scope: string }[]).map((s) => s.scope)).toEqual(['local.example.com']);
    await D.instance.publisher.flush();
    expect(timestampVersion(D)).toBe(before);
    expect(existsSync(join(D.dataDir, 'upstreams', 'u'))).toBe(false);
    const audit = (await D.api('GET', '/audit')).body.entries as { action: string }[];
    expect(audit.some((e) => e.action === 'upstream.add')).toBe(false);

    const added = await D.api('POST', '/upstreams', body);
    expect(added.status, JSON.stringify(added.body)).toBe(201);
    await D.instance.publisher.flush();
    const diff = await D.api('GET', `/diff?from=${before}&to=${timestampVersion(D)}`);
    expect(diff.status, JSON.stringify(diff.body)).toBe(200);
    expect(diff.body.changes).toEqual(plan);
  });

  it('a second plan of an upstream already followed is refused (UPSTREAM_EXISTS), and an unreachable one has no plan', async () => {
    const exists = await D.api('POST', '/upstreams?dryRun=true', { name: 'u', url: U.url, root: rootOf(U) });
    expect(exists.status).toBe(409);
    expect(exists.body.code).toBe('UPSTREAM_EXISTS');
    const down = await D.api('POST', '/upstreams?dryRun=true', { name: 'gone', url: 'http://127.0.0.1:9', root: rootOf(U) });
    expect(down.status, JSON.stringify(down.body)).toBeGreaterThanOrEqual(400);
    expect(down.body.message).toMatch(/no plan/);
    expect(((await D.api('GET', '/upstreams')).body.upstreams as { name: string }[]).map((u) => u.name)).toEqual(['u']);
  });

  it('upstream rm --dry-run: plans the federated scopes that go, leaves the upstream followed, and equals the diff the removal publishes', async () => {
    await D.instance.publisher.flush();
    const before = timestampVersion(D);
    const planned = await D.api('DELETE', '/upstreams/u?dryRun=true');
    expect(planned.status, JSON.stringify(planned.body)).toBe(200);
    expect(planned.body).toMatchObject({ dryRun: true, removed: 'u', scopesRemoved: ['registry.acme.io', 'registry.acme.io/team-a'] });
    const plan = planned.body.plan as { scope: string; change: string }[];
    expect(plan.map((p) => [p.scope, p.change])).toEqual([
      ['registry.acme.io', 'remove'],
      ['registry.acme.io/team-a', 'remove'],
    ]);
    // Still followed, still synced, its cache kept; nothing published.
    expect(((await D.api('GET', '/upstreams')).body.upstreams as { name: string }[]).map((u) => u.name)).toEqual(['u']);
    expect(existsSync(join(D.dataDir, 'upstreams', 'u'))).toBe(true);
    expect((await D.api('POST', '/upstreams/u/sync')).body.results[0].ok).toBe(true);
    await D.instance.publisher.flush();
    expect(timestampVersion(D)).toBe(before);

    expect((await D.api('DELETE', '/upstreams/u')).status).toBe(200);
    await D.instance.publisher.flush();
    const diff = await D.api('GET', `/diff?from=${before}&to=${timestampVersion(D)}`);
    expect(diff.body.changes).toEqual(plan);
  });

  it('needs an admin token, like the add', async () => {
    const t = await D.api('POST', '/tokens', { role: 'editor', scopes: ['registry.acme.io'] });
    const r = await fetch(`${D.url}/api/v1/upstreams?dryRun=true`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.body.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'x', url: U.url, root: rootOf(U) }),
    });
    expect(r.status).toBe(403);
  });
});

describe('sync --dry-run', () => {
  // A follower whose upstreams are not started (no poll, no feed): only the syncs asked for here run.
  let E: Instance;
  let api: Api;
  beforeAll(async () => {
    const dir = await newDataDir({ binBits: 4 });
    E = await openInstance({ dataDir: dir.dataDir, outbound: ANY_ADDRESS });
    ({ api } = appApi(E, dir.token));
    const added = await api('POST', '/upstreams', { name: 'u', url: U.url, root: rootOf(U), scopes: ['registry.acme.io'] });
    expect(added.status, JSON.stringify(added.body)).toBe(201);
    await E.publisher.flush();
  });
  afterAll(async () => E?.close());

  it('plans what the next sync brings (a revocation made upstream), changes nothing, and equals the diff that sync publishes', async () => {
    const digest = `sha256:${'ef'.repeat(32)}`;
    expect((await U.api('POST', '/revocations', { kind: 'signature', digest, scope: 'registry.acme.io/team-a' })).status).toBe(201);
    await U.instance.publisher.flush();
    const before = E.publisher.latestMetadata('timestamp')!.version;
    const seen = ((await api('GET', '/upstreams/u')).body.upstream as { version: number }).version;

    const planned = await api('POST', '/upstreams/u/sync?dryRun=true');
    expect(planned.status, JSON.stringify(planned.body)).toBe(200);
    expect(planned.body).toMatchObject({ dryRun: true, results: [{ name: 'u', ok: true, timestampVersion: timestampVersion(U) }] });
    const plan = planned.body.plan as { scope: string; revoked: { id: string }[] }[];
    expect(plan.map((p) => [p.scope, p.revoked.map((r) => r.id)])).toEqual([['registry.acme.io/team-a', [digest]]]);
    // Every upstream at once plans the same.
    expect((await api('POST', '/sync?dryRun=true')).body.plan).toEqual(plan);

    // Nothing changed: the upstream's recorded version, the published version, the audit log.
    expect(((await api('GET', '/upstreams/u')).body.upstream as { version: number }).version).toBe(seen);
    await E.publisher.flush();
    expect(E.publisher.latestMetadata('timestamp')!.version).toBe(before);

    const synced = await api('POST', '/upstreams/u/sync');
    expect(synced.body.results[0]).toMatchObject({ ok: true, changed: true });
    await E.publisher.flush();
    const diff = await api('GET', `/diff?from=${before}&to=${E.publisher.latestMetadata('timestamp')!.version}`);
    expect(diff.body.changes).toEqual(plan);
  });
});
