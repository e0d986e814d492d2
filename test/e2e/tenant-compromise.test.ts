/**
 * Tenants (issue 7): a tenant's trust documents are signed by a delegated role of its own, and
 * a compromised tenant key cannot sign trust for another tenant's scopes. TUF path delegation
 * (TUF spec 5.6.7) enforces it; tuf-js, as an outside client, shows it.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BaseFetcher, Updater } from 'tuf-js';
import { DownloadHTTPError } from 'tuf-js/dist/error.js';
import { Metadata, MetadataKind, TargetFile, Targets } from '@tufjs/models';
import { SuccinctRoles } from '@tufjs/models/dist/role.js';
import { readFixtureText } from '../../fixtures/index.js';
import { FileSigner } from '../../service/crypto/signer.js';
import { signMetadata, metadataBytes } from '../../service/repo/tuf.js';
import { tenantKeyPath } from '../../service/repo/tenants.js';
import { exportBundle } from '../../service/federation/bundle/export.js';
import { DEFAULT_LIMITS, extractBundle } from '../../shared/bundle/extract.js';
import { readTargetOffline } from '../sync/bundle/support.js';
import { TufClient, cleanupTempDirs, scopePath, startTestService, tempDir, type TestService } from '../support/service.js';

const TEAM_A = 'registry.acme.io/team-a';
const TEAM_A_APP = 'registry.acme.io/team-a/app';
const TEAM_B = 'registry.acme.io/team-b';
const SHARED = 'registry.acme.io';
const path = (scope: string) => `trust/${scope}.json`;
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

let svc: TestService;

async function ok(res: Promise<{ status: number; body: any }>, status = 201): Promise<any> {
  const r = await res;
  expect(r.body, JSON.stringify(r.body)).not.toHaveProperty('code');
  expect(r.status).toBe(status);
  return r.body;
}

beforeAll(async () => {
  svc = await startTestService({ init: { binBits: 4 } });
  for (const scope of [SHARED, TEAM_A, TEAM_A_APP, TEAM_B]) await ok(svc.api('POST', '/scopes', { scope }));
  await ok(svc.api('POST', `${scopePath(TEAM_A)}/anchors`, { publicKey: readFixtureText('keys/ed25519.pub.pem'), name: 'team-a-ci' }));
  await ok(svc.api('POST', `${scopePath(TEAM_B)}/anchors`, { publicKey: readFixtureText('keys/ec-p256.pub.pem'), name: 'team-b-ci' }));
  await svc.instance.publisher.flush();
}, 60_000);
afterAll(async () => {
  await svc?.close();
  cleanupTempDirs();
});

/** The current metadata of a role, as served. */
async function served(role: string): Promise<any> {
  const snapshot = JSON.parse(svc.instance.publisher.latestMetadata('snapshot')!.bytes.toString('utf8'));
  const version = role === 'targets' ? snapshot.signed.meta['targets.json'].version : snapshot.signed.meta[`${role}.json`].version;
  const res = await fetch(`${svc.url}/tuf/${version}.${role}.json`);
  expect(res.status).toBe(200);
  return { version, json: await res.json() };
}

