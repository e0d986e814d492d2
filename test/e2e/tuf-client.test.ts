/**
 * tuf-js's Updater, as an outside client pinned to the data dir's root.json, reads the trust
 * documents that a running service publishes (CONTRACT.md "The published repository").
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFixtureText } from '../../fixtures/index.js';
import { expectedCertId, expectedPgpFingerprint, expectedSpkiId } from '../service/crypto/helpers.js';
import { readFixture } from '../../fixtures/index.js';
import { TufClient, anchorSummary, cleanupTempDirs, scopePath, startTestService, type TestService } from '../support/service.js';
import { shardOfScope } from '../../service/domain/trust-index.js';

const ROOT_CA = readFixtureText('certs/root-ca.pem');
const INTERMEDIATE_CA = readFixtureText('certs/intermediate-ca.pem');
const TSA_CA = readFixtureText('certs/tsa-ca.pem');
const EC_KEY = readFixtureText('keys/ec-p256.pub.pem');
const ED_KEY = readFixtureText('keys/ed25519.pub.pem');
const PGP_KEY = readFixtureText('pgp/release.pub.asc');

const ROOT_CA_ID = expectedCertId(ROOT_CA);
const INTERMEDIATE_CA_ID = expectedCertId(INTERMEDIATE_CA);
const TSA_CA_ID = expectedCertId(TSA_CA);
const EC_KEY_ID = expectedSpkiId(EC_KEY);
const ED_KEY_ID = expectedSpkiId(ED_KEY);
const PGP_KEY_ID = `pgp:${expectedPgpFingerprint(readFixture('pgp/release.pub.gpg'))}`;

type TrustDoc = {
  mediaType: string;
  scope: string;
  version: number;
  issuedAt: string;
  level: string;
  anchors: { id: string; name: string; type: string; certificate?: string; publicKey?: string; trustedIdentities?: string[]; definedAt: string }[];
  revoked: { certificates: unknown[]; keys: unknown[]; signatures: unknown[] };
  crls: unknown[];
};

let svc: TestService;
let client: TufClient;

const trustPath = (scope: string) => (scope === '*' ? 'trust/_default.json' : `trust/${scope}.json`);
const readDoc = (scope: string) => client.readJson<TrustDoc>(trustPath(scope));

async function ok(res: Promise<{ status: number; body: any }>, status = 201): Promise<any> {
  const r = await res;
  expect(r.body, JSON.stringify(r.body)).not.toHaveProperty('code');
  expect(r.status).toBe(status);
  return r.body;
}
const addScope = (scope: string, extra: { inherit?: boolean; level?: string } = {}) => ok(svc.api('POST', '/scopes', { scope, ...extra }));
const addCert = (scope: string, certificate: string, extra: Record<string, unknown> = {}) =>
  ok(svc.api('POST', `${scopePath(scope)}/anchors`, { certificate, ...extra }));
const addKey = (scope: string, publicKey: string, extra: Record<string, unknown> = {}) =>
  ok(svc.api('POST', `${scopePath(scope)}/anchors`, { publicKey, ...extra }));

beforeAll(async () => {
  svc = await startTestService();
  client = TufClient.pinnedTo(svc.url, svc.dataDir);
});
afterAll(async () => {
  await svc?.close();
  cleanupTempDirs();
});

describe('when a scope has anchors of every kind', () => {
  beforeAll(async () => {
    await addScope('kinds.acme.io');
    await addCert('kinds.acme.io', ROOT_CA, { name: 'acme-root' });
    await addCert('kinds.acme.io', TSA_CA, { type: 'tsa' });
    await addCert('kinds.acme.io', INTERMEDIATE_CA, {
      type: 'signingAuthority',
      trustedIdentities: ['x509.subject: CN=Keyshare Test Signer, O=Keyshare Fixtures, ST=WA, C=US'],
    });
    await addKey('kinds.acme.io', EC_KEY, { name: 'ci' });
    await addKey('kinds.acme.io', PGP_KEY);
  });

  it('publishes them in the contract trust document, verified against the pinned root', async () => {
    const doc = await readDoc('kinds.acme.io');
    expect(doc).not.toBeNull();
    expect(doc!.mediaType).toBe('application/vnd.keyshare.trust.v1+json');
    expect(doc!.scope).toBe('kinds.acme.io');
    expect(doc!.level).toBe('strict');
    expect(doc!.issuedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(doc!.revoked).toEqual({ certificates: [], keys: [], signatures: [] });
    expect(doc!.crls).toEqual([]);
    const byId = new Map(doc!.anchors.map((a) => [a.id, a]));
    expect([...byId.keys()].sort()).toEqual([ROOT_CA_ID, TSA_CA_ID, INTERMEDIATE_CA_ID, EC_KEY_ID, PGP_KEY_ID].sort());
    expect(byId.get(ROOT_CA_ID)).toMatchObject({ name: 'acme-root', type: 'ca', trustedIdentities: ['*'], definedAt: 'kinds.acme.io' });
    expect(byId.get(ROOT_CA_ID)!.certificate).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(byId.get(TSA_CA_ID)).toMatchObject({ type: 'tsa' });
    expect(byId.get(INTERMEDIATE_CA_ID)).toMatchObject({
      type: 'signingAuthority',
      trustedIdentities: ['x509.subject: CN=Keyshare Test Signer, O=Keyshare Fixtures, ST=WA, C=US'],
    });
    expect(byId.get(EC_KEY_ID)).toMatchObject({ name: 'ci', type: 'publicKey', definedAt: 'kinds.acme.io' });
    expect(byId.get(EC_KEY_ID)!.publicKey).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    expect(byId.get(PGP_KEY_ID)).toMatchObject({ type: 'pgp' });
    expect(byId.get(PGP_KEY_ID)!.publicKey).toMatch(/^-----BEGIN PGP PUBLIC KEY BLOCK-----/);
  });

  it('serves anchors in a stable order (sorted by ID)', async () => {
    const doc = await readDoc('kinds.acme.io');
    const ids = doc!.anchors.map((a) => a.id);
    expect(ids).toEqual([...ids].sort());
  });
});

describe('when a child scope is created under a scope with anchors', () => {
  beforeAll(async () => {
    await addScope('inherit.acme.io');
    await addCert('inherit.acme.io', ROOT_CA, { name: 'acme-root' });
    await addScope('inherit.acme.io/team-a');
    await addKey('inherit.acme.io/team-a', EC_KEY, { name: 'ci' });
  });

  it('inherits the parent anchors, marked with where they are defined', async () => {
    const doc = await readDoc('inherit.acme.io/team-a');
    expect(anchorSummary(doc!)).toEqual(
      [
        { id: ROOT_CA_ID, definedAt: 'inherit.acme.io' },
        { id: EC_KEY_ID, definedAt: 'inherit.acme.io/team-a' },
      ].sort((a, b) => (a.id < b.id ? -1 : 1)),
    );
  });

  it('does not give the child anchors to the parent', async () => {
    const doc = await readDoc('inherit.acme.io');
    expect(anchorSummary(doc!)).toEqual([{ id: ROOT_CA_ID, definedAt: 'inherit.acme.io' }]);
  });

  it('gives a grandchild the anchors of both', async () => {
    await addScope('inherit.acme.io/team-a/app');
    const doc = await readDoc('inherit.acme.io/team-a/app');
    expect(doc!.anchors.map((a) => a.id).sort()).toEqual([ROOT_CA_ID, EC_KEY_ID].sort());
  });

  it('matches whole path components only (team-a does not contain team-ab)', async () => {
    await addScope('inherit.acme.io/team-ab');
    const doc = await readDoc('inherit.acme.io/team-ab');
    expect(anchorSummary(doc!)).toEqual([{ id: ROOT_CA_ID, definedAt: 'inherit.acme.io' }]);
  });

  it('publishes a new anchor of the parent in the existing child documents', async () => {
    const before = await readDoc('inherit.acme.io/team-a');
    await addKey('inherit.acme.io', ED_KEY);
    const after = await readDoc('inherit.acme.io/team-a');
    expect(after!.version).toBeGreaterThan(before!.version);
    expect(after!.anchors.find((a) => a.id === ED_KEY_ID)?.definedAt).toBe('inherit.acme.io');
  });

  it('keeps the most specific definition when an anchor is defined at both', async () => {
    await addCert('inherit.acme.io/team-a', ROOT_CA, { name: 'team-a-root' });
    const doc = await readDoc('inherit.acme.io/team-a');
    const root = doc!.anchors.filter((a) => a.id === ROOT_CA_ID);
    expect(root).toHaveLength(1);
    expect(root[0]).toMatchObject({ name: 'team-a-root', definedAt: 'inherit.acme.io/team-a' });
  });
});

describe('when a scope is created with --no-inherit', () => {
  beforeAll(async () => {
    await addScope('noinherit.acme.io', { level: 'audit' });
    await addCert('noinherit.acme.io', ROOT_CA);
    await addScope('noinherit.acme.io/isolated', { inherit: false });
    await addKey('noinherit.acme.io/isolated', EC_KEY);
    await addScope('noinherit.acme.io/isolated/below');
  });

  it('does not inherit the parent anchors', async () => {
    const doc = await readDoc('noinherit.acme.io/isolated');
    expect(anchorSummary(doc!)).toEqual([{ id: EC_KEY_ID, definedAt: 'noinherit.acme.io/isolated' }]);
  });

  it('does not inherit the parent level', async () => {
    const doc = await readDoc('noinherit.acme.io/isolated');
    expect(doc!.level).toBe('strict');
  });

  it('still passes its own anchors to its children, but not its parent anchors', async () => {
    const doc = await readDoc('noinherit.acme.io/isolated/below');
    expect(anchorSummary(doc!)).toEqual([{ id: EC_KEY_ID, definedAt: 'noinherit.acme.io/isolated' }]);
  });
});

describe('when a parent scope sets a level', () => {
  beforeAll(async () => {
    await addScope('level.acme.io', { level: 'permissive' });
    await addScope('level.acme.io/inherits');
    await addScope('level.acme.io/own', { level: 'audit' });
    await addScope('level.acme.io/own/deeper');
  });

  it('gives it to a child scope without a level', async () => {
    expect((await readDoc('level.acme.io/inherits'))!.level).toBe('permissive');
  });

  it('lets a child scope set its own level', async () => {
    expect((await readDoc('level.acme.io/own'))!.level).toBe('audit');
  });

  it('gives a grandchild the level of its nearest ancestor that has one', async () => {
    expect((await readDoc('level.acme.io/own/deeper'))!.level).toBe('audit');
  });

  it('defaults to strict where no scope in the chain sets one', async () => {
    await addScope('nolevel.acme.io');
    expect((await readDoc('nolevel.acme.io'))!.level).toBe('strict');
  });
});

describe('when an anchor is removed', () => {
  let before: TrustDoc;
  let childBefore: TrustDoc;

  beforeAll(async () => {
    await addScope('remove.acme.io');
    await addCert('remove.acme.io', ROOT_CA);
    await addKey('remove.acme.io', EC_KEY);
    await addScope('remove.acme.io/child');
    before = (await readDoc('remove.acme.io'))!;
    childBefore = (await readDoc('remove.acme.io/child'))!;
    // IDs are accepted in upper case and normalised (CONTRACT.md "Anchor IDs").
    await ok(svc.api('DELETE', `${scopePath('remove.acme.io')}/anchors/${encodeURIComponent(ROOT_CA_ID.toUpperCase())}`), 200);
  });

  it('publishes a new version of the document without it', async () => {
    const after = (await readDoc('remove.acme.io'))!;
    expect(after.version).toBeGreaterThan(before.version);
    expect(after.anchors.map((a) => a.id)).toEqual([EC_KEY_ID]);
  });

  it('removes it from the child scopes that inherited it', async () => {
    const after = (await readDoc('remove.acme.io/child'))!;
    expect(after.version).toBeGreaterThan(childBefore.version);
    expect(anchorSummary(after)).toEqual([{ id: EC_KEY_ID, definedAt: 'remove.acme.io' }]);
  });

  it('lists the new versions in the index shards', async () => {
    const index = await client.readIndex('remove.acme.io');
    const parent = (await readDoc('remove.acme.io'))!;
    expect(index.scopes.find((s) => s.scope === 'remove.acme.io')?.version).toBe(parent.version);
  });
});

describe('when a scope is removed', () => {
  beforeAll(async () => {
    await addScope('gone.acme.io');
    await addCert('gone.acme.io', ROOT_CA);
    await addScope('gone.acme.io/team');
    await addKey('gone.acme.io/team', EC_KEY);
    await addScope('gone.acme.io/team/app');
    expect(anchorSummary((await readDoc('gone.acme.io/team/app'))!)).toHaveLength(2);
    await ok(svc.api('DELETE', scopePath('gone.acme.io/team')), 200);
  });

  it('no longer publishes its trust document', async () => {
    expect(await readDoc('gone.acme.io/team')).toBeNull();
  });

  it('drops it from index.json', async () => {
    expect((await client.readIndex('gone.acme.io/team')).scopes.map((s) => s.scope)).not.toContain('gone.acme.io/team');
    expect((await client.readIndex('gone.acme.io/team/app')).scopes.map((s) => s.scope)).toContain('gone.acme.io/team/app');
  });

  it('makes its children inherit from the next scope up', async () => {
    const doc = (await readDoc('gone.acme.io/team/app'))!;
    expect(anchorSummary(doc)).toEqual([{ id: ROOT_CA_ID, definedAt: 'gone.acme.io' }]);
  });

  it('publishes a fresh document when the scope is created again', async () => {
    await addScope('gone.acme.io/team');
    const doc = (await readDoc('gone.acme.io/team'))!;
    expect(anchorSummary(doc)).toEqual([{ id: ROOT_CA_ID, definedAt: 'gone.acme.io' }]);
    const index = await client.readIndex('gone.acme.io/team');
    expect(index.scopes.find((s) => s.scope === 'gone.acme.io/team')?.version).toBe(doc.version);
  });
});

describe('index.json and its shards', () => {
  it('is a v2 header listing one shard per hashed bin', async () => {
    const header = (await client.readJson<{ mediaType: string; shards: string[] }>('index.json'))!;
    expect(header.mediaType).toBe('application/vnd.keyshare.index.v2+json');
    const bits = JSON.parse(svc.instance.publisher.latestMetadata('trust')!.bytes.toString('utf8')).signed.delegations.succinct_roles.bit_length;
    expect(header.shards).toHaveLength(2 ** bits);
    expect(header.shards[0]).toMatch(/^index\/0+\.json$/);
  });

  it('lists every scope with its trust file path and the version that is published', async () => {
    const index = await client.readIndex();
    const scopes = (await svc.api('GET', '/scopes')).body.scopes.map((s: { scope: string }) => s.scope);
    expect(index.scopes.map((s) => s.scope).sort()).toEqual([...scopes].sort());
    for (const entry of index.scopes) {
      expect(entry.path).toBe(trustPath(entry.scope));
      const doc = (await client.readJson<TrustDoc>(entry.path))!;
      expect(doc.scope).toBe(entry.scope);
      expect(doc.version).toBe(entry.version);
    }
  });

  it('sorts each shard by scope', async () => {
    // readIndex concatenates the shards in bin order: each shard's run is sorted.
    const index = await client.readIndex();
    const bits = JSON.parse(svc.instance.publisher.latestMetadata('trust')!.bytes.toString('utf8')).signed.delegations.succinct_roles.bit_length;
    const runs = new Map<string, string[]>();
    for (const e of index.scopes) runs.set(shardOfScope(e.scope, bits), [...(runs.get(shardOfScope(e.scope, bits)) ?? []), e.scope]);
    for (const names of runs.values()) expect(names).toEqual([...names].sort());
  });
});

describe('when the default scope "*" and a wildcard scope exist', () => {
  let own: TestService;
  let ownClient: TufClient;
  const read = (scope: string) => ownClient.readJson<TrustDoc>(trustPath(scope));

  beforeAll(async () => {
    own = await startTestService();
    ownClient = TufClient.pinnedTo(own.url, own.dataDir);
    const api = own.api;
    const must = async (p: Promise<{ status: number; body: any }>) => expect((await p).status, JSON.stringify((await p).body)).toBeLessThan(300);
    await must(api('POST', '/scopes', { scope: '*', level: 'audit' }));
    await must(api('POST', `${scopePath('*')}/anchors`, { certificate: TSA_CA, type: 'tsa' }));
    await must(api('POST', '/scopes', { scope: '*.example.com' }));
    await must(api('POST', `${scopePath('*.example.com')}/anchors`, { certificate: ROOT_CA }));
    await must(api('POST', '/scopes', { scope: 'registry.example.com:5000/team' }));
    await must(api('POST', '/scopes', { scope: 'example.com' }));
    await must(api('POST', '/scopes', { scope: 'localhost:5000' }));
    await must(api('POST', '/scopes', { scope: '127.0.0.1:5000/library' }));
  });
  afterAll(async () => {
    await own?.close();
  });

  it('publishes "*" as trust/_default.json', async () => {
    const doc = (await read('*'))!;
    expect(doc.scope).toBe('*');
    expect(doc.level).toBe('audit');
    expect(anchorSummary(doc)).toEqual([{ id: TSA_CA_ID, definedAt: '*' }]);
    const index = await ownClient.readIndex('*');
    expect(index.scopes.find((s) => s.scope === '*')?.path).toBe('trust/_default.json');
  });

  it('publishes the wildcard as trust/*.example.com.json, inheriting from "*"', async () => {
    const doc = (await read('*.example.com'))!;
    expect(doc.scope).toBe('*.example.com');
    expect(doc.level).toBe('audit');
    expect(doc.anchors.map((a) => [a.id, a.definedAt]).sort()).toEqual(
      [
        [ROOT_CA_ID, '*.example.com'],
        [TSA_CA_ID, '*'],
      ].sort(),
    );
  });

  it('gives a registry under the wildcard (with a port and a path) the wildcard anchors', async () => {
    const doc = (await read('registry.example.com:5000/team'))!;
    expect(doc.anchors.map((a) => [a.id, a.definedAt]).sort()).toEqual(
      [
        [ROOT_CA_ID, '*.example.com'],
        [TSA_CA_ID, '*'],
      ].sort(),
    );
  });

  it('does not give the wildcard anchors to the bare domain', async () => {
    const doc = (await read('example.com'))!;
    expect(anchorSummary(doc)).toEqual([{ id: TSA_CA_ID, definedAt: '*' }]);
  });

  it('publishes localhost and IPv4 registries under "*"', async () => {
    for (const scope of ['localhost:5000', '127.0.0.1:5000/library']) {
      const doc = (await read(scope))!;
      expect(doc.scope).toBe(scope);
      expect(anchorSummary(doc)).toEqual([{ id: TSA_CA_ID, definedAt: '*' }]);
    }
  });
});
