/**
 * Offline tenants (issue 7, "Tenants", `--offline`): the tenant holds its role key. A change of
 * trust in its scopes waits, unsigned, until the tenant signs it; clients (tuf-js, as an outside
 * client) keep the tenant's last signed trust meanwhile, and everything else keeps publishing.
 */
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { canonicalize } from '@tufjs/canonical-json';
import { readFixtureText } from '../../fixtures/index.js';
import { FileSigner, publicKeyPem, type Signer } from '../../service/crypto/signer.js';
import { tenantKeyPath } from '../../service/repo/tenants.js';
import { packageRoot } from '../../service/util/paths.js';
import { openInstance } from '../../service/instance.js';
import { TufClient, appApi, cleanupTempDirs, newDataDir, scopePath, startTestService, tempDir, type TestService } from '../support/service.js';

vi.setConfig({ testTimeout: 120_000 });

const SHARED = 'registry.acme.io';
const TEAM_A = 'registry.acme.io/team-a'; // offline tenant team-a
const TEAM_B = 'registry.acme.io/team-b'; // service-held tenant team-b
const OTHER = 'registry.other.io'; // the service's "trust" role
const path = (scope: string) => `trust/${scope}.json`;
const tenantKey = new FileSigner(readFixtureText('keys/ec-p256.key.pem')); // ECDSA P-256
const wrongKey = new FileSigner(readFixtureText('keys/ed25519.key.pem'));

let svc: TestService;
let client: TufClient;

async function ok(res: Promise<{ status: number; body: any }>, status = 201): Promise<any> {
  const r = await res;
  expect(r.body, JSON.stringify(r.body)).not.toHaveProperty('code');
  expect(r.status).toBe(status);
  return r.body;
}

/** Adds an anchor (a fresh key) named `name` at `scope` and waits for the publish. */
async function addAnchor(scope: string, name: string): Promise<void> {
  const pem = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
  await ok(svc.api('POST', `${scopePath(scope)}/anchors`, { publicKey: pem, name }));
  await svc.instance.publisher.flush();
}

const names = (doc: any) => doc.anchors.map((a: { name: string }) => a.name).sort();
const timestamp = () => svc.instance.publisher.latestMetadata('timestamp')!.version;

async function pending(): Promise<any> {
  return (await ok(svc.api('GET', '/tenants/team-a/pending'), 200)).pending;
}

/** Signs every role of a pending set, as `keyshare tenant sign` does. */
async function signaturesFor(p: any, signer: Signer, keyid = signer.keyid) {
  const out = [];
  for (const r of p.roles) {
    expect(r.canonical).toBe(canonicalize(r.signed));
    out.push({ role: r.role, keyid, sig: Buffer.from(await signer.sign(Buffer.from(r.canonical))).toString('hex') });
  }
  return out;
}

beforeAll(async () => {
  svc = await startTestService({ init: { binBits: 4 } });
  for (const scope of [SHARED, TEAM_A, TEAM_B, OTHER]) await ok(svc.api('POST', '/scopes', { scope }));
  await svc.instance.publisher.flush();
  await addAnchor(TEAM_A, 'a-1');
  await ok(svc.api('POST', '/tenants', { name: 'team-b', scopes: [TEAM_B] }));
  client = TufClient.pinnedTo(svc.url, svc.dataDir);
  expect(names(await client.readJson(path(TEAM_A)))).toEqual(['a-1']);
}, 120_000);
afterAll(async () => {
  await svc?.close();
  cleanupTempDirs();
});

