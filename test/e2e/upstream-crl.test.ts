/**
 * CRLs of federated CA anchors travel down a chain of services (issues 4 and 5), in-process on
 * loopback:
 *
 *   U ──federate (registry.acme.io)──▶ D ──federate──▶ E        tuf-js, `keyshare fetch --format pem` and openssl read E
 *   U3 ──federate──▶ D                                           a test double of an upstream offering an older CRL
 *
 * U publishes the intermediate CA's CRL; D carries it (verified as a TUF target, then checked
 * like `crl add`) and republishes it; E does the same from D. The newest CRL (RFC 5280 5.2.3,
 * CRL number) wins wherever it comes from. Waits are bounded polls, never timing assertions.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFixture, readFixtureText } from '../../fixtures/index.js';
import { packageRoot } from '../../service/util/paths.js';
import { expectedSpkiId } from '../service/crypto/helpers.js';
import { CRL_2, CRL_TARGET, HAVE_OPENSSL, INT_CA, INT_ID, LEAF_SERIAL, REVOKED_SERIAL, ROOT_CA, verifyWithCrl } from '../support/crl-fixtures.js';
import { mintCrl } from '../support/crl-mint.js';
import { TufClient, cleanupTempDirs, eventually, scopePath, startTestService, tempDir, type TestService } from '../support/service.js';

const BIN = join(packageRoot(), 'bin', 'keyshare.js');
const EC = readFixtureText('keys/ec-p256.pub.pem');
const EC_ID = expectedSpkiId(EC);
const SCOPE = 'registry.acme.io';
/** fixtures/crls/intermediate-ca-3.crl: CRL number 3, older than the CRLs U publishes later. */
const CRL_3 = readFixture('crls/intermediate-ca-3.crl');

type View = { name: string; lastError: string | null; lastSuccessAt: string | null; version: number | null };
type TrustDoc = { anchors: { id: string }[]; crls: { issuer: string; target: string; urls?: string[] }[] };

const services: TestService[] = [];
const rootOf = (s: TestService) => readFileSync(join(s.dataDir, 'root.json'), 'utf8');

async function start(): Promise<TestService> {
  const s = await startTestService({ init: { binBits: 4 } });
  services.push(s);
  return s;
}

async function addCrl(svc: TestService, der: Buffer): Promise<void> {
  const r = await svc.api('POST', '/crls', { crl: der.toString('base64'), encoding: 'base64' });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
}

async function addUpstream(svc: TestService, body: Record<string, unknown>): Promise<{ upstream: View; sync: Record<string, unknown> }> {
  const r = await svc.api('POST', '/upstreams', body);
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body;
}

const upstream = async (svc: TestService, name: string): Promise<View> => (await svc.api('GET', `/upstreams/${name}`)).body.upstream;
const served = async (svc: TestService) => Buffer.from(await (await fetch(`${svc.url}/${CRL_TARGET}`)).arrayBuffer());

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) =>
    execFile(process.execPath, [BIN, ...args], { timeout: 30_000 }, (error, stdout, stderr) =>
      done({ code: error ? Number(error.code ?? -1) : 0, stdout: String(stdout), stderr: String(stderr) }),
    ),
  );
}

afterAll(async () => {
  await Promise.all(services.map((s) => s.close()));
  cleanupTempDirs();
});

it('has openssl (required when CI is set)', () => {
  if (process.env.CI) expect(HAVE_OPENSSL, 'openssl is required for the e2e tests: install it (.ci/run does)').toBe(true);
});

