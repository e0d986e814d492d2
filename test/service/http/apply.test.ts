/**
 * POST /api/v1/apply (CONTRACT.md `apply`): declarative trust that is idempotent, atomic, names
 * every invalid entry, and with prune removes what the file does not name (never revocations).
 */
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readFixture, readFixtureText } from '../../../fixtures/index.js';
import { openInstance, type Instance } from '../../../service/instance.js';
import { expectedCertId, expectedSpkiId } from '../crypto/helpers.js';
import { appApi, cleanupTempDirs, newDataDir, scopePath, type Api } from '../../support/service.js';
import { join } from 'node:path';
import { createApp } from '../../../service/http/app.js';

const ROOT_CA = readFixtureText('certs/root-ca.pem');
const INTERMEDIATE_CA = readFixtureText('certs/intermediate-ca.pem');
const EC_KEY = readFixtureText('keys/ec-p256.pub.pem');
const ED_KEY = readFixtureText('keys/ed25519.pub.pem');
const PGP_KEY = readFixtureText('pgp/release.pub.asc');
const REVOKED_KEY_ID = `sha256:${'cd'.repeat(32)}`;

let instance: Instance;
let api: Api;
let dataDir: string;

beforeEach(async () => {
  const dir = await newDataDir();
  dataDir = dir.dataDir;
  instance = await openInstance({ dataDir: dir.dataDir });
  api = appApi(instance, dir.token).api;
});
afterEach(async () => {
  await instance?.close();
});
afterAll(() => cleanupTempDirs());

const timestampVersion = () => instance.publisher.latestMetadata('timestamp')!.version;
const scopeNames = async () => (await api('GET', '/scopes')).body.scopes.map((s: { scope: string }) => s.scope);
const anchorIds = async (scope: string) => (await api('GET', scopePath(scope))).body.anchors.map((a: { id: string }) => a.id).sort();
const publishedDoc = async (scope: string) => {
  const path = scope === '*' ? 'trust/_default.json' : `trust/${scope}.json`;
  const rec = (await instance.store.listTrustDocs()).find((d) => d.scope === scope);
  return rec ? { version: rec.version, path } : null;
};

const FILE = {
  scopes: [
    {
      scope: 'registry.acme.io',
      level: 'strict',
      anchors: [
        { certificate: ROOT_CA, name: 'acme-root', type: 'ca' },
        {
          certificate: INTERMEDIATE_CA,
          type: 'signingAuthority',
          trustedIdentities: ['x509.subject: CN=Keyshare Test Signer, O=Keyshare Fixtures, ST=WA, C=US'],
        },
      ],
    },
    { scope: 'registry.acme.io/team-a', level: 'audit', anchors: [{ publicKey: EC_KEY, name: 'ci' }, { publicKey: PGP_KEY }] },
    { scope: 'registry.acme.io/isolated', inherit: false },
    { scope: '*' },
  ],
  revoked: { keys: [{ id: REVOKED_KEY_ID, reason: 'keyCompromise' }] },
};