describe('when an offline tenant is added', () => {
  it('refuses a private key: the service never sees one', async () => {
    const r = await svc.api('POST', '/tenants', { name: 'team-a', scopes: [TEAM_A], offline: true, publicKey: readFixtureText('keys/ec-p256.key.pem') });
    expect(r.body.code).toBe('BAD_PUBLIC_KEY');
  });

  it('stages its first roles unsigned, and publishes its delegation only when it signs them', async () => {
    const before = timestamp();
    const { tenant, published } = await ok(svc.api('POST', '/tenants', { name: 'team-a', scopes: [TEAM_A], offline: true, publicKey: publicKeyPem(readFixtureText('keys/ec-p256.key.pem')) }));
    expect(published).toBeNull();
    expect(tenant).toMatchObject({ offline: true, published: false, awaitingSignature: true, keyid: tenantKey.keyid });
    expect(timestamp()).toBe(before);
    const p = await pending();
    expect(p.kind).toBe('add');
    expect(p.keyid).toBe(tenantKey.keyid);
    expect(p.roles.map((r: { role: string }) => r.role)).toContain('tenant-team-a');
    expect(p.roles).toHaveLength(17); // the role and its 16 bins

    const signed = await ok(svc.api('POST', '/tenants/team-a/signatures', { id: p.id, signatures: await signaturesFor(p, tenantKey) }));
    expect(signed.tenant).toMatchObject({ published: true, awaitingSignature: false });
    expect(await pending()).toBeNull();
    const targets = JSON.parse(svc.instance.publisher.latestMetadata('targets')!.bytes.toString('utf8')).signed;
    expect(targets.delegations.roles.map((r: { name: string }) => r.name)).toEqual(['shards', 'tenant-team-b', 'tenant-team-a', 'trust']);
    const role = JSON.parse(svc.instance.publisher.latestMetadata('tenant-team-a')!.bytes.toString('utf8'));
    expect(role.signatures.map((s: { keyid: string }) => s.keyid)).toEqual([tenantKey.keyid]);
    expect(names(await client.readJson(path(TEAM_A)))).toEqual(['a-1']);
  });
});

describe('when trust changes before an offline tenant signs its first roles', () => {
  it('publishes the change under "trust", rebuilds the roles and refuses signatures over the old ones', async () => {
    const scope = 'registry.acme.io/team-d';
    await ok(svc.api('POST', '/scopes', { scope }));
    const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const key = new FileSigner(pem);
    await ok(svc.api('POST', '/tenants', { name: 'team-d', scopes: [scope], offline: true, publicKey: publicKeyPem(pem) }));
    const old = (await ok(svc.api('GET', '/tenants/team-d/pending'), 200)).pending;
    await addAnchor(scope, 'd-1');
    expect(names(await client.readJson(path(scope)))).toEqual(['d-1']); // not published as a tenant yet: the service signs it
    const now = (await ok(svc.api('GET', '/tenants/team-d/pending'), 200)).pending;
    expect(now.id).not.toBe(old.id);
    const stale = await svc.api('POST', '/tenants/team-d/signatures', { id: old.id, signatures: await signaturesFor(old, key) });
    expect([stale.status, stale.body.code]).toEqual([409, 'STALE_SIGNING_REQUEST']);
    await ok(svc.api('POST', '/tenants/team-d/signatures', { id: now.id, signatures: await signaturesFor(now, key) }));
    expect(names(await client.readJson(path(scope)))).toEqual(['d-1']);
    await ok(svc.api('DELETE', '/tenants/team-d'), 200);
  });
});

