/**
 * The publisher: one change re-signs a bounded set of roles whatever the number of scopes
 * (hashed bins, TUF TAP 15), and a publish that fails to commit leaves the last good version served.
 */
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { SuccinctRoles } from '@tufjs/models/dist/role.js';
import { readFixtureText } from '../../../fixtures/index.js';
import { buildAnchor } from '../../../service/domain/anchor.js';
import { openInstance, type Instance } from '../../../service/instance.js';
import type { PublishResult } from '../../../service/repo/publisher.js';
import { TufClient, appApi, cleanupTempDirs, newDataDir, startTestService, type TestService } from '../../support/service.js';
import { sqlRows } from '../../support/store.js';
import { shardOfScope } from '../../../service/domain/trust-index.js';
import { ON_POSTGRES } from '../../support/database.js';

afterAll(() => cleanupTempDirs());

const NOW = () => new Date();

/** N registry scopes, created in one transaction and published once. */
async function instanceWithScopes(n: number): Promise<Instance> {
  const { dataDir } = await newDataDir();
  const instance = await openInstance({ dataDir });
  await instance.store.transaction(async () => {
    for (let i = 0; i < n; i++) await instance.store.createScope({ scope: `r${i}.acme.io`, inherit: true, level: null }, NOW());
  });
  await instance.publisher.flush();
  expect(await instance.store.listDirty()).toEqual([]);
  expect(await instance.store.listTrustDocs()).toHaveLength(n);
  return instance;
}

/** One change: an anchor added to one scope. Returns what that publish signed. */
async function oneChange(instance: Instance, scope: string): Promise<PublishResult> {
  const anchor = await buildAnchor({ scope, publicKey: readFixtureText('keys/ed25519.pub.pem') }, NOW());
  await instance.store.addAnchor(anchor, NOW());
  const result = await instance.publisher.publish();
  expect(result).not.toBeNull();
  return result!;
}

/** The published bins' bit length. */
function bitsOf(instance: Instance): number {
  return JSON.parse(instance.publisher.latestMetadata('trust')!.bytes.toString('utf8')).signed.delegations.succinct_roles.bit_length;
}

/** The hashed bin (TAP 15) that holds a target, computed from the published delegation of `role` ("trust", or "shards" for the index shards). */
function binOf(instance: Instance, path: string, role = 'trust'): string {
  const trust = JSON.parse(instance.publisher.latestMetadata(role)!.bytes.toString('utf8'));
  const succinct = trust.signed.delegations.succinct_roles;
  return new SuccinctRoles({ keyIDs: succinct.keyids, threshold: succinct.threshold, bitLength: succinct.bit_length, namePrefix: succinct.name_prefix }).getRoleForTarget(path);
}

describe('when an anchor changes at a parent scope (bench B9)', () => {
  it('re-publishes the children that inherit it, not a --no-inherit child, and tuf-js sees the new document', async () => {
    const service = await startTestService();
    const { instance } = service;
    try {
      await instance.store.transaction(async () => {
        for (let i = 0; i < 40; i++) await instance.store.createScope({ scope: `r${i}.acme.io`, inherit: true, level: null }, NOW());
        await instance.store.createScope({ scope: 'isolated.acme.io', inherit: false, level: null }, NOW());
        await instance.store.createScope({ scope: '*.acme.io', inherit: true, level: null }, NOW());
      });
      await instance.publisher.flush();
      const before = new Map((await instance.store.listTrustDocs()).map((d) => [d.scope, d.version]));
      const result = await oneChange(instance, '*.acme.io');
      const after = new Map((await instance.store.listTrustDocs()).map((d) => [d.scope, d.version]));
      // The parent and its 40 inheriting children; the --no-inherit child is unchanged.
      expect(result.documentsChanged).toBe(41);
      expect(after.get('isolated.acme.io')).toBe(before.get('isolated.acme.io'));
      for (let i = 0; i < 40; i++) expect(after.get(`r${i}.acme.io`)).toBe(before.get(`r${i}.acme.io`)! + 1);
      // Each re-signed bin once, then snapshot and timestamp.
      expect(new Set(result.rolesSigned).size).toBe(result.rolesSigned.length);
      const client = new TufClient(service.url, join(service.dataDir, 'root.json'));
      const doc = JSON.parse((await client.readTarget('trust/r7.acme.io.json'))!.toString('utf8'));
      expect(doc.anchors.map((a: { definedAt: string }) => a.definedAt)).toEqual(['*.acme.io']);
      expect(JSON.parse((await client.readTarget('trust/isolated.acme.io.json'))!.toString('utf8')).anchors).toEqual([]);
    } finally {
      await service.close();
    }
  });
});

