/**
 * Online key rotation (issue 7): after `key rotate timestamp|snapshot|targets`, a tuf-js client
 * that cached metadata signed by the old keys recovers (TUF spec 5.3.11), and a rotation whose
 * root keys are offline waits for their signatures, imported from a file signed elsewhere.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileSigner } from '../../service/crypto/signer.js';
import { readFixtureText } from '../../fixtures/index.js';
import { CachingTufClient, initTestDataDir, removeScratchDirs, scratchDir, serve, type Running } from '../support/tuf-client.js';

const run = promisify(execFile);
const REPO = resolve(import.meta.dirname, '../..');
const ED_KEY = readFixtureText('keys/ed25519.pub.pem');
const EC_KEY = readFixtureText('keys/ec-p256.pub.pem');

/** The CLI as a user runs it, against the running service. */
async function cli(svc: Running, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, ['--import', 'tsx', 'cli/main.ts', ...args], {
      cwd: REPO,
      env: { ...process.env, KEYSHARE_SERVER: svc.url, KEYSHARE_TOKEN: svc.token },
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

const keyFileId = (dataDir: string, role: string) => new FileSigner(readFileSync(join(dataDir, 'keys', `${role}.pem`), 'utf8')).keyid;
const served = async (svc: Running, path: string) => (await fetch(`${svc.url}/tuf/${path}`)).json() as Promise<any>;
const signersOf = (md: { signatures: { keyid: string }[] }) => md.signatures.map((s) => s.keyid);

async function ok(res: Promise<{ status: number; body: any }>, status = 200) {
  const r = await res;
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  return r.body;
}

afterAll(() => removeScratchDirs());

describe('when online keys are rotated while the root key is in the data dir', () => {
  let svc: Running;
  let client: CachingTufClient;
  /** A client that read once under root v1 and then not again until the end. */
  let stale: CachingTufClient;
  const scope = 'registry.acme.io';
  let v: number;

  beforeAll(async () => {
    svc = await serve(await initTestDataDir());
    await ok(svc.api('POST', '/scopes', { scope }), 201);
    await ok(svc.api('POST', `/scopes/${encodeURIComponent(scope)}/anchors`, { publicKey: ED_KEY, name: 'ci' }), 201);
    client = new CachingTufClient(svc.url, join(svc.dataDir, 'root.json'));
    v = (await client.readJson(`trust/${scope}.json`)).version;
    stale = new CachingTufClient(svc.url, join(svc.dataDir, 'root.json'));
    expect(await stale.readJson(`trust/${scope}.json`)).toMatchObject({ version: v });
  });
  afterAll(async () => svc?.close());

  it('rotates the timestamp key, and a client holding the old timestamp recovers', async () => {
    const oldKey = keyFileId(svc.dataDir, 'timestamp');
    expect(client.signedBy('timestamp')).toEqual([oldKey]);
    const r = await ok(svc.api('POST', '/keys/timestamp/rotate'));
    expect(r.published).toMatchObject({ version: 2, rotatedRoles: ['timestamp'] });
    expect(r.keyid).not.toBe(oldKey);
    expect(keyFileId(svc.dataDir, 'timestamp')).toBe(r.keyid);
    expect(existsSync(join(svc.dataDir, 'keys', 'timestamp.next.pem'))).toBe(false);

    expect(await client.readJson(`trust/${scope}.json`)).toMatchObject({ version: v });
    expect(client.cached('root').signed.version).toBe(2);
    expect(client.signedBy('timestamp')).toEqual([r.keyid]);
  });

  it('rotates the snapshot key, and a client holding the old snapshot recovers', async () => {
    const oldKey = keyFileId(svc.dataDir, 'snapshot');
    expect(client.signedBy('snapshot')).toEqual([oldKey]);
    const r = await ok(svc.api('POST', '/keys/snapshot/rotate'));
    expect(r.published).toMatchObject({ version: 3, rotatedRoles: ['snapshot'] });

    expect(await client.readJson(`trust/${scope}.json`)).toMatchObject({ version: v });
    expect(client.cached('root').signed.version).toBe(3);
    expect(client.signedBy('snapshot')).toEqual([r.keyid]);
  });

  it('rotates the targets key, re-signing targets, the trust and shards roles and every bin with it', async () => {
    const oldKey = keyFileId(svc.dataDir, 'targets');
    const r = await ok(svc.api('POST', '/keys/targets/rotate'));
    expect(r.published).toMatchObject({ version: 4, rotatedRoles: ['targets'] });
    const newKey = r.keyid as string;

    const snapshot = await served(svc, `${(await served(svc, 'timestamp.json')).signed.meta['snapshot.json'].version}.snapshot.json`);
    const roles = Object.keys(snapshot.signed.meta).map((f) => f.replace(/\.json$/, ''));
    expect(roles).toContain('bin-0');
    for (const role of roles) {
      const md = await served(svc, `${snapshot.signed.meta[`${role}.json`].version}.${role}.json`);
      expect(signersOf(md), role).toEqual([newKey]);
      expect(JSON.stringify(md.signed)).not.toContain(oldKey);
    }
    const targets = await served(svc, `${snapshot.signed.meta['targets.json'].version}.targets.json`);
    // The index shards' role, then trust (service/repo/index-bins.ts), both with the new key.
    expect(targets.signed.delegations.roles).toMatchObject([
      { name: 'shards', keyids: [newKey] },
      { name: 'trust', keyids: [newKey] },
    ]);
    expect(roles).toContain('shards-bin-0');
    const trust = await served(svc, `${snapshot.signed.meta['trust.json'].version}.trust.json`);
    expect(trust.signed.delegations.succinct_roles.keyids).toEqual([newKey]);

    expect(await client.readJson(`trust/${scope}.json`)).toMatchObject({ version: v });
    expect(client.signedBy('targets')).toEqual([newKey]);
  });

  it('publishes later changes with the new keys', async () => {
    await ok(svc.api('POST', `/scopes/${encodeURIComponent(scope)}/anchors`, { publicKey: EC_KEY, name: 'release' }), 201);
    const doc = await client.readJson(`trust/${scope}.json`);
    expect(doc.version).toBe(v + 1);
    expect(doc.anchors).toHaveLength(2);
  });

  it('lets a client that cached everything under root v1 catch up across all three rotations', async () => {
    expect(stale.cached('root').signed.version).toBe(1);
    expect(await stale.readJson(`trust/${scope}.json`)).toMatchObject({ version: v + 1 });
    expect(stale.cached('root').signed.version).toBe(4);
    expect(stale.signedBy('targets')).toEqual([keyFileId(svc.dataDir, 'targets')]);
  });
  it('keeps signing with the new keys after a restart', async () => {
    const dataDir = svc.dataDir;
    await svc.close();
    svc = await serve(dataDir);
    client = new CachingTufClient(svc.url, join(dataDir, 'root.json'));
    await ok(svc.api('POST', '/scopes', { scope: 'quay.io' }), 201);
    expect(await client.readJson('trust/quay.io.json')).toMatchObject({ scope: 'quay.io' });
    expect(client.signedBy('timestamp')).toEqual([keyFileId(dataDir, 'timestamp')]);
  });

});

describe('when the root keys are offline', { timeout: 180_000 }, () => {
  let svc: Running;
  let client: CachingTufClient;
  let offlineKey: string;
  let work: string;

  beforeAll(async () => {
    const dataDir = await initTestDataDir();
    // Move the root key off the machine, as `init` asks.
    work = scratchDir('keyshare-offline-');
    mkdirSync(join(work, 'usb'));
    offlineKey = join(work, 'usb', 'root-1.pem');
    renameSync(join(dataDir, 'keys', 'root-1.pem'), offlineKey);
    svc = await serve(dataDir);
    await ok(svc.api('POST', '/scopes', { scope: 'ghcr.io' }), 201);
    client = new CachingTufClient(svc.url, join(dataDir, 'root.json'));
    expect(await client.readJson('trust/ghcr.io.json')).toMatchObject({ version: 1 });
  });
  afterAll(async () => svc?.close());

  it('stages the rotation and keeps signing with the old key until root v2 is published', async () => {
    const oldKey = keyFileId(svc.dataDir, 'timestamp');
    const r = await cli(svc, ['key', 'rotate', 'timestamp']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/staged root v2 with a new timestamp key/);
    expect(r.stdout).toMatch(/root sign --key/);
    expect(existsSync(join(svc.dataDir, 'keys', 'timestamp.next.pem'))).toBe(true);

    const pub = await cli(svc, ['root', 'publish']);
    expect(pub.code).toBe(1);
    expect(pub.stderr).toMatch(/^keyshare: THRESHOLD_NOT_MET: root v1 \(the current root\) needs 1 signature/);

    await ok(svc.api('POST', '/scopes', { scope: 'ghcr.io/acme' }), 201);
    expect(await client.readJson('trust/ghcr.io/acme.json')).toMatchObject({ version: 1 });
    expect(client.signedBy('timestamp')).toEqual([oldKey]);
    expect(client.cached('root').signed.version).toBe(1);
  });

  it('signs the exported root offline, imports the signature and publishes', async () => {
    const staged = join(work, 'staged.json');
    const signed = join(work, 'usb', 'signed.json');
    writeFileSync(staged, JSON.stringify((await ok(svc.api('GET', '/root/proposal'))).metadata));
    // On the offline machine: no server, no token.
    const off = await cli({ ...svc, url: 'http://127.0.0.1:9', token: '' }, ['root', 'sign', '--key', offlineKey, '--in', staged, '--out', signed]);
    expect(off.code, off.stderr).toBe(0);
    expect(off.stdout).toMatch(/signed root v2 with key [0-9a-f]{64}/);

    const imp = await cli(svc, ['root', 'sign', '--in', signed]);
    expect(imp.code, imp.stderr).toBe(0);
    expect(imp.stdout).toMatch(/both thresholds are met/);
    expect(await ok(svc.api('POST', '/root/publish'))).toMatchObject({ version: 2, rotatedRoles: ['timestamp'] });

    expect(await client.readJson('trust/ghcr.io/acme.json')).toMatchObject({ version: 1 });
    expect(client.cached('root').signed.version).toBe(2);
    expect(client.signedBy('timestamp')).toEqual([keyFileId(svc.dataDir, 'timestamp')]);
  });

  it('refuses a signed file that is not the staged root', async () => {
    await ok(svc.api('POST', '/root/proposal', { expires: '90d' }), 201);
    // root v2 (already published) is not the staged root v3.
    const r = await svc.api('POST', '/root/proposal/signatures', { metadata: JSON.parse(readFileSync(join(svc.dataDir, 'root.json'), 'utf8')) });
    expect(r.body.code).toBe('PROPOSAL_MISMATCH');
    await ok(svc.api('DELETE', '/root/proposal'));
  });
});
