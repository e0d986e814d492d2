/**
 * Chaining services (issue 5), every service in-process on loopback:
 *
 *   U ──federate (registry.acme.io)──▶ D ──federate (everything)──▶ E        outside tuf-js clients read D and E
 *   U ──mirror──▶ D (/mirrors/um/tuf/)                                       tuf-js pinned to U's root reads D
 *   U2 ──federate──▶ D                                                        two upstreams defining one scope
 *   S ──(fault proxy)──▶ F                                                    every fault, then recovery
 *   A ◀──▶ B                                                                  a loop stays bounded
 *
 * Propagation is driven by the change feed (no sync is requested by hand in that test); waits
 * are bounded loops, never timing assertions.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFixture, readFixtureText } from '../../fixtures/index.js';
import { expectedCertId, expectedPgpFingerprint, expectedSpkiId } from '../service/crypto/helpers.js';
import { exportBundle } from '../../service/federation/bundle/export.js';
import { importBundle } from '../support/federation.js';
import { openInstance } from '../../service/instance.js';
import { ANY_ADDRESS } from '../../service/net/outbound.js';
import { startServer } from '../../service/server.js';
import { TufClient, cleanupTempDirs, eventually, httpApi, scopePath, startTestService, tempDir, type TestService } from '../support/service.js';
import { FaultProxy } from '../support/fault-proxy.js';

const EC = readFixtureText('keys/ec-p256.pub.pem');
const ED = readFixtureText('keys/ed25519.pub.pem');
const P384 = readFixtureText('keys/ec-p384.pub.pem');
/** An OpenPGP key: a third kind of anchor, standing for "a key U adds later". */
const PGP = readFixtureText('pgp/release.pub.asc');
const RSA = readFixtureText('keys/rsa-2048.pub.pem');
const ROOT_CA = readFixtureText('certs/root-ca.pem');
const EC_ID = expectedSpkiId(EC);
const ED_ID = expectedSpkiId(ED);
const P384_ID = expectedSpkiId(P384);
const PGP_ID = `pgp:${expectedPgpFingerprint(readFixture('pgp/release.pub.gpg'))}`;
const RSA_ID = expectedSpkiId(RSA);
const CA_ID = expectedCertId(ROOT_CA);

type TrustDoc = {
  scope: string;
  version: number;
  level: string;
  source?: string;
  anchors: { id: string; source?: string }[];
  revoked: { keys: { id: string }[] };
};
type View = { name: string; url: string; mode: string; version: number | null; lastSuccessAt: string | null; lastError: string | null; origin: string | null; conflicts: string[] };
type Outcome = { name: string; ok: boolean; changed: boolean; timestampVersion: number | null; error: { code: string; message: string } | null };

const trustPath = (scope: string) => (scope === '*' ? 'trust/_default.json' : `trust/${scope}.json`);
const rootOf = (s: TestService) => readFileSync(join(s.dataDir, 'root.json'), 'utf8');
const init = { binBits: 4 };
const services: TestService[] = [];
const proxies: FaultProxy[] = [];

async function start(): Promise<TestService> {
  const s = await startTestService({ init });
  services.push(s);
  return s;
}

async function addUpstream(svc: TestService, body: Record<string, unknown>): Promise<{ upstream: View; sync: Outcome }> {
  const r = await svc.api('POST', '/upstreams', body);
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body;
}

async function upstream(svc: TestService, name: string): Promise<View> {
  const r = await svc.api('GET', `/upstreams/${name}`);
  expect(r.status).toBe(200);
  return r.body.upstream;
}

async function syncNow(svc: TestService, name?: string): Promise<Outcome[]> {
  const r = await svc.api('POST', name ? `/upstreams/${name}/sync` : '/sync');
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.results;
}

const ids = (doc: TrustDoc | null) => (doc?.anchors ?? []).map((a) => a.id).sort();
const sourceOf = (doc: TrustDoc | null, id: string) => doc?.anchors.find((a) => a.id === id)?.source;

afterAll(async () => {
  await Promise.all(proxies.map((p) => p.close()));
  await Promise.all(services.map((s) => s.close()));
  cleanupTempDirs();
});