describe('when the same file is applied twice', () => {
  it('makes the changes the first time, in one publish', async () => {
    const before = timestampVersion();
    const res = await api('POST', '/apply', FILE);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.summary).toMatchObject({
      scopesCreated: ['registry.acme.io', 'registry.acme.io/team-a', 'registry.acme.io/isolated', '*'],
      anchorsAdded: 4,
      revocationsAdded: 1,
      changed: true,
    });
    expect(res.body.published.timestampVersion).toBe(before + 1);
    expect(timestampVersion()).toBe(before + 1);
    expect(await anchorIds('registry.acme.io')).toEqual([expectedCertId(ROOT_CA), expectedCertId(INTERMEDIATE_CA)].sort());
    expect((await api('GET', scopePath('registry.acme.io/isolated'))).body.scope).toMatchObject({ inherit: false, level: null });
  });

  it('returns changed=false the second time and publishes nothing new', async () => {
    await api('POST', '/apply', FILE);
    const ts = timestampVersion();
    const docs = await instance.store.listTrustDocs();
    const res = await api('POST', '/apply', FILE);
    expect(res.status).toBe(200);
    expect(res.body.summary).toEqual({
      scopesCreated: [],
      scopesUpdated: [],
      scopesRemoved: [],
      anchorsAdded: 0,
      anchorsUpdated: 0,
      anchorsRemoved: 0,
      revocationsAdded: 0,
      changed: false,
    });
    expect(res.body.published).toBeNull();
    await instance.publisher.flush();
    expect(timestampVersion()).toBe(ts);
    expect(await instance.store.listTrustDocs()).toEqual(docs);
  });

  it('changes nothing when the same file lists its entries in another order and another encoding', async () => {
    await api('POST', '/apply', FILE);
    const ts = timestampVersion();
    const reordered = {
      revoked: { keys: [{ id: REVOKED_KEY_ID.toUpperCase().replace('SHA256', 'sha256'), reason: 'keyCompromise' }] },
      scopes: [...FILE.scopes].reverse().map((s) => ({ ...s, anchors: s.anchors ? [...s.anchors].reverse() : undefined })),
    };
    reordered.scopes.find((s) => s.scope === 'registry.acme.io/team-a')!.anchors![1] = { publicKey: `\n${EC_KEY}\n\n`, name: 'ci' };
    const res = await api('POST', '/apply', reordered);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.summary.changed).toBe(false);
    expect(timestampVersion()).toBe(ts);
  });

  it('updates only what differs: a level, a name', async () => {
    await api('POST', '/apply', FILE);
    const changed = structuredClone(FILE) as { scopes: { level?: string; anchors?: { name?: string }[] }[] };
    changed.scopes[0]!.level = 'permissive';
    changed.scopes[1]!.anchors![0]!.name = 'ci-renamed';
    const res = await api('POST', '/apply', changed);
    expect(res.body.summary).toMatchObject({ scopesUpdated: ['registry.acme.io'], anchorsUpdated: 1, anchorsAdded: 0, changed: true });
    const team = (await api('GET', scopePath('registry.acme.io/team-a'))).body.anchors;
    expect(team.find((a: { id: string }) => a.id === expectedSpkiId(EC_KEY)).name).toBe('ci-renamed');
  });
});

describe('when a file has invalid entries', () => {
  const bad = {
    scopes: [
      { scope: 'good.acme.io', anchors: [{ publicKey: ED_KEY }] },
      { scope: 'Bad.Acme.io' },
      { scope: 'good.acme.io/team', anchors: [{ publicKey: EC_KEY }, { certificate: readFixtureText('certs/non-ca.pem'), type: 'ca' }] },
      { scope: 'expired.acme.io', anchors: [{ certificate: readFixtureText('certs/expired-ca.pem') }] },
    ],
    revoked: { keys: [{ id: REVOKED_KEY_ID }, { id: 'not-an-id' }] },
  };

  it('refuses the whole file with APPLY_INVALID and names every bad entry in details', async () => {
    const res = await api('POST', '/apply', bad);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('APPLY_INVALID');
    expect(res.body.details).toEqual([
      expect.objectContaining({ path: 'scopes[1]', code: 'SCOPE_INVALID' }),
      expect.objectContaining({ path: 'scopes[2].anchors[1]', code: 'NOT_A_CA' }),
      expect.objectContaining({ path: 'scopes[3].anchors[0]', code: 'CERT_EXPIRED' }),
      expect.objectContaining({ path: 'revoked.keys[1]', code: 'ANCHOR_INVALID' }),
    ]);
    for (const d of res.body.details) expect(typeof d.message).toBe('string');
  });

  it('names both entries when exactly two are bad', async () => {
    const two = { scopes: [{ scope: 'ok.acme.io' }, { scope: 'registry.acme.io/../x' }, { scope: 'ok.acme.io/t', anchors: [{ publicKey: readFixtureText('keys/garbage.pub.pem') }] }] };
    const res = await api('POST', '/apply', two);
    expect(res.body.code).toBe('APPLY_INVALID');
    expect(res.body.details.map((d: { path: string; code: string }) => [d.path, d.code])).toEqual([
      ['scopes[1]', 'SCOPE_INVALID'],
      ['scopes[2].anchors[0]', 'BAD_PUBLIC_KEY'],
    ]);
  });

  it('changes nothing at all', async () => {
    await api('POST', '/apply', { scopes: [{ scope: 'existing.acme.io', anchors: [{ publicKey: ED_KEY }] }] });
    const ts = timestampVersion();
    const scopes = await scopeNames();
    await api('POST', '/apply', bad);
    await api('POST', '/apply?prune=true', bad);
    await instance.publisher.flush();
    expect(await scopeNames()).toEqual(scopes);
    expect(await anchorIds('existing.acme.io')).toEqual([expectedSpkiId(ED_KEY)]);
    expect((await api('GET', '/revocations')).body.keys).toEqual([]);
    expect(timestampVersion()).toBe(ts);
  });

  it('refuses a scope listed twice, and an anchor listed twice in a scope (PEM and DER alike)', async () => {
    const res = await api('POST', '/apply', {
      scopes: [
        { scope: 'twice.acme.io' },
        { scope: 'twice.acme.io' },
        { scope: 'dup.acme.io', anchors: [{ publicKey: EC_KEY }, { publicKey: readFixture('keys/ec-p256.pub.der').toString('base64') }] },
      ],
    });
    expect(res.body.code).toBe('APPLY_INVALID');
    expect(res.body.details.map((d: { path: string }) => d.path)).toContain('scopes[1]');
  });
});

