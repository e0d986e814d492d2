/**
 * CRLs of CA anchors travel in offline bundles (issues 4 and 6): an origin with the fixture
 * intermediate CA and its CRL exports; an air-gapped site imports with `keyshare bundle import`
 * while it runs, and its own clients' `keyshare fetch --format pem` output lets
 * `openssl verify -crl_check` reject the revoked leaf. The CRL goes through the checks of
 * `crl add` (service/federation/carry-crls.ts, shared with online upstreams): the newest CRL number
 * wins (RFC 5280 5.2.3), a refused CRL is reported while the rest of the import lands, and a
 * store failure leaves none of the import. Waits are bounded polls, never timing assertions.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tar from 'tar';
import { readFixtureText } from '../../fixtures/index.js';
import { packageRoot } from '../../service/util/paths.js';
import { exportBundle } from '../../service/federation/bundle/export.js';
import { sha256Hex, type BundleManifest } from '../../shared/bundle/format.js';
import { importBundle } from '../support/federation.js';
import { expectedSpkiId } from '../service/crypto/helpers.js';
import { CRL_2, CRL_TARGET, HAVE_OPENSSL, INT_CA, INT_ID, LEAF_SERIAL, REVOKED_SERIAL, ROOT_CA, verifyWithCrl } from '../support/crl-fixtures.js';
import { mintCrl } from '../support/crl-mint.js';
import { TufClient, cleanupTempDirs, eventually, scopePath, startTestService, tempDir, type TestService } from '../support/service.js';

const BIN = join(packageRoot(), 'bin', 'keyshare.js');
const EC = readFixtureText('keys/ec-p256.pub.pem');
const EC_ID = expectedSpkiId(EC);
const ED = readFixtureText('keys/ed25519.pub.pem');
const ED_ID = expectedSpkiId(ED);
const SCOPE = 'registry.acme.io';

type Run = { code: number; stdout: string; stderr: string };

function keyshare(args: string[]): Promise<Run> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KEYSHARE_')));
  return new Promise((done) =>
    execFile(process.execPath, [BIN, ...args], { env: clean, timeout: 60_000 }, (error, stdout, stderr) =>
      done({ code: error ? Number(error.code ?? -1) : 0, stdout: String(stdout), stderr: String(stderr) }),
    ),
  );
}

let origin: TestService;
let site: TestService;
let work: string;
let exported = 0;

/** Exports the origin as it is now. */
async function exportOrigin(): Promise<string> {
  await origin.instance.publisher.flush();
  const out = join(work, `bundle-${++exported}.tar.gz`);
  await exportBundle({ dataDir: origin.dataDir, out });
  return out;
}

/** `keyshare bundle import --json` into the running site's data dir, as an admin would. */
async function importCli(file: string): Promise<Run> {
  return keyshare(['bundle', 'import', file, '--root', join(origin.dataDir, 'root.json'), '--data', site.dataDir, '--json']);
}

async function addCrl(svc: TestService, der: Buffer): Promise<void> {
  const r = await svc.api('POST', '/crls', { crl: der.toString('base64'), encoding: 'base64' });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
}

const siteCrlNumber = async () => (await site.instance.store.getCrl(INT_ID))?.crlNumber;

afterAll(async () => {
  await site?.close();
  await origin?.close();
  cleanupTempDirs();
});

it('has openssl (required when CI is set)', () => {
  if (process.env.CI) expect(HAVE_OPENSSL, 'openssl is required for the e2e tests: install it (.ci/run does)').toBe(true);
});