describe('when tenants are added', () => {
  it('publishes each tenant as a delegated role before "trust", with bins of its own', async () => {
    const a = await ok(svc.api('POST', '/tenants', { name: 'team-a', scopes: [TEAM_A], token: true }));
    expect(a.tenant).toMatchObject({ name: 'team-a', role: 'tenant-team-a', patterns: [TEAM_A], offline: false, published: true, scopes: [TEAM_A, TEAM_A_APP] });
    expect(a.token).toMatchObject({ role: 'editor', scopes: [TEAM_A] });
    const b = await ok(svc.api('POST', '/tenants', { name: 'team-b', scopes: [TEAM_B] }));
    expect(b.tenant.scopes).toEqual([TEAM_B]);

    const targets = (await served('targets')).json.signed;
    expect(targets.delegations.roles.map((r: { name: string }) => r.name)).toEqual(['shards', 'tenant-team-a', 'tenant-team-b', 'trust']);
    const roleA = targets.delegations.roles[1];
    expect(roleA.terminating).toBe(true);
    expect(roleA.paths).toContain(path(TEAM_A));
    expect(roleA.paths).toContain('trust/registry.acme.io/team-a/*.json');
    const tenantA = (await served('tenant-team-a')).json;
    expect(tenantA.signatures.map((s: { keyid: string }) => s.keyid)).toEqual([a.tenant.keyid]);
    expect(tenantA.signed.delegations.succinct_roles).toMatchObject({ name_prefix: 'tenant-team-a-bin', bit_length: 4 });
  });

  it('refuses a tenant whose scopes overlap another tenant\'s', async () => {
    const r = await svc.api('POST', '/tenants', { name: 'team-a-app', scopes: [TEAM_A_APP] });
    expect(r.status).toBe(400);
    expect(r.body.code).toBe('TENANT_OVERLAP');
    expect((await svc.api('POST', '/tenants', { name: 'any', scopes: ['*.acme.io'] })).body.code).toBe('SCOPE_INVALID');
  });

  it('serves every scope to tuf-js, a tenant\'s scopes from the tenant\'s bins', async () => {
    const client = TufClient.pinnedTo(svc.url, svc.dataDir);
    const docA = await client.readJson(path(TEAM_A));
    expect(docA.anchors.map((x: { name: string }) => x.name)).toEqual(['team-a-ci']);
    expect((await client.readJson(path(TEAM_A_APP))).scope).toBe(TEAM_A_APP);
    expect((await client.readJson(path(TEAM_B))).anchors.map((x: { name: string }) => x.name)).toEqual(['team-b-ci']);
    expect((await client.readJson(path(SHARED))).scope).toBe(SHARED);
    // The documents moved: the service's bins no longer list a tenant's paths.
    const bins = svc.instance.publisher.latestMetadata('trust')!;
    const succinct = JSON.parse(bins.bytes.toString('utf8')).signed.delegations.succinct_roles;
    const trustBin = new SuccinctRoles({ keyIDs: succinct.keyids, threshold: 1, bitLength: succinct.bit_length, namePrefix: succinct.name_prefix }).getRoleForTarget(path(TEAM_A));
    expect(Object.keys((await served(trustBin)).json.signed.targets)).not.toContain(path(TEAM_A));
  });

  it('re-signs one bin of the tenant, with the tenant\'s key, when one of its scopes changes', async () => {
    await ok(svc.api('POST', `${scopePath(TEAM_A_APP)}/anchors`, { publicKey: readFixtureText('keys/ec-p256.pub.pem'), name: 'app-ci' }));
    await svc.instance.publisher.flush();
    const client = TufClient.pinnedTo(svc.url, svc.dataDir);
    const doc = await client.readJson(path(TEAM_A_APP));
    expect(doc.anchors.map((x: { name: string }) => x.name).sort()).toEqual(['app-ci', 'team-a-ci']);
    expect(doc.version).toBe(3); // 2: its parent team-a got an anchor
    const keyid = (await ok(svc.api('GET', '/tenants/team-a'), 200)).tenant.keyid;
    const bin = new SuccinctRoles({ keyIDs: [], threshold: 1, bitLength: 4, namePrefix: 'tenant-team-a-bin' }).getRoleForTarget(path(TEAM_A_APP));
    const { version, json } = await served(bin);
    expect(version).toBe(2);
    expect(json.signatures.map((x: { keyid: string }) => x.keyid)).toEqual([keyid]);
    expect(Object.keys(json.signed.targets)).toContain(path(TEAM_A_APP));
  });

  it('refuses a scope inside a tenant deeper than its delegation covers', async () => {
    const deep = `${TEAM_A}/${Array.from({ length: 15 }, (_, i) => `c${i}`).join('/')}`;
    const r = await svc.api('POST', '/scopes', { scope: deep });
    expect(r.status).toBe(400);
    expect(r.body.code).toBe('SCOPE_INVALID');
  });
});

describe('when a bundle is exported with tenants', () => {
  it('re-signs tenant roles with the tenant\'s key, and a plain TUF client reads them', async () => {
    const dir = tempDir('keyshare-tenant-bundle-');
    const out = join(dir, 'bundle.tar');
    // Longer than the 30-day targets lifetime: every targets-type role is re-signed for the bundle.
    await exportBundle({ dataDir: svc.dataDir, out, validForSeconds: 60 * 86_400 });
    await extractBundle(out, join(dir, 'x'), DEFAULT_LIMITS);
    const doc = await readTargetOffline(join(dir, 'x', 'tuf'), readFileSync(join(svc.dataDir, 'root.json')), join(dir, 'client'), path(TEAM_A_APP));
    expect(JSON.parse(doc!.toString('utf8')).scope).toBe(TEAM_A_APP);
    await svc.instance.publisher.flush();
  });
});

/** tuf-js fetching from the service, except for the files an attacker replaced. */
class TamperingFetcher extends BaseFetcher {
  constructor(private readonly forged: Map<string, Buffer>) {
    super();
  }
  async fetch(url: string): Promise<ReadableStream<Uint8Array<ArrayBuffer>>> {
    const name = url.slice(url.indexOf('/tuf/') + '/tuf/'.length);
    let bytes = this.forged.get(name);
    if (!bytes) {
      const res = await fetch(url);
      if (!res.ok) throw new DownloadHTTPError(`HTTP ${res.status} for ${url}`, res.status);
      bytes = Buffer.from(await res.arrayBuffer());
    }
    return new Response(new Uint8Array(bytes)).body as ReadableStream<Uint8Array<ArrayBuffer>>;
  }
}