describe('when a file is applied with prune', () => {
  beforeEach(async () => {
    const res = await api('POST', '/apply', FILE);
    expect(res.status).toBe(200);
    await api('POST', '/scopes', { scope: 'extra.acme.io' });
    await api('POST', '/revocations', { kind: 'signature', digest: `sha256:${'ef'.repeat(32)}`, scope: 'registry.acme.io' });
  });

  const pruned = {
    scopes: [{ scope: 'registry.acme.io', level: 'strict', anchors: [{ certificate: ROOT_CA, name: 'acme-root', type: 'ca' }] }],
  };

  it('removes the scopes and anchors that the file does not name', async () => {
    const res = await api('POST', '/apply?prune=true', pruned);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.summary.scopesRemoved.sort()).toEqual(['*', 'extra.acme.io', 'registry.acme.io/isolated', 'registry.acme.io/team-a'].sort());
    expect(await scopeNames()).toEqual(['registry.acme.io']);
    expect(await anchorIds('registry.acme.io')).toEqual([expectedCertId(ROOT_CA)]);
  });

  it('never removes revocations', async () => {
    const before = (await api('GET', '/revocations')).body;
    expect(before.keys).toHaveLength(1);
    expect(before.signatures).toHaveLength(1);
    await api('POST', '/apply?prune=true', pruned);
    expect((await api('GET', '/revocations')).body).toEqual(before);
    await api('POST', '/apply?prune=true', { scopes: [] });
    expect((await api('GET', '/revocations')).body).toEqual(before);
  });

  it('unpublishes the removed scopes in the same publish', async () => {
    const ts = timestampVersion();
    const res = await api('POST', '/apply?prune=true', pruned);
    expect(res.body.published.timestampVersion).toBe(ts + 1);
    expect((await instance.store.listTrustDocs()).map((d) => d.scope)).toEqual(['registry.acme.io']);
    expect(await publishedDoc('extra.acme.io')).toBeNull();
  });

  it('is idempotent too', async () => {
    await api('POST', '/apply?prune=true', pruned);
    const ts = timestampVersion();
    const res = await api('POST', '/apply?prune=true', pruned);
    expect(res.body.summary.changed).toBe(false);
    expect(timestampVersion()).toBe(ts);
  });

  it('removes nothing without prune', async () => {
    const res = await api('POST', '/apply', pruned);
    expect(res.body.summary.changed).toBe(false);
    expect((await scopeNames()).length).toBe(5);
    expect(await anchorIds('registry.acme.io')).toHaveLength(2);
  });
});

describe('examples/trust.yaml', () => {
  const example = async () => (await import('yaml')).parse(readFileSync(new URL('../../../examples/trust.yaml', import.meta.url), 'utf8'));

  it('applies: a registry with a CA, a namespace with a public key, a repository without inheritance with an OpenPGP key, and revocations', async () => {
    const res = await api('POST', '/apply', await example());
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.summary).toMatchObject({
      scopesCreated: ['registry.acme.io', 'registry.acme.io/team-a', 'registry.acme.io/team-a/release'],
      anchorsAdded: 3,
      revocationsAdded: 2,
    });
    const release = (await api('GET', scopePath('registry.acme.io/team-a/release'))).body;
    expect(release.scope.inherit).toBe(false);
    expect(release.anchors.map((a: { type: string }) => a.type)).toEqual(['pgp']);
    expect((await api('POST', '/apply', await example())).body.summary.changed).toBe(false);
  });
});