describe('when trust changes in an offline tenant\'s scope', () => {
  it('keeps serving the tenant\'s last signed trust, while other tenants and "trust" publish', async () => {
    await addAnchor(TEAM_A, 'a-2');
    await addAnchor(TEAM_B, 'b-1');
    await addAnchor(OTHER, 'o-1');
    expect(names(await client.readJson(path(TEAM_A)))).toEqual(['a-1']);
    expect(names(await client.readJson(path(TEAM_B)))).toEqual(['b-1']);
    expect(names(await client.readJson(path(OTHER)))).toEqual(['o-1']);
    const p = await pending();
    expect(p.kind).toBe('update');
    expect(p.documents).toEqual([{ scope: TEAM_A, version: 3, deleted: false }]);
    expect(p.roles).toHaveLength(1); // the one bin of team-a that lists it
    // Another publish with nothing new for the tenant keeps the same set.
    await addAnchor(OTHER, 'o-2');
    expect((await pending()).id).toBe(p.id);
  });

  it('refuses a signature by another key, and publishes nothing', async () => {
    const p = await pending();
    const before = timestamp();
    const other = await svc.api('POST', '/tenants/team-a/signatures', { id: p.id, signatures: await signaturesFor(p, wrongKey) });
    expect([other.status, other.body.code]).toEqual([400, 'UNKNOWN_KEY']);
    // The tenant's keyid on a signature made by another key.
    const forged = await svc.api('POST', '/tenants/team-a/signatures', { id: p.id, signatures: await signaturesFor(p, wrongKey, tenantKey.keyid) });
    expect([forged.status, forged.body.code]).toEqual([400, 'BAD_SIGNATURE']);
    expect(timestamp()).toBe(before);
    expect((await pending()).id).toBe(p.id);
    expect(names(await client.readJson(path(TEAM_A)))).toEqual(['a-1']);
  });

  it('refuses signatures over a set rebuilt since (trust changed again)', async () => {
    const old = await pending();
    const sigs = await signaturesFor(old, tenantKey);
    await addAnchor(TEAM_A, 'a-3');
    const now = await pending();
    expect(now.id).not.toBe(old.id);
    const before = timestamp();
    const r = await svc.api('POST', '/tenants/team-a/signatures', { id: old.id, signatures: sigs });
    expect([r.status, r.body.code]).toEqual([409, 'STALE_SIGNING_REQUEST']);
    expect(timestamp()).toBe(before);
    expect(names(await client.readJson(path(TEAM_A)))).toEqual(['a-1']);
  });

  it('publishes the change once the tenant signs it, and tuf-js verifies it', async () => {
    const p = await pending();
    const r = await ok(svc.api('POST', '/tenants/team-a/signatures', { id: p.id, signatures: await signaturesFor(p, tenantKey) }));
    expect(r.signed).toEqual(p.roles.map((x: any) => ({ role: x.role, version: x.version })));
    await svc.instance.publisher.flush();
    expect(await pending()).toBeNull();
    expect(await svc.instance.store.listDirty()).toEqual([]);
    const doc = await client.readJson(path(TEAM_A));
    expect(names(doc)).toEqual(['a-1', 'a-2', 'a-3']);
    expect(doc.version).toBe(3);
    // The scope's index shard (in the service's bins, signed with the tenant's publish) names the new version.
    const index = await client.readIndex(TEAM_A);
    expect(index.scopes.find((s) => s.scope === TEAM_A)!.version).toBe(3);
  });

  it('answers NOTHING_TO_SIGN when nothing waits', async () => {
    const r = await svc.api('POST', '/tenants/team-a/signatures', { id: 'x', signatures: [{ role: 'tenant-team-a', keyid: tenantKey.keyid, sig: '00' }] });
    expect([r.status, r.body.code]).toEqual([404, 'NOTHING_TO_SIGN']);
  });
});

describe('when a tenant is removed', () => {
  it('puts an offline tenant\'s scopes back under "trust", with the change that waited for its signature', async () => {
    await addAnchor(TEAM_A, 'a-4');
    expect(names(await client.readJson(path(TEAM_A)))).toEqual(['a-1', 'a-2', 'a-3']);
    const r = await ok(svc.api('DELETE', '/tenants/team-a'), 200);
    expect(r.published.rolesSigned).toContain('targets');
    await svc.instance.publisher.flush();
    const targets = JSON.parse(svc.instance.publisher.latestMetadata('targets')!.bytes.toString('utf8')).signed;
    expect(targets.delegations.roles.map((x: { name: string }) => x.name)).toEqual(['shards', 'tenant-team-b', 'trust']);
    expect(Object.keys(targets.delegations.keys)).not.toContain(tenantKey.keyid);
    expect(names(await client.readJson(path(TEAM_A)))).toEqual(['a-1', 'a-2', 'a-3', 'a-4']);
    expect((await svc.api('GET', '/tenants/team-a')).status).toBe(404);
  });

  it('deletes a service-held tenant\'s key; the name can be used again, and clients follow', async () => {
    await ok(svc.api('DELETE', '/tenants/team-b'), 200);
    expect(existsSync(tenantKeyPath(svc.dataDir, 'team-b'))).toBe(false);
    expect(names(await client.readJson(path(TEAM_B)))).toEqual(['b-1']);
    const again = await ok(svc.api('POST', '/tenants', { name: 'team-b', scopes: [TEAM_B] }));
    expect(again.tenant.published).toBe(true);
    await addAnchor(TEAM_B, 'b-2');
    // The same client, which saw the first team-b roles: the new ones follow their versions.
    expect(names(await client.readJson(path(TEAM_B)))).toEqual(['b-1', 'b-2']);
  });
});