describe('three services on loopback, U → D → E', () => {
  let U: TestService;
  let D: TestService;
  let E: TestService;
  let uOrigin: string;
  let dOrigin: string;
  let atD: TufClient;
  let atE: TufClient;

  beforeAll(async () => {
    [U, D, E] = await Promise.all([start(), start(), start()]);
    for (const [scope, key, name] of [
      ['registry.acme.io', EC, 'ec'],
      ['registry.acme.io/team-a', ED, 'ed'],
      ['other.example.com', P384, 'p384'],
    ] as const) {
      expect((await U.api('POST', '/scopes', { scope })).status).toBe(201);
      expect((await U.api('POST', `${scopePath(scope)}/anchors`, { publicKey: key, name })).status).toBe(201);
    }
    expect((await U.api('POST', `${scopePath('registry.acme.io')}/anchors`, { publicKey: RSA, name: 'rsa' })).status).toBe(201);
    atD = TufClient.pinnedTo(D.url, D.dataDir);
    atE = TufClient.pinnedTo(E.url, E.dataDir);
  });

  it('federates the filtered scopes of U into D, marked with their source, under D\'s own root', async () => {
    const r = await addUpstream(D, { name: 'u', url: U.url, root: rootOf(U), scopes: ['registry.acme.io'] });
    expect(r.sync.ok).toBe(true);
    expect(r.upstream).toMatchObject({ name: 'u', url: U.url, mode: 'federate', lastError: null });
    expect(r.upstream.version).toBe(U.instance.publisher.latestMetadata('timestamp')!.version);
    uOrigin = r.upstream.origin!;
    expect(uOrigin).toMatch(/^[0-9a-f]{32}$/);

    const index = await atD.readIndex();
    expect(index.scopes.map((s) => s.scope).sort()).toEqual(['registry.acme.io', 'registry.acme.io/team-a']);
    const teamA = await atD.readJson<TrustDoc>(trustPath('registry.acme.io/team-a'));
    // U's effective trust: the team's key and the inherited registry keys.
    expect(ids(teamA)).toEqual([EC_ID, ED_ID, RSA_ID].sort());
    expect(teamA!.anchors.every((a) => a.source === `upstream:u@${uOrigin}`)).toBe(true);
    expect(teamA!.source).toBe(`upstream:u@${uOrigin}`);
    const scopes = (await D.api('GET', '/scopes')).body.scopes as { scope: string; inherit: boolean; source: string }[];
    expect(scopes.find((s) => s.scope === 'registry.acme.io')).toMatchObject({ inherit: false, source: `upstream:u@${uOrigin}` });
  });

  it('chains a second hop: E follows D, and the source names both hops', async () => {
    const r = await addUpstream(E, { name: 'd', url: D.url, root: rootOf(D) });
    expect(r.sync.ok).toBe(true);
    dOrigin = r.upstream.origin!;
    const teamA = await atE.readJson<TrustDoc>(trustPath('registry.acme.io/team-a'));
    expect(ids(teamA)).toEqual([EC_ID, ED_ID, RSA_ID].sort());
    expect(sourceOf(teamA, ED_ID)).toBe(`upstream:d@${dOrigin} upstream:u@${uOrigin}`);
    expect(teamA!.source).toBe(`upstream:d@${dOrigin} upstream:u@${uOrigin}`);
  });

  it('carries a revocation at U to an outside tuf-js client at E, through the change feeds', async () => {
    const revoked = await U.api('POST', '/revocations', { kind: 'key', id: ED_ID, reason: 'keyCompromise' });
    expect(revoked.status).toBe(201);
    // No sync is requested: D follows U's feed, E follows D's.
    const doc = await eventually(
      () => atE.readJson<TrustDoc>(trustPath('registry.acme.io/team-a')),
      (d) => d !== null && d.revoked.keys.some((k) => k.id === ED_ID),
    );
    expect(doc!.revoked.keys.map((k) => k.id)).toContain(ED_ID);
    expect(ids(doc)).toEqual([EC_ID, RSA_ID].sort());
    const atDdoc = await atD.readJson<TrustDoc>(trustPath('registry.acme.io/team-a'));
    expect(ids(atDdoc)).not.toContain(ED_ID);
  });

  it('lets D add anchors on a federated scope, block an upstream anchor, and revoke locally; refuses the rest', async () => {
    const added = await D.api('POST', `${scopePath('registry.acme.io')}/anchors`, { publicKey: P384, name: 'local-p384' });
    expect(added.status, JSON.stringify(added.body)).toBe(201);
    const blocked = await D.api('POST', `${scopePath('registry.acme.io')}/blocks`, { id: EC_ID });
    expect(blocked.status, JSON.stringify(blocked.body)).toBe(201);
    expect(blocked.body.added).toBe(true);
    // A local revocation of a key U is about to add: it wins whatever U says.
    expect((await D.api('POST', '/revocations', { kind: 'key', id: PGP_ID, scope: 'registry.acme.io' })).status).toBe(201);

    // Refused on a federated scope, each with its code.
    const rmScope = await D.api('DELETE', scopePath('registry.acme.io'));
    expect(rmScope.body.code).toBe('SCOPE_FEDERATED');
    const rmAnchor = await D.api('DELETE', `${scopePath('registry.acme.io')}/anchors/${encodeURIComponent(RSA_ID)}`);
    expect(rmAnchor.body.code).toBe('ANCHOR_FEDERATED');
    const apply = await D.api('POST', '/apply', { scopes: [{ scope: 'registry.acme.io', level: 'audit' }] });
    expect(apply.body.code).toBe('APPLY_INVALID');
    expect(JSON.stringify(apply.body.details)).toContain('SCOPE_FEDERATED');

    // U changes the scope: D syncs (through the feed), its local choices stay.
    expect((await U.api('POST', `${scopePath('registry.acme.io')}/anchors`, { publicKey: PGP, name: 'release' })).status).toBe(201);
    await eventually(async () => D.instance.store.getAnchor('registry.acme.io', PGP_ID), (a) => a !== null);
    expect((await D.instance.store.getAnchor('registry.acme.io', PGP_ID))?.source).toBe(`upstream:u@${uOrigin}`);
    const published = await eventually(
      () => atD.readJson<TrustDoc>(trustPath('registry.acme.io')),
      (d) => d !== null && d.revoked.keys.some((k) => k.id === PGP_ID) && d.anchors.some((a) => a.id === P384_ID),
    );
    expect(ids(published)).toEqual([P384_ID, RSA_ID].sort());
    expect(sourceOf(published, P384_ID)).toBeUndefined();
    expect(sourceOf(published, RSA_ID)).toBe(`upstream:u@${uOrigin}`);
    // E sees D's local anchor as D's, and not the anchor D blocks. E may first sync a version of
    // D from before the block (D's changes can land in several versions): wait for D's final state.
    const atEdoc = await eventually(
      () => atE.readJson<TrustDoc>(trustPath('registry.acme.io')),
      (d) => d !== null && d.anchors.some((a) => a.id === P384_ID) && d.revoked.keys.some((k) => k.id === PGP_ID),
    );
    expect(sourceOf(atEdoc, P384_ID)).toBe(`upstream:d@${dOrigin}`);
    expect(ids(atEdoc)).not.toContain(EC_ID);

    // Unblocking brings the upstream anchor back.
    expect((await D.api('DELETE', `${scopePath('registry.acme.io')}/blocks/${encodeURIComponent(EC_ID)}`)).status).toBe(200);
    const unblocked = await eventually(
      () => atD.readJson<TrustDoc>(trustPath('registry.acme.io')),
      (d) => d !== null && d.anchors.some((a) => a.id === EC_ID),
    );
    expect(ids(unblocked)).toEqual([EC_ID, P384_ID, RSA_ID].sort());
  });

  let U2: TestService;

  it('merges two upstreams defining one scope: the union of anchors, each keeping its source', async () => {
    U2 = await start();
    expect((await U2.api('POST', '/scopes', { scope: 'registry.acme.io', level: 'audit' })).status).toBe(201);
    expect((await U2.api('POST', `${scopePath('registry.acme.io')}/anchors`, { publicKey: RSA, name: 'rsa' })).status).toBe(201);
    expect((await U2.api('POST', `${scopePath('registry.acme.io')}/anchors`, { certificate: ROOT_CA, type: 'ca', name: 'acme-root' })).status).toBe(201);
    const r = await addUpstream(D, { name: 'u2', url: U2.url, root: rootOf(U2), scopes: ['registry.acme.io'] });
    expect(r.sync.ok).toBe(true);
    const u2Origin = r.upstream.origin!;
    const doc = await eventually(
      () => atD.readJson<TrustDoc>(trustPath('registry.acme.io')),
      (d) => d !== null && d.anchors.some((a) => a.id === CA_ID),
    );
    expect(ids(doc)).toEqual([CA_ID, EC_ID, P384_ID, RSA_ID].sort());
    const both = [`upstream:u@${uOrigin}`, `upstream:u2@${u2Origin}`].sort().join(', ');
    expect(sourceOf(doc, RSA_ID)).toBe(both);
    expect(sourceOf(doc, CA_ID)).toBe(`upstream:u2@${u2Origin}`);
    expect(sourceOf(doc, EC_ID)).toBe(`upstream:u@${uOrigin}`);
    expect(doc!.source).toBe(both);
    // The stricter level of the two.
    expect(doc!.level).toBe('strict');
    expect((await upstream(D, 'u2')).lastError).toBeNull();

    // Removing one upstream takes away only what it alone brought.
    const rm = await D.api('DELETE', '/upstreams/u2');
    expect(rm.status).toBe(200);
    const after = await eventually(
      () => atD.readJson<TrustDoc>(trustPath('registry.acme.io')),
      (d) => d !== null && !d.anchors.some((a) => a.id === CA_ID),
    );
    expect(ids(after)).toEqual([EC_ID, P384_ID, RSA_ID].sort());
    expect(sourceOf(after, RSA_ID)).toBe(`upstream:u@${uOrigin}`);
  });

  it('merges a bundle origin with an online upstream the same way', async () => {
    const G = await start();
    expect((await addUpstream(G, { name: 'u', url: U.url, root: rootOf(U), scopes: ['registry.acme.io'] })).sync.ok).toBe(true);
    const out = join(tempDir(), 'u2.tar');
    await exportBundle({ dataDir: U2.dataDir, out, scopes: ['registry.acme.io'] });
    const r = await importBundle({ store: G.instance.store, file: out, root: Buffer.from(rootOf(U2)), publisher: G.instance.publisher, tmpDir: tempDir() });
    expect(r.changed).toBe(true);
    expect(r.scopes.created).toEqual([]);
    expect(r.scopes.updated).toEqual(['registry.acme.io']);
    const doc = await eventually(
      () => TufClient.pinnedTo(G.url, G.dataDir).readJson<TrustDoc>(trustPath('registry.acme.io')),
      (d) => d !== null && d.anchors.some((a) => a.id === CA_ID),
    );
    expect(sourceOf(doc, RSA_ID)).toBe([`upstream:u@${uOrigin}`, `bundle:${r.origin}`].sort().join(', '));
    expect(sourceOf(doc, CA_ID)).toBe(`bundle:${r.origin}`);
    expect(sourceOf(doc, EC_ID)).toBe(`upstream:u@${uOrigin}`);
    // The bundle origin is listed, never polled.
    const origin = (await G.api('GET', '/upstreams')).body.upstreams.find((u: View & { kind: string }) => u.kind === 'bundle');
    expect(origin).toMatchObject({ name: r.origin, url: `bundle:${r.origin}`, mode: 'mirror' });
    expect((await G.api('POST', `/upstreams/${r.origin}/sync`)).body.code).toBe('UPSTREAM_NOT_POLLED');
    expect((await syncNow(G)).map((o) => o.name)).toEqual(['u']);
  });

  it('never takes over a scope defined locally: it is left out and shown, until resolved', async () => {
    const H = await start();
    expect((await H.api('POST', '/scopes', { scope: 'registry.acme.io/team-a', level: 'audit' })).status).toBe(201);
    const r = await addUpstream(H, { name: 'u', url: U.url, root: rootOf(U), scopes: ['registry.acme.io'] });
    expect(r.sync.ok).toBe(true);
    expect(r.upstream.conflicts).toEqual(['registry.acme.io/team-a']);
    expect(r.upstream.lastError).toMatch(/^SCOPE_EXISTS: .*registry\.acme\.io\/team-a/);
    expect((await H.instance.store.getScope('registry.acme.io'))?.source).toBe(`upstream:u@${uOrigin}`);
    expect(await H.instance.store.getScope('registry.acme.io/team-a')).toMatchObject({ source: null, level: 'audit' });
    expect(await H.instance.store.listAnchors(['registry.acme.io/team-a'])).toEqual([]);
    // The local admin resolves it: the next sync brings the upstream's scope.
    expect((await H.api('DELETE', scopePath('registry.acme.io/team-a'))).status).toBe(200);
    expect((await syncNow(H, 'u'))[0]!.ok).toBe(true);
    expect((await upstream(H, 'u')).lastError).toBeNull();
    expect((await H.instance.store.getScope('registry.acme.io/team-a'))?.source).toBe(`upstream:u@${uOrigin}`);
  });

  it('mirrors U byte for byte under /mirrors/um/tuf/, read with tuf-js pinned to U\'s root', async () => {
    const r = await addUpstream(D, { name: 'um', url: U.url, root: rootOf(U), mode: 'mirror' });
    expect(r.sync.ok, JSON.stringify(r.sync)).toBe(true);
    expect(r.upstream.mode).toBe('mirror');
    const mirror = new TufClient(`${D.url}/mirrors/um`, join(U.dataDir, 'root.json'));
    const doc = await mirror.readJson<TrustDoc>(trustPath('other.example.com'));
    expect(ids(doc)).toEqual([P384_ID]);
    // The index shards travel with their role and bins (service/repo/index-bins.ts), as U lists them.
    expect((await mirror.readIndex('other.example.com')).scopes.map((e) => e.scope)).toContain('other.example.com');
    for (const file of ['1.root.json', 'timestamp.json']) {
      const [a, b] = await Promise.all([fetch(`${D.url}/mirrors/um/tuf/${file}`), fetch(`${U.url}/tuf/${file}`)]);
      expect(Buffer.from(await a.arrayBuffer()).equals(Buffer.from(await b.arrayBuffer()))).toBe(true);
    }
    // A change at U reaches the mirror (through the feed), and the same client follows it.
    expect((await U.api('POST', '/revocations', { kind: 'key', id: P384_ID, scope: 'other.example.com' })).status).toBe(201);
    const revoked = await eventually(
      () => mirror.readJson<TrustDoc>(trustPath('other.example.com')),
      (d) => d !== null && d.revoked.keys.some((k) => k.id === P384_ID),
    );
    expect(ids(revoked)).toEqual([]);
  });

  it('lists upstreams with their state, and has the lag per upstream in /metrics', async () => {
    const list = (await D.api('GET', '/upstreams')).body.upstreams as View[];
    expect(list.map((u) => u.name).sort()).toEqual(['u', 'um']);
    for (const u of list) expect(u).toMatchObject({ lastError: null, url: U.url, version: expect.any(Number), lastSuccessAt: expect.any(String) });
    const metrics = await (await fetch(`${D.url}/metrics`)).text();
    expect(metrics).toMatch(/keyshare_upstream_lag_seconds\{upstream="u"\} \d/);
    expect(metrics).toMatch(/keyshare_upstream_error\{upstream="um"\} 0/);
  });

  it('answers the change feed without a token, at once or when a new version is published', async () => {
    const current = U.instance.publisher.latestMetadata('timestamp')!.version;
    const now = await (await fetch(`${U.url}/tuf/feed?after=0`)).json();
    expect(now.timestampVersion).toBe(current);
    const waiting = fetch(`${U.url}/tuf/feed?after=${current}&wait=30`).then((r) => r.json());
    await U.api('POST', '/scopes', { scope: 'feed.example.com' });
    expect((await waiting).timestampVersion).toBeGreaterThan(current);
  });

  it('refuses what is not an upstream: editors, bad input, itself, and bundle origins as sync targets', async () => {
    const editor = (await D.api('POST', '/tokens', { role: 'editor', scopes: ['registry.acme.io'] })).body.token as string;
    const res = await fetch(`${D.url}/api/v1/upstreams`, { method: 'POST', headers: { authorization: `Bearer ${editor}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'x', url: U.url, root: rootOf(U) }) });
    expect(((await res.json()) as { code: string }).code).toBe('FORBIDDEN');
    expect((await D.api('POST', '/upstreams', { name: 'bad name', url: U.url, root: rootOf(U) })).body.code).toBe('UPSTREAM_INVALID');
    expect((await D.api('POST', '/upstreams', { name: 'x', url: 'ftp://x', root: rootOf(U) })).body.code).toBe('UPSTREAM_INVALID');
    expect((await D.api('POST', '/upstreams', { name: 'x', url: U.url, root: '{}' })).body.code).toBe('ROOT_INVALID');
    expect((await D.api('POST', '/upstreams', { name: 'u', url: U.url, root: rootOf(U) })).body.code).toBe('UPSTREAM_EXISTS');
    expect((await D.api('POST', '/upstreams', { name: 'me', url: D.url, root: rootOf(D) })).body.code).toBe('UPSTREAM_LOOP');
    expect((await D.api('POST', '/upstreams/nosuch/sync')).body.code).toBe('UPSTREAM_NOT_FOUND');
  });
});

describe('faults: a failing upstream never changes what is served, and recovery follows', () => {
  let S: TestService;
  let F: TestService;
  let proxy: FaultProxy;
  let atF: TufClient;
  const scope = 'registry.acme.io/team-a';
  let firstTimestamp: Buffer;
  /** How far F's upstream clock runs ahead (the expired-upstream fault). */
  let clockAheadMs = 0;
  // Short limits so that a slow upstream fails fast; no feed or poll, so that only the syncs asked for run.
  const managerOptions = { feed: false, pollMs: 3_600_000, limits: { requestTimeoutMs: 1_000, syncTimeoutMs: 8_000 }, clock: () => new Date(Date.now() + clockAheadMs) };

  /** What F serves for the scope, through an outside client. */
  const served = () => atF.readJson<TrustDoc>(trustPath(scope));

  async function expectFault(code: RegExp): Promise<void> {
    const before = await upstream(F, 's');
    const doc = await served();
    const [outcome] = await syncNow(F, 's');
    expect(outcome!.ok, JSON.stringify(outcome)).toBe(false);
    expect(outcome!.error!.code).toMatch(code);
    const after = await upstream(F, 's');
    expect(after.lastError).toMatch(new RegExp(`^${outcome!.error!.code}: `));
    expect(after.lastSuccessAt).toBe(before.lastSuccessAt);
    expect(after.version).toBe(before.version);
    // The last good trust is still served, unchanged.
    expect(await served()).toEqual(doc);
  }

  async function expectRecovery(check: (d: TrustDoc) => boolean): Promise<void> {
    proxy.mode = { kind: 'pass' };
    const before = await upstream(F, 's');
    const [outcome] = await syncNow(F, 's');
    expect(outcome!.ok, JSON.stringify(outcome)).toBe(true);
    const after = await upstream(F, 's');
    expect(after.lastError).toBeNull();
    expect(Date.parse(after.lastSuccessAt!)).toBeGreaterThanOrEqual(Date.parse(before.lastSuccessAt!));
    expect(check((await eventually(served, (d) => d !== null && check(d)))!)).toBe(true);
  }

  beforeAll(async () => {
    [S, F] = await Promise.all([start(), startTestService({ init, server: { upstreams: managerOptions } })]);
    services.push(F);
    expect((await S.api('POST', '/scopes', { scope })).status).toBe(201);
    expect((await S.api('POST', `${scopePath(scope)}/anchors`, { publicKey: EC, name: 'ec' })).status).toBe(201);
    proxy = await new FaultProxy(S.url).start();
    proxies.push(proxy);
    const r = await addUpstream(F, { name: 's', url: proxy.url, root: rootOf(S) });
    expect(r.sync.ok, JSON.stringify(r.sync)).toBe(true);
    atF = TufClient.pinnedTo(F.url, F.dataDir);
    expect(ids(await served())).toEqual([EC_ID]);
    // A first sync takes timestamp.json from the log's proof (issue 17): the one it accepted is the one S serves now.
    firstTimestamp = Buffer.from(await (await fetch(`${S.url}/tuf/timestamp.json`)).arrayBuffer());
  });

  it('a dead upstream', async () => {
    proxy.mode = { kind: 'dead' };
    await expectFault(/^DOWNLOAD_FAILED$/);
    await expectRecovery((d) => ids(d).includes(EC_ID));
  });

  it('a slow upstream', async () => {
    proxy.mode = { kind: 'slow', ms: 3_000 };
    await expectFault(/^(DOWNLOAD_FAILED|SYNC_TIMEOUT)$/);
    await expectRecovery((d) => ids(d).includes(EC_ID));
  });

  it('an upstream sending garbage', async () => {
    proxy.mode = { kind: 'garbage', path: /\/timestamp\.json/ };
    await expectFault(/^(METADATA_INVALID|BAD_SIGNATURE)$/);
    await expectRecovery((d) => ids(d).includes(EC_ID));
  });

  it('an upstream sending an oversized file', async () => {
    proxy.mode = { kind: 'oversized', path: /\/timestamp\.json/, bytes: 4 * 1024 * 1024 };
    await expectFault(/^TOO_LARGE$/);
    await expectRecovery((d) => ids(d).includes(EC_ID));
  });

  it('an upstream replaying an older timestamp', async () => {
    const old = proxy.seen.get('/tuf/timestamp.json')!;
    expect(old).toBeDefined();
    // The upstream moves on, and the downstream with it.
    expect((await S.api('POST', `${scopePath(scope)}/anchors`, { publicKey: ED, name: 'ed' })).status).toBe(201);
    await expectRecovery((d) => ids(d).includes(ED_ID));
    proxy.mode = { kind: 'replay', path: /\/timestamp\.json/, bytes: old };
    await expectFault(/^ROLLBACK$/);
    await expectRecovery((d) => ids(d).includes(ED_ID));
  });

  it('an expired upstream', async () => {
    // The downstream's clock past the upstream's expiry dates: the same as an upstream that stopped re-signing.
    clockAheadMs = 2 * 366 * 86_400_000;
    try {
      await expectFault(/^EXPIRED_METADATA$/);
    } finally {
      clockAheadMs = 0;
    }
    await expectRecovery((d) => ids(d).includes(ED_ID));
  });

  it('a signature by an unknown key: refetched at once, not at the next poll', async () => {
    const ts = JSON.parse(proxy.seen.get('/tuf/timestamp.json')!.toString('utf8'));
    ts.signatures = [{ keyid: 'ab'.repeat(32), sig: 'cd'.repeat(64) }];
    proxy.mode = { kind: 'replay', path: /\/timestamp\.json/, bytes: Buffer.from(JSON.stringify(ts)) };
    await expectFault(/^BAD_SIGNATURE$/);
    proxy.mode = { kind: 'pass' };
    // No sync is asked for, and the next poll is an hour away: the quick refetch heals it.
    const healed = await eventually(() => upstream(F, 's'), (u) => u.lastError === null, 20_000);
    expect(healed.lastError).toBeNull();
  });

  it('keeps its state across a restart of the downstream: versions never go backwards', async () => {
    const before = await upstream(F, 's');
    await F.close();
    const instance = await openInstance({ dataDir: F.dataDir, outbound: ANY_ADDRESS });
    const server = await startServer(instance, '127.0.0.1:0', undefined, { upstreams: managerOptions });
    F = { ...F, instance, server, url: server.url, api: httpApi(server.url, F.token), close: () => server.close() };
    services.push(F);
    atF.url = F.url;
    // The seconds left to expiry count down across the restart: the rest of the state is the same.
    const after = await upstream(F, 's');
    expect({ ...after, expiresInSeconds: null }).toEqual({ ...before, expiresInSeconds: null });
    expect(Math.abs(Number((after as { expiresInSeconds?: number }).expiresInSeconds ?? 0) - Number((before as { expiresInSeconds?: number }).expiresInSeconds ?? 0))).toBeLessThanOrEqual(5);
    const [outcome] = await syncNow(F, 's');
    expect(outcome).toMatchObject({ ok: true, changed: false, timestampVersion: before.version });
    // The first timestamp this service ever accepted is now a rollback.
    proxy.mode = { kind: 'replay', path: /\/timestamp\.json/, bytes: firstTimestamp };
    await expectFault(/^ROLLBACK$/);
    await expectRecovery((d) => ids(d).includes(ED_ID));
  });

  it('a stopped upstream, restarted', async () => {
    const dataDir = S.dataDir;
    await S.close();
    await expectFault(/^DOWNLOAD_FAILED$/);
    expect((await F.api('GET', '/upstreams')).body.upstreams[0].lastError).toMatch(/^DOWNLOAD_FAILED: /);
    S = await startTestService({ dataDir });
    services.push(S);
    proxy.target = S.url;
    expect((await S.api('POST', '/revocations', { kind: 'key', id: EC_ID, reason: 'keyCompromise' })).status).toBe(201);
    await expectRecovery((d) => d.revoked.keys.some((k) => k.id === EC_ID) && !ids(d).includes(EC_ID));
  });
});

describe('a loop: A follows B, which follows A', () => {
  it('stays bounded: no trust comes back, no version ping-pong, no growth', async () => {
    const [A, B] = await Promise.all([start(), start()]);
    expect((await A.api('POST', '/scopes', { scope: 'a.example.com' })).status).toBe(201);
    expect((await A.api('POST', `${scopePath('a.example.com')}/anchors`, { publicKey: EC, name: 'ec' })).status).toBe(201);
    expect((await B.api('POST', '/scopes', { scope: 'b.example.com' })).status).toBe(201);
    expect((await B.api('POST', `${scopePath('b.example.com')}/anchors`, { publicKey: ED, name: 'ed' })).status).toBe(201);
    const ab = await addUpstream(A, { name: 'b', url: B.url, root: rootOf(B) });
    const ba = await addUpstream(B, { name: 'a', url: A.url, root: rootOf(A) });
    expect(ab.sync.ok && ba.sync.ok).toBe(true);
    const aOrigin = ba.upstream.origin!;
    const bOrigin = ab.upstream.origin!;

    const settled = async () => {
      // A few rounds each way: each service publishes only when its trust changes.
      for (let i = 0; i < 3; i++) await Promise.all([syncNow(A), syncNow(B)]);
      await Promise.all([A.instance.publisher.flush(), B.instance.publisher.flush()]);
    };
    const snapshot = async () => ({
      versions: [A, B].map((s) => s.instance.publisher.latestMetadata('timestamp')!.version),
      scopes: await Promise.all([A, B].map(async (s) => (await s.instance.store.listScopes()).map((x) => `${x.scope}<${x.source ?? 'local'}`))),
      anchors: await Promise.all([A, B].map(async (s) => (await s.instance.store.listAnchors()).map((a) => `${a.scope}/${a.id}<${a.source ?? 'local'}`))),
      revocations: await Promise.all([A, B].map((s) => s.instance.store.count('revocations'))),
    });

    await settled();
    const first = await snapshot();
    expect(first.scopes[0]).toEqual(['a.example.com<local', `b.example.com<upstream:b@${bOrigin}`]);
    expect(first.scopes[1]).toEqual([`a.example.com<upstream:a@${aOrigin}`, 'b.example.com<local']);
    expect(first.anchors[0]).toEqual([`a.example.com/${EC_ID}<local`, `b.example.com/${ED_ID}<upstream:b@${bOrigin}`]);
    for (const [svc, name] of [[A, 'b'], [B, 'a']] as const) expect((await upstream(svc, name)).lastError).toBeNull();
    await settled();
    expect(await snapshot()).toEqual(first);

    // A change on one side crosses once, then everything is still again.
    expect((await A.api('POST', '/revocations', { kind: 'key', id: P384_ID, reason: 'superseded' })).status).toBe(201);
    await settled();
    const second = await snapshot();
    expect((await B.instance.store.listRevocations()).keys.map((k) => `${k.id}@${k.scope}`)).toEqual([`${P384_ID}@a.example.com`]);
    await settled();
    expect(await snapshot()).toEqual(second);
  });
});