describe('when one anchor changes among many scopes', () => {
  const results = new Map<number, { result: PublishResult; bin: string; snapshotBytes: number }>();

  for (const n of [10, 10_000]) {
    it(`re-signs the document's bin, its index shard's bin, snapshot and timestamp at ${n} scopes`, async () => {
      const instance = await instanceWithScopes(n);
      try {
        const scope = `r${Math.floor(n / 2)}.acme.io`;
        const started = performance.now();
        const result = await oneChange(instance, scope);
        const ms = performance.now() - started;
        const bin = binOf(instance, `trust/${scope}.json`);
        // Issue 17: index.json no longer lists every scope, so targets is not re-signed; the
        // scope's shard (index/{prefix}.json) changes, in the shard bin its path hashes to
        // (service/repo/index-bins.ts), a small bin of the shards' own.
        const shardBin = binOf(instance, shardOfScope(scope, bitsOf(instance)), 'shards');
        expect(shardBin).toMatch(/^shards-bin-[0-9a-f]+$/);
        expect([...result.rolesSigned].sort()).toEqual([...new Set([bin, shardBin, 'snapshot', 'timestamp'])].sort());
        expect(result.documentsChanged).toBe(1);
        results.set(n, { result, bin, snapshotBytes: instance.publisher.latestMetadata('snapshot')!.bytes.length });
        // A loose bound, so that a publish that walks every scope's document shows up.
        expect(ms).toBeLessThan(10_000);
      } finally {
        await instance.close();
      }
    }, { timeout: ON_POSTGRES ? 300_000 : 60_000 }); // PostgreSQL: 10,000 scopes are ~60,000 round trips to the server before the publish under test
  }

  it('signs the same number of roles at 10 and at 10,000 scopes', () => {
    const small = results.get(10);
    const large = results.get(10_000);
    expect(small && large, 'both sizes ran').toBeTruthy();
    expect(large!.result.rolesSigned.length).toBe(small!.result.rolesSigned.length);
    expect(large!.result.rolesSigned.length).toBeLessThanOrEqual(4);
    const kinds = (r: PublishResult) => r.rolesSigned.map((role) => (/^bin-[0-9a-f]+$/.test(role) ? 'bin' : /^shards-bin-[0-9a-f]+$/.test(role) ? 'shard bin' : role)).sort();
    expect(kinds(large!.result)).toEqual(kinds(small!.result));
    expect(large!.result.documentsChanged).toBe(small!.result.documentsChanged);
    // Issue 17: what one change writes, the snapshot apart, stays small whatever the scope count
    // (its bins and shard hold at most about SCOPES_PER_BIN entries each; the index is not rewritten).
    const rest = (r: { result: PublishResult; snapshotBytes: number }) => r.result.bytesWritten - r.snapshotBytes;
    expect(rest(small!)).toBeLessThan(64 * 1024);
    expect(rest(large!)).toBeLessThan(64 * 1024);
  });
});

describe('when a parent scope changes', () => {
  it('re-signs the bins of the parent and of its children only, not every bin', async () => {
    const instance = await instanceWithScopes(0);
    try {
      await instance.store.transaction(async () => {
        await instance.store.createScope({ scope: 'parent.acme.io', inherit: true, level: null }, NOW());
        for (let i = 0; i < 3; i++) await instance.store.createScope({ scope: `parent.acme.io/team-${i}`, inherit: true, level: null }, NOW());
        for (let i = 0; i < 50; i++) await instance.store.createScope({ scope: `other${i}.acme.io`, inherit: true, level: null }, NOW());
      });
      await instance.publisher.flush();
      const result = await oneChange(instance, 'parent.acme.io');
      const changed = ['parent.acme.io', 'parent.acme.io/team-0', 'parent.acme.io/team-1', 'parent.acme.io/team-2'];
      const expectedBins = new Set(changed.flatMap((s) => [binOf(instance, `trust/${s}.json`), binOf(instance, shardOfScope(s, bitsOf(instance)), 'shards')]));
      expect(result.documentsChanged).toBe(4);
      expect(new Set(result.rolesSigned.filter((r) => /^(shards-)?bin-/.test(r)))).toEqual(expectedBins);
    } finally {
      await instance.close();
    }
  });
});

describe('when nothing changed', () => {
  it('publishes nothing', async () => {
    const instance = await instanceWithScopes(3);
    try {
      const ts = instance.publisher.latestMetadata('timestamp')!.version;
      expect(await instance.publisher.publish()).toBeNull();
      expect(instance.publisher.latestMetadata('timestamp')!.version).toBe(ts);
    } finally {
      await instance.close();
    }
  });
});