describe.skipIf(!HAVE_OPENSSL && !process.env.CI)('when a federated CA publishes a CRL, U → D → E', () => {
  let U: TestService;
  let D: TestService;
  let E: TestService;
  let atE: TufClient;
  let dir: string;

  /** `keyshare fetch --format pem` at E, then `openssl verify -crl_check` of a leaf with E's bundle and .crl.pem. */
  async function verifyAtE(leaf: string): Promise<{ code: number; out: string }> {
    const out = join(dir, `pem-${Math.random().toString(36).slice(2)}`);
    const r = await run(['fetch', '--server', E.url, '--root', join(E.dataDir, 'root.json'), '--out', out, '--format', 'pem', '--cache', join(dir, 'cache')]);
    expect(r.code, r.stderr).toBe(0);
    return verifyWithCrl(out, SCOPE, leaf);
  }

  beforeAll(async () => {
    expect(existsSync(join(packageRoot(), 'dist', 'cli', 'main.js')), 'dist/ is missing: run `npm run build`').toBe(true);
    dir = tempDir('keyshare-upstream-crl-');
    [U, D, E] = await Promise.all([start(), start(), start()]);
    expect((await U.api('POST', '/scopes', { scope: SCOPE })).status).toBe(201);
    for (const certificate of [ROOT_CA, INT_CA]) {
      expect((await U.api('POST', `${scopePath(SCOPE)}/anchors`, { certificate, type: 'ca' })).status).toBe(201);
    }
    await addCrl(U, CRL_2);
    expect((await addUpstream(D, { name: 'u', url: U.url, root: rootOf(U), scopes: [SCOPE] })).sync.ok).toBe(true);
    expect((await addUpstream(E, { name: 'd', url: D.url, root: rootOf(D) })).sync.ok).toBe(true);
    atE = TufClient.pinnedTo(E.url, E.dataDir);
  });

  it("publishes U's CRL at E byte for byte, listed in E's trust document, and openssl rejects the revoked leaf", async () => {
    const target = await eventually(() => atE.readTarget(CRL_TARGET), (b) => b !== null && b.equals(CRL_2));
    expect(target?.equals(CRL_2)).toBe(true);
    expect((await served(E)).equals(CRL_2)).toBe(true);
    const doc = await atE.readJson<TrustDoc>(`trust/${SCOPE}.json`);
    expect(doc!.crls).toEqual([{ issuer: INT_ID, target: CRL_TARGET }]);
    for (const svc of [D, E]) expect((await svc.instance.store.getCrl(INT_ID))?.crlNumber).toBe('2');
    expect((await upstream(D, 'u')).lastError).toBeNull();

    const revoked = await verifyAtE('leaf-revoked.pem');
    expect(revoked.code).not.toBe(0);
    expect(revoked.out).toMatch(/certificate revoked/);
    const good = await verifyAtE('leaf.pem');
    expect(good.code, good.out).toBe(0);
  });

  let crl5: Buffer;

  it("carries a newer CRL at U to E's published repository", async () => {
    crl5 = await mintCrl(5, [REVOKED_SERIAL, LEAF_SERIAL]);
    // No sync is asked for: D follows U's change feed, E follows D's.
    await addCrl(U, crl5);
    const target = await eventually(() => atE.readTarget(CRL_TARGET), (b) => b !== null && b.equals(crl5));
    expect(target?.equals(crl5)).toBe(true);
    const leaf = await verifyAtE('leaf.pem');
    expect(leaf.code).not.toBe(0);
    expect(leaf.out).toMatch(/certificate revoked/);
  });

  it('never replaces the newer CRL with an older one from an upstream, and shows ROLLBACK in upstream ls', async () => {
    // A test double of an upstream: the same CA, with a CRL older than the one D holds.
    const U3 = await start();
    expect((await U3.api('POST', '/scopes', { scope: SCOPE })).status).toBe(201);
    expect((await U3.api('POST', `${scopePath(SCOPE)}/anchors`, { certificate: INT_CA, type: 'ca' })).status).toBe(201);
    expect((await U3.api('POST', `${scopePath(SCOPE)}/anchors`, { publicKey: EC, name: 'ec' })).status).toBe(201);
    await addCrl(U3, CRL_3);
    const r = await addUpstream(D, { name: 'u3', url: U3.url, root: rootOf(U3), scopes: [SCOPE] });
    // The rest of the sync landed: U3's anchor is federated.
    expect(r.sync).toMatchObject({ ok: true, crlsUpdated: [], crlErrors: [{ issuer: INT_ID, code: 'ROLLBACK' }] });
    expect((await D.instance.store.getAnchor(SCOPE, EC_ID))?.source).toMatch(/^upstream:u3@/);
    expect(r.upstream.lastError).toMatch(new RegExp(`^ROLLBACK: the CRL of ${INT_ID}: CRL number 3 is not greater than the stored 5`));
    expect((await served(D)).equals(crl5)).toBe(true);

    const ls = await run(['upstream', 'ls', '--json', '--server', D.url, '--token', D.token]);
    expect(ls.code, ls.stderr).toBe(0);
    const listed = (JSON.parse(ls.stdout) as { upstreams: View[] }).upstreams;
    expect(listed.find((u) => u.name === 'u3')!.lastError).toMatch(/^ROLLBACK: /);
    expect(listed.find((u) => u.name === 'u')!.lastError).toBeNull();
    // E keeps the newest too.
    const atEdoc = await eventually(() => atE.readJson<TrustDoc>(`trust/${SCOPE}.json`), (d) => d !== null && d.anchors.some((a) => a.id === EC_ID));
    expect(atEdoc!.anchors.map((a) => a.id)).toContain(EC_ID);
    expect((await atE.readTarget(CRL_TARGET))?.equals(crl5)).toBe(true);
    expect((await D.api('DELETE', '/upstreams/u3')).status).toBe(200);
  });

  it("lets the newest CRL win whichever side it came from: a local crl add at D, then a newer one at U", async () => {
    const local = await mintCrl(9, [REVOKED_SERIAL]);
    await addCrl(D, local);
    expect((await eventually(() => atE.readTarget(CRL_TARGET), (b) => b !== null && b.equals(local)))?.equals(local)).toBe(true);
    // U's CRL 5 is older than D's own 9: refused, and shown.
    const [outcome] = (await D.api('POST', '/upstreams/u/sync')).body.results;
    expect(outcome.ok).toBe(true);
    expect((await upstream(D, 'u')).lastError).toMatch(/^ROLLBACK: the CRL of /);
    expect((await served(D)).equals(local)).toBe(true);

    const crl12 = await mintCrl(12, [REVOKED_SERIAL, LEAF_SERIAL]);
    await addCrl(U, crl12);
    expect((await eventually(() => atE.readTarget(CRL_TARGET), (b) => b !== null && b.equals(crl12)))?.equals(crl12)).toBe(true);
    expect((await eventually(() => upstream(D, 'u'), (u) => u.lastError === null)).lastError).toBeNull();
  });

  it('commits a sync whole or not at all: a store failure while storing a CRL leaves none of it', async () => {
    const store = D.instance.store;
    const putCrl = store.putCrl;
    const before = await upstream(D, 'u');
    store.putCrl = async () => {
      throw new Error('disk full');
    };
    try {
      // The CRL first: a sync started by U's change feed in between fails the same way.
      await addCrl(U, await mintCrl(13, [REVOKED_SERIAL, LEAF_SERIAL]));
      expect((await U.api('POST', `${scopePath(SCOPE)}/anchors`, { publicKey: EC, name: 'ec' })).status).toBe(201);
      const [outcome] = (await D.api('POST', '/upstreams/u/sync')).body.results;
      expect(outcome.ok).toBe(false);
      // Neither the anchor nor the CRL nor the upstream's version moved.
      expect(await store.getAnchor(SCOPE, EC_ID)).toBeNull();
      expect((await store.getCrl(INT_ID))?.crlNumber).toBe('c');
      expect((await upstream(D, 'u')).version).toBe(before.version);
    } finally {
      store.putCrl = putCrl;
    }
    const [healed] = (await D.api('POST', '/upstreams/u/sync')).body.results;
    expect(healed.ok, JSON.stringify(healed)).toBe(true);
    expect((await store.getAnchor(SCOPE, EC_ID))?.source).toMatch(/^upstream:u@/);
    expect((await store.getCrl(INT_ID))?.crlNumber).toBe('d');
  });
});