describe('when a tenant key is compromised', () => {
  // A forged bin replaces the served version: no timed publish (expiry re-signs) may move it meanwhile.
  beforeAll(() => svc.instance.publisher.stop());
  /** An attacker with team-a's key who can also serve files (a mirror, a cache, a network position). */
  const attacker = () => new FileSigner(readFileSync(tenantKeyPath(svc.dataDir, 'team-a'), 'utf8'));
  const evilDoc = (scope: string) => Buffer.from(JSON.stringify({ mediaType: 'application/vnd.keyshare.trust.v1+json', scope, version: 99, anchors: [{ id: 'sha256:evil', name: 'evil' }] }));

  /** The forged files: a bin of `role` re-signed by `signer` listing `scope`'s path with evil content. */
  async function forge(role: string, binPrefix: string, scope: string, signer: FileSigner): Promise<Map<string, Buffer>> {
    // No publish in flight: a newer bin published meanwhile would be fetched instead of the forged one.
    await svc.instance.publisher.flush();
    const parent = (await served(role)).json.signed;
    const bits = parent.delegations.succinct_roles.bit_length;
    const bin = new SuccinctRoles({ keyIDs: [], threshold: 1, bitLength: bits, namePrefix: binPrefix }).getRoleForTarget(path(scope));
    const { version, json } = await served(bin);
    const doc = evilDoc(scope);
    const signed = Targets.fromJSON(json.signed);
    signed.targets[path(scope)] = new TargetFile({ path: path(scope), length: doc.length, hashes: { sha256: sha256(doc) } });
    const md = new Metadata(signed);
    await signMetadata(md as never, [signer]);
    const slash = path(scope).lastIndexOf('/');
    return new Map([
      [`${version}.${bin}.json`, metadataBytes(md as never)],
      [`targets/${path(scope).slice(0, slash + 1)}${sha256(doc)}.${path(scope).slice(slash + 1)}`, doc],
    ]);
  }

  async function clientRead(forged: Map<string, Buffer>, target: string): Promise<{ sha256: string | undefined; doc: any }> {
    const dir = mkdtempSync(join(tempDir(), 'client-'));
    writeFileSync(join(dir, 'root.json'), readFileSync(join(svc.dataDir, 'root.json')));
    const updater = new Updater({ metadataDir: dir, metadataBaseUrl: `${svc.url}/tuf`, targetBaseUrl: `${svc.url}/tuf/targets`, targetDir: dir, fetcher: new TamperingFetcher(forged) });
    await updater.refresh();
    const info = await updater.getTargetInfo(target);
    if (!info) return { sha256: undefined, doc: null };
    const file = await updater.downloadTarget(info, join(dir, 'target.json'));
    return { sha256: info.hashes.sha256, doc: JSON.parse(readFileSync(file, 'utf8')) };
  }

  it('signs what tuf-js accepts for its own scopes (the control)', async () => {
    const forged = await forge('tenant-team-a', 'tenant-team-a-bin', TEAM_A, attacker());
    const read = await clientRead(forged, path(TEAM_A));
    expect(read.doc.anchors[0].name).toBe('evil');
  });

  it('cannot add trust for another tenant\'s scope to its own bins: tuf-js never looks there', async () => {
    // team-b's path, listed in a bin of team-a signed with team-a's key: TUF spec 5.6.7 looks a
    // path up only in the roles trusted for it, and team-a's delegation names team-a's paths.
    const forged = await forge('tenant-team-a', 'tenant-team-a-bin', TEAM_B, attacker());
    const read = await clientRead(forged, path(TEAM_B));
    expect(read.sha256).not.toBe(sha256(evilDoc(TEAM_B)));
    expect(read.doc.anchors.map((x: { name: string }) => x.name)).toEqual(['team-b-ci']);
    // Nor for a scope the service signs.
    const forgedShared = await forge('tenant-team-a', 'tenant-team-a-bin', SHARED, attacker());
    expect((await clientRead(forgedShared, path(SHARED))).doc.scope).toBe(SHARED);
  });

  it('cannot sign another tenant\'s bins: tuf-js rejects them', async () => {
    const forged = await forge('tenant-team-b', 'tenant-team-b-bin', TEAM_B, attacker());
    await expect(clientRead(forged, path(TEAM_B))).rejects.toThrow(/was signed by 0\/1 keys/);
  });

  it('cannot sign the service\'s bins: tuf-js rejects them', async () => {
    const forged = await forge('trust', 'bin', SHARED, attacker());
    await expect(clientRead(forged, path(SHARED))).rejects.toThrow(/was signed by 0\/1 keys/);
  });
});