describe('when committing a publish fails', () => {
  let svc: TestService;
  let client: TufClient;
  let goodVersion: number;
  const errors: unknown[] = [];

  beforeAll(async () => {
    svc = await startTestService({ open: { onPublishError: (e) => errors.push(e) } });
    // No background re-signing or retries: each publish here is one the test asks for.
    svc.instance.publisher.stop();
    expect((await svc.api('POST', '/scopes', { scope: 'before.acme.io' })).status).toBe(201);
    client = TufClient.pinnedTo(svc.url, svc.dataDir);
    expect(await client.readJson('trust/before.acme.io.json')).not.toBeNull();
    goodVersion = client.trusted('timestamp').signed.version;
  });
  afterEach(() => vi.restoreAllMocks());
  afterAll(async () => {
    await svc?.close();
  });

  const servedTimestamp = async () => JSON.parse(await (await fetch(`${svc.url}/tuf/timestamp.json`)).text()).signed.version;

  it('keeps serving the last good version when the commit throws', async () => {
    const commit = vi.spyOn(svc.instance.store, 'commitPublish').mockImplementationOnce(() => {
      throw new Error('simulated crash: disk full');
    });
    const res = await svc.api('POST', '/scopes', { scope: 'during.acme.io' });
    // The change itself is committed; only its publication failed.
    expect(res.status).toBe(201);
    expect(res.body.published).toBeNull();
    expect(commit).toHaveBeenCalledTimes(1);
    expect(errors).toHaveLength(1);
    expect(await servedTimestamp()).toBe(goodVersion);
    expect(svc.instance.publisher.latestMetadata('timestamp')!.version).toBe(goodVersion);
    // A client refreshes against it without trouble, and sees no trace of the failed publish.
    expect(await client.readJson('trust/during.acme.io.json')).toBeNull();
    expect(await client.readJson('trust/before.acme.io.json')).not.toBeNull();
    expect(client.trusted('timestamp').signed.version).toBe(goodVersion);
  });

  it('publishes the change with the next version once a later publish succeeds', async () => {
    await svc.instance.publisher.flush();
    expect(await servedTimestamp()).toBe(goodVersion + 1);
    expect((await client.readJson('trust/during.acme.io.json'))?.scope).toBe('during.acme.io');
    goodVersion += 1;
  });

  it('rolls back a commit that fails halfway: nothing of it lands, even after a restart', async () => {
    const snapshotBefore = (await svc.instance.store.latestMetadata('snapshot'))!.version;
    const docsBefore = await svc.instance.store.listTrustDocs();
    // The timestamp is written last: every other row of the publish is in the transaction when it fails.
    const store = svc.instance.store;
    if (store.dialect === 'sqlite') {
      await sqlRows(store, `CREATE TRIGGER crash_on_timestamp BEFORE INSERT ON tuf_metadata WHEN NEW.role = 'timestamp'
                            BEGIN SELECT RAISE(ABORT, 'simulated crash'); END`);
    } else {
      await sqlRows(store, `CREATE FUNCTION crash_on_timestamp() RETURNS trigger LANGUAGE plpgsql AS $$
                              BEGIN IF NEW.role = 'timestamp' THEN RAISE EXCEPTION 'simulated crash'; END IF; RETURN NEW; END $$`);
      await sqlRows(store, `CREATE TRIGGER crash_on_timestamp BEFORE INSERT ON tuf_metadata FOR EACH ROW EXECUTE FUNCTION crash_on_timestamp()`);
    }
    try {
      const res = await svc.api('POST', '/scopes', { scope: 'halfway.acme.io' });
      expect(res.status).toBe(201);
      expect(res.body.published).toBeNull();
      expect((await svc.instance.store.latestMetadata('snapshot'))!.version).toBe(snapshotBefore);
      expect((await svc.instance.store.latestMetadata('timestamp'))!.version).toBe(goodVersion);
      expect(await svc.instance.store.listTrustDocs()).toEqual(docsBefore);
      expect((await svc.instance.store.listDirty()).map((d) => d.scope)).toContain('halfway.acme.io');
      expect(await servedTimestamp()).toBe(goodVersion);
    } finally {
      await sqlRows(store, store.dialect === 'sqlite' ? 'DROP TRIGGER crash_on_timestamp' : 'DROP TRIGGER crash_on_timestamp ON tuf_metadata');
    }

    // Restart on the same data dir: the last good version is what is served, then the change goes out.
    const dataDir = svc.dataDir;
    await svc.close();
    svc = await startTestService({ dataDir });
    svc.instance.publisher.stop();
    client.url = svc.url;
    expect(await client.readJson('trust/halfway.acme.io.json')).not.toBeNull();
    expect(client.trusted('timestamp').signed.version).toBe(goodVersion + 1);
  });

  it('never serves a timestamp whose snapshot or targets are missing', async () => {
    const { app } = appApi(svc.instance, svc.token);
    const ts = JSON.parse(await (await app.request('/tuf/timestamp.json')).text());
    const snapshotVersion = ts.signed.meta['snapshot.json'].version;
    const snapshot = await app.request(`/tuf/${snapshotVersion}.snapshot.json`);
    expect(snapshot.status).toBe(200);
    const meta = JSON.parse(await snapshot.text()).signed.meta as Record<string, { version: number }>;
    for (const [file, { version }] of Object.entries(meta)) {
      const res = await app.request(`/tuf/${version}.${file}`);
      expect(res.status, file).toBe(200);
    }
  });
});