describe('when a file has a field that apply does not know', () => {
  it('refuses it with its path and the field it probably meant, and changes nothing', async () => {
    const res = await api('POST', '/apply', { scopes: [{ scope: 'a.acme.io' }, { scope: 'b.acme.io', anchors: [{ key: EC_KEY, name: 'ci' }] }] });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('APPLY_INVALID');
    expect(res.body.message).toContain('scopes[1].anchors[0].key: unknown field; did you mean publicKey?');
    // The misnamed anchor is not validated further: no "give exactly one of ..." beside it.
    expect(res.body.message).not.toContain('ANCHOR_INVALID');
    expect(await scopeNames()).toEqual([]);
  });

  it('finds them at every level: the file, a scope, an anchor, the revocations and each revocation', async () => {
    const res = await api('POST', '/apply', {
      scope: [],
      scopes: [{ scope: 'a.acme.io', levle: 'strict', anchors: [{ cert: ROOT_CA }] }],
      revoked: { key: [], keys: [{ id: REVOKED_KEY_ID, reson: 'keyCompromise' }] },
    });
    expect(res.body.details.map((d: { path: string; message: string }) => `${d.path}: ${d.message}`)).toEqual([
      'scope: unknown field; did you mean scopes?',
      'scopes[0].levle: unknown field; did you mean level?',
      'scopes[0].anchors[0].cert: unknown field; did you mean certificate?',
      'revoked.key: unknown field; did you mean keys?',
      'revoked.keys[0].reson: unknown field; did you mean reason?',
    ]);
  });
});

describe('apply with dryRun', () => {
  it('returns the plan per scope and changes nothing', async () => {
    const ts = timestampVersion();
    const res = await api('POST', '/apply?dryRun=true', FILE);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ dryRun: true, published: null, summary: { changed: true, anchorsAdded: 4 } });
    const plan = res.body.plan as { scope: string; change: string; level?: unknown; anchorsAdded: { id: string; definedAt: string }[]; revoked: { id: string }[] }[];
    expect(plan.map((p) => [p.scope, p.change])).toEqual([
      ['*', 'create'],
      ['registry.acme.io', 'create'],
      ['registry.acme.io/isolated', 'create'],
      ['registry.acme.io/team-a', 'create'],
    ]);
    const team = plan.find((p) => p.scope === 'registry.acme.io/team-a')!;
    expect(team.level).toEqual({ from: null, to: 'audit' });
    // Effective trust: the namespace gets its own keys and the registry's CAs.
    expect(team.anchorsAdded.map((a) => a.definedAt).sort()).toEqual(['registry.acme.io', 'registry.acme.io', 'registry.acme.io/team-a', 'registry.acme.io/team-a']);
    expect(team.revoked.map((r) => r.id)).toEqual([REVOKED_KEY_ID]);
    expect(await scopeNames()).toEqual([]);
    expect((await api('GET', '/revocations')).body.keys).toEqual([]);
    await instance.publisher.flush();
    expect(timestampVersion()).toBe(ts);
    expect((await api('GET', '/audit')).body.entries.filter((e: { action: string }) => e.action.startsWith('apply'))).toEqual([]);
  });

  it('plans removals with prune, and level changes, from the same code as the change', async () => {
    await api('POST', '/apply', FILE);
    const next = structuredClone(FILE) as { scopes: { scope: string; level?: string }[] };
    next.scopes = next.scopes.filter((s) => s.scope !== 'registry.acme.io/isolated');
    next.scopes[0]!.level = 'permissive';
    const res = await api('POST', '/apply?dryRun=true&prune=true', next);
    const plan = res.body.plan as { scope: string; change: string; level?: unknown }[];
    expect(plan.find((p) => p.scope === 'registry.acme.io/isolated')?.change).toBe('remove');
    expect(plan.find((p) => p.scope === 'registry.acme.io')?.level).toEqual({ from: 'strict', to: 'permissive' });
    // team-a sets its own level: unchanged, so not in the plan.
    expect(plan.find((p) => p.scope === 'registry.acme.io/team-a')).toBeUndefined();
    expect(res.body.summary.scopesRemoved).toEqual(['registry.acme.io/isolated']);
    expect(await scopeNames()).toContain('registry.acme.io/isolated');
    // An empty plan for a file already applied.
    expect((await api('POST', '/apply?dryRun=true', FILE)).body.plan).toEqual([]);
  });

  it('refuses an invalid file as apply does', async () => {
    const res = await api('POST', '/apply?dryRun=true', { scopes: [{ scope: 'Bad.Acme.io' }] });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('APPLY_INVALID');
  });
});