describe.skipIf(!HAVE_OPENSSL && !process.env.CI)('when a bundle carries the CRL of a CA anchor', () => {
  let bundle1: string;

  beforeAll(async () => {
    expect(existsSync(join(packageRoot(), 'dist', 'cli', 'main.js')), 'dist/ is missing: run `npm run build`').toBe(true);
    work = tempDir('keyshare-bundle-crl-');
    [origin, site] = await Promise.all([startTestService({ init: { binBits: 4 } }), startTestService({ init: { binBits: 4 } })]);
    expect((await origin.api('POST', '/scopes', { scope: SCOPE })).status).toBe(201);
    for (const certificate of [ROOT_CA, INT_CA]) {
      expect((await origin.api('POST', `${scopePath(SCOPE)}/anchors`, { certificate, type: 'ca' })).status).toBe(201);
    }
    await addCrl(origin, CRL_2);
    bundle1 = await exportOrigin();
  }, 120_000);

  it('exports the CRL target with the trust, listed in bundle.json with its digest', async () => {
    const dir = tempDir('keyshare-bundle-crl-list-');
    await tar.x({ file: bundle1, cwd: dir });
    const manifest = JSON.parse(readFileSync(join(dir, 'bundle.json'), 'utf8')) as BundleManifest;
    expect(manifest.targets.find((t) => t.path === CRL_TARGET)).toMatchObject({ sha256: sha256Hex(CRL_2), length: CRL_2.length });
    expect(readFileSync(join(dir, 'tuf', 'targets', 'crl', `${sha256Hex(CRL_2)}.${CRL_TARGET.slice('crl/'.length)}`)).equals(CRL_2)).toBe(true);
  });

  it("imports it, and the site's clients' openssl rejects the revoked leaf and accepts a good one", async () => {
    const r = await importCli(bundle1);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ changed: true, crlsUpdated: [INT_ID], crlErrors: [] });
    expect(r.stderr).toBe('');
    expect((await site.instance.store.getCrl(INT_ID))?.der.equals(CRL_2)).toBe(true);

    // The running site notices the import and publishes the CRL as its own target, byte for byte.
    const client = TufClient.pinnedTo(site.url, site.dataDir);
    const target = await eventually(() => client.readTarget(CRL_TARGET), (b) => b !== null && b.equals(CRL_2));
    expect(target?.equals(CRL_2)).toBe(true);
    const doc = await client.readJson<{ crls: { issuer: string; target: string }[] }>(`trust/${SCOPE}.json`);
    expect(doc!.crls).toEqual([{ issuer: INT_ID, target: CRL_TARGET }]);

    const out = join(work, 'pem');
    const f = await keyshare(['fetch', '--server', site.url, '--root', join(site.dataDir, 'root.json'), '--out', out, '--format', 'pem', '--cache', join(work, 'cache')]);
    expect(f.code, f.stderr).toBe(0);
    const revoked = verifyWithCrl(out, SCOPE, 'leaf-revoked.pem');
    expect(revoked.code).not.toBe(0);
    expect(revoked.out).toMatch(/certificate revoked/);
    const good = verifyWithCrl(out, SCOPE, 'leaf.pem');
    expect(good.code, good.out).toBe(0);
  });

  let local: Buffer;

  it('never replaces a newer CRL held here: ROLLBACK for the CRL is reported, the rest of the import lands', async () => {
    // The site's own crl add (number 9) is newer than the origin's next CRL (number 5).
    local = await mintCrl(9, [REVOKED_SERIAL]);
    await addCrl(site, local);
    await addCrl(origin, await mintCrl(5, [REVOKED_SERIAL, LEAF_SERIAL]));
    expect((await origin.api('POST', `${scopePath(SCOPE)}/anchors`, { publicKey: EC, name: 'ec' })).status).toBe(201);
    const bundle2 = await exportOrigin();

    const r = await importCli(bundle2);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result).toMatchObject({ changed: true, crlsUpdated: [], crlErrors: [{ issuer: INT_ID, code: 'ROLLBACK' }] });
    expect(r.stderr).toMatch(new RegExp(`^keyshare: warning: ROLLBACK: the CRL of ${INT_ID} was not imported: CRL number 5 is not greater than the stored 9`));
    // The rest landed: the new anchor. The CRL held is still the newer one, and upstream ls shows why.
    expect((await site.instance.store.getAnchor(SCOPE, EC_ID))?.source).toBe(`bundle:${result.origin}`);
    expect((await site.instance.store.getCrl(INT_ID))?.der.equals(local)).toBe(true);
    expect((await site.instance.store.getUpstream(result.origin))?.lastError).toMatch(new RegExp(`^ROLLBACK: the CRL of ${INT_ID}: `));

    // The older bundle is refused as a whole (TUF rollback), and the CRL stays.
    const older = await keyshare(['bundle', 'import', bundle1, '--root', join(origin.dataDir, 'root.json'), '--data', site.dataDir]);
    expect(older.code).toBe(1);
    expect(older.stderr).toMatch(/^keyshare: ROLLBACK: /);
    expect((await site.instance.store.getCrl(INT_ID))?.der.equals(local)).toBe(true);

    // The text output names the refusal too.
    await addCrl(origin, await mintCrl(6, [REVOKED_SERIAL]));
    const text = await keyshare(['bundle', 'import', await exportOrigin(), '--root', join(origin.dataDir, 'root.json'), '--data', site.dataDir]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/CRLs: 0 updated, 1 refused/);
  });

  it('takes a newer CRL from a bundle, and leaves identical bytes unchanged', async () => {
    const crl12 = await mintCrl(12, [REVOKED_SERIAL, LEAF_SERIAL]);
    await addCrl(origin, crl12);
    const r = await importCli(await exportOrigin());
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result).toMatchObject({ crlsUpdated: [INT_ID], crlErrors: [] });
    expect((await site.instance.store.getCrl(INT_ID))?.der.equals(crl12)).toBe(true);
    expect((await site.instance.store.getUpstream(result.origin))?.lastError).toBeNull();

    // A newer bundle with the same CRL: nothing to store, nothing refused.
    expect((await origin.api('POST', `${scopePath(SCOPE)}/anchors`, { publicKey: ED, name: 'ed' })).status).toBe(201);
    const again = await importCli(await exportOrigin());
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ changed: true, crlsUpdated: [], crlErrors: [] });
    expect(await siteCrlNumber()).toBe('c');
  });

  it('commits an import whole or not at all: a store failure while storing a CRL leaves none of it', async () => {
    const store = site.instance.store;
    const putCrl = store.putCrl;
    await addCrl(origin, await mintCrl(13, [REVOKED_SERIAL]));
    expect((await origin.api('DELETE', `${scopePath(SCOPE)}/anchors/${encodeURIComponent(ED_ID)}`)).status).toBe(200);
    const bundle = await exportOrigin();
    const originId = (await store.listUpstreams()).find((u) => u.url.startsWith('bundle:'))!.name;
    const before = (await store.getUpstream(originId))!.timestampVersion;
    store.putCrl = async () => {
      throw new Error('disk full');
    };
    try {
      await expect(importBundle({ store, file: bundle, root: readFileSync(join(origin.dataDir, 'root.json')), tmpDir: work })).rejects.toThrow('disk full');
      // Neither the anchor removal, nor the CRL, nor the origin's version moved.
      expect(await store.getAnchor(SCOPE, ED_ID)).not.toBeNull();
      expect(await siteCrlNumber()).toBe('c');
      expect((await store.getUpstream(originId))!.timestampVersion).toBe(before);
    } finally {
      store.putCrl = putCrl;
    }
    const healed = await importCli(bundle);
    expect(healed.code, healed.stderr).toBe(0);
    expect(JSON.parse(healed.stdout)).toMatchObject({ crlsUpdated: [INT_ID] });
    expect(await store.getAnchor(SCOPE, ED_ID)).toBeNull();
    expect(await siteCrlNumber()).toBe('d');
  });
});