describe('the CLI', () => {
  const BIN = join(packageRoot(), 'bin', 'keyshare.js');
  const keyshare = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
      const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KEYSHARE_')));
      execFile(process.execPath, [BIN, ...args, '--server', svc.url, '--token', svc.token], { env, timeout: 90_000 }, (error, stdout, stderr) =>
        done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout: String(stdout), stderr: String(stderr) }),
      );
    });

  it('adds an offline tenant with a generated key, signs its roles, lists and removes it', async () => {
    expect(existsSync(BIN.replace('bin/keyshare.js', 'dist/cli/main.js')), 'run `npm run build`').toBe(true);
    const key = join(tempDir(), 'team-c.pem');
    const scope = 'registry.acme.io/team-c';
    await ok(svc.api('POST', '/scopes', { scope }));
    const add = await keyshare(['tenant', 'add', 'team-c', '--scopes', scope, '--offline', '--generate-key', key, '--json']);
    expect(add.code, add.stderr).toBe(0);
    expect(statSync(key).mode & 0o777).toBe(0o600);
    expect(JSON.parse(add.stdout).tenant).toMatchObject({ offline: true, published: false, keyid: new FileSigner(readFileSync(key, 'utf8')).keyid });

    const wrong = await keyshare(['tenant', 'sign', 'team-c', '--key', join(packageRoot(), 'fixtures/keys/ed25519.key.pem')]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^keyshare: UNKNOWN_KEY: /);

    const sign = await keyshare(['tenant', 'sign', 'team-c', '--key', key]);
    expect(sign.code, sign.stderr).toBe(0);
    expect(sign.stdout).toMatch(/^signed 17 roles of tenant team-c with key [0-9a-f]{64}: tenant-team-c v1, tenant-team-c-bin-0 v1, /);
    expect((await client.readJson(path(scope)))!.scope).toBe(scope);

    await addAnchor(scope, 'c-1');
    const ls = await keyshare(['tenant', 'ls']);
    expect(ls.stdout).toMatch(/team-c\tregistry\.acme\.io\/team-c\toffline\t1 scopes\twaiting for its signature/);
    const again = await keyshare(['tenant', 'sign', 'team-c', '--key', key, '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).signed).toHaveLength(1);
    expect(names(await client.readJson(path(scope)))).toEqual(['c-1']);
    expect((await keyshare(['tenant', 'sign', 'team-c', '--key', key])).stdout).toBe('tenant team-c has nothing to sign\n');

    const rm = await keyshare(['tenant', 'rm', 'team-c']);
    expect(rm.code, rm.stderr).toBe(0);
    expect(rm.stdout).toMatch(/^removed tenant team-c \(published as timestamp version \d+\)\n$/);
  });
});

describe('when an offline tenant\'s roles pass half their lifetime', () => {
  it('stages them for the tenant to re-sign, without publishing in the meantime', async () => {
    let now = Date.now();
    const { dataDir, token } = await newDataDir({ binBits: 4 });
    const instance = await openInstance({ dataDir, clock: () => new Date(now) });
    try {
      const { api } = appApi(instance, token);
      await ok(api('POST', '/scopes', { scope: TEAM_A }));
      await ok(api('POST', '/tenants', { name: 'team-a', scopes: [TEAM_A], offline: true, publicKey: publicKeyPem(readFixtureText('keys/ec-p256.key.pem')) }));
      const first = (await ok(api('GET', '/tenants/team-a/pending'), 200)).pending;
      await ok(api('POST', '/tenants/team-a/signatures', { id: first.id, signatures: await signaturesFor(first, tenantKey) }));
      await instance.publisher.flush();

      now += 16 * 86_400_000; // past half of the 30-day targets lifetime
      await instance.publisher.notify(); // re-signs what the service signs
      const p = (await ok(api('GET', '/tenants/team-a/pending'), 200)).pending;
      expect(p.kind).toBe('update');
      expect(p.roles).toHaveLength(17);
      expect(p.documents).toEqual([]);
      const version = instance.publisher.latestMetadata('timestamp')!.version;
      expect(await instance.publisher.notify()).toBeNull(); // no publish of nothing while it waits
      expect((await ok(api('GET', '/tenants/team-a/pending'), 200)).pending.id).toBe(p.id);

      await ok(api('POST', '/tenants/team-a/signatures', { id: p.id, signatures: await signaturesFor(p, tenantKey) }));
      expect(instance.publisher.latestMetadata('timestamp')!.version).toBe(version + 1);
      const role = JSON.parse(instance.publisher.latestMetadata('tenant-team-a')!.bytes.toString('utf8')).signed;
      expect(Date.parse(role.expires)).toBeGreaterThan(now + 29 * 86_400_000);
    } finally {
      await instance.close();
    }
  });
});