describe('when a file is streamed as NDJSON (issue 17: a file over the body limit)', () => {
  /** An admin API whose body limit is 16 KiB, so that a few hundred scopes are over it. */
  const smallLimit = () => {
    const app = createApp({ instance, log: () => {}, maxBodyBytes: 16 * 1024 });
    const token = readFileSync(join(dataDir, 'admin.token'), 'utf8').trim();
    return async (path: string, body: string, contentType = 'application/x-ndjson') => {
      const r = await app.request(`/api/v1${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': contentType }, body });
      return { status: r.status, body: await r.json() };
    };
  };
  const many = (n: number) => Array.from({ length: n }, (_, i) => ({ scope: `s${i}.stream.acme.io`, anchors: [{ publicKey: i % 2 ? EC_KEY : ED_KEY }] }));
  /** The file as lines of `per` scopes, then a line with the revocations. */
  const lines = (scopes: unknown[], per: number, revoked?: unknown) => {
    const out: string[] = [];
    for (let i = 0; i < scopes.length; i += per) out.push(JSON.stringify({ scopes: scopes.slice(i, i + per) }));
    if (revoked) out.push(JSON.stringify({ revoked }));
    return out.join('\n') + '\n';
  };

  it('applies a file over the body limit as one change, published as one version', async () => {
    const post = smallLimit();
    const scopes = many(300);
    const body = lines(scopes, 40, { keys: [{ id: REVOKED_KEY_ID }] });
    expect(body.length).toBeGreaterThan(16 * 1024);
    expect((await post('/apply', JSON.stringify({ scopes }), 'application/json')).body.code).toBe('BODY_TOO_LARGE');
    const before = timestampVersion();
    const res = await post('/apply', body);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.summary).toMatchObject({ anchorsAdded: 300, revocationsAdded: 1, changed: true });
    expect(res.body.summary.scopesCreated).toHaveLength(300);
    expect(res.body.published.timestampVersion).toBe(before + 1);
    expect(timestampVersion()).toBe(before + 1);
    expect((await scopeNames()).length).toBe(300);
    // The same stream again changes nothing.
    expect((await post('/apply', body)).body.summary.changed).toBe(false);
  });

  it('is atomic: a bad entry in the last line changes nothing, and is named by its place in the whole file', async () => {
    const post = smallLimit();
    await api('POST', '/apply', { scopes: [{ scope: 'existing.acme.io', anchors: [{ publicKey: ED_KEY }] }] });
    const ts = timestampVersion();
    const names = await scopeNames();
    const scopes = [...many(200), { scope: 'last.acme.io', anchors: [{ publicKey: readFixtureText('keys/garbage.pub.pem') }] }];
    const res = await post('/apply?prune=true', lines(scopes, 50));
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('APPLY_INVALID');
    expect(res.body.details.map((d: { path: string; code: string }) => [d.path, d.code])).toEqual([['scopes[200].anchors[0]', 'BAD_PUBLIC_KEY']]);
    await instance.publisher.flush();
    expect(await scopeNames()).toEqual(names);
    expect(await anchorIds('existing.acme.io')).toEqual([expectedSpkiId(ED_KEY)]);
    expect(timestampVersion()).toBe(ts);
  });

  it('plans a streamed file with dryRun and changes nothing', async () => {
    const res = await smallLimit()('/apply?dryRun=true', lines(many(120), 30));
    expect(res.status).toBe(200);
    expect(res.body.plan).toHaveLength(120);
    expect(await scopeNames()).toEqual([]);
  });

  it('refuses a line that is not JSON, or not an object, naming the line; and a line over the body limit', async () => {
    const post = smallLimit();
    const notJson = await post('/apply', `${lines(many(3), 3)}{"scopes": [\n`);
    expect([notJson.status, notJson.body.code]).toEqual([400, 'APPLY_INVALID']);
    expect(notJson.body.message).toMatch(/line 2 /);
    const notObject = await post('/apply', '[1, 2]\n');
    expect(notObject.body.code).toBe('APPLY_INVALID');
    expect(notObject.body.message).toMatch(/line 1 /);
    const tooLong = await post('/apply', lines(many(200), 200));
    expect([tooLong.status, tooLong.body.code]).toEqual([413, 'BODY_TOO_LARGE']);
    expect(await scopeNames()).toEqual([]);
  });

  it('keeps a field apply does not know, for apply to refuse with its path', async () => {
    const res = await smallLimit()('/apply', `${lines(many(2), 2)}{"revokd": {}}\n`);
    expect(res.body.code).toBe('APPLY_INVALID');
    expect(res.body.details[0].path).toBe('revokd');
  });
});
