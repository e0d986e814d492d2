/**
 * Issue 17, read by outside TUF clients (tuf-js) and by `fetch`: the sharded index, bins that
 * grow in one publish while a client keeps its cache, resolving `--repository` through the
 * candidate chain without reading any index, and the one-time upgrade from index v1.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MetaFile, Metadata, MetadataKind, Targets, type TargetFile } from '@tufjs/models';
import { Delegations } from '@tufjs/models/dist/delegations.js';
import { readFixtureText } from '../../fixtures/index.js';
import { fetchTrust, type FetchTrustOptions } from '../../sync/client/index.js';
import { HttpFetcher } from '../../sync/client/fetcher.js';
import { Codes, isKeyshareError } from '../../service/errors.js';
import { INDEX_TARGET, INDEX_V1_MEDIA_TYPE, binSuffix } from '../../service/domain/trust-index.js';
import { trustTargetPath } from '../../service/domain/scope.js';
import { SCOPES_PER_BIN } from '../../service/repo/bins.js';
import { expiresAt, parseMetadata } from '../../service/repo/tuf.js';
import { nextTargets, signSnapshotAndTimestamp, signedRecord } from '../../service/repo/writer.js';
import type { OnlineSigners } from '../../service/repo/keys.js';
import { SHARDS_ROLE, shardBinBitsFor } from '../../service/repo/index-bins.js';
import { targetsLoader } from '../../service/repo/tenants.js';
import type { MetadataRecord } from '../../service/store/index.js';
import { TufClient, cleanupTempDirs, scopePath, startTestService, tempDir, type TestService } from '../support/service.js';

let svc: TestService;
afterAll(async () => {
  await svc?.close();
  cleanupTempDirs();
});

const ok = async (p: Promise<{ status: number; body: unknown }>) => {
  const r = await p;
  if (r.status >= 300) throw new Error(`${r.status} ${JSON.stringify(r.body)}`);
  return r;
};
const bitsOf = () => JSON.parse(svc.instance.publisher.latestMetadata('trust')!.bytes.toString('utf8')).signed.delegations.succinct_roles.bit_length as number;

beforeAll(async () => {
  svc = await startTestService();
  // The containment chain of CONTRACT.md "Scopes": `*`, a wildcard, a registry, a namespace that does not inherit.
  await ok(svc.api('POST', '/scopes', { scope: '*' }));
  await ok(svc.api('POST', `${scopePath('*')}/anchors`, { publicKey: readFixtureText('keys/ec-p256.pub.pem'), name: 'default-ci' }));
  await ok(svc.api('POST', '/scopes', { scope: '*.acme.io' }));
  await ok(svc.api('POST', '/scopes', { scope: 'registry.acme.io' }));
  await ok(svc.api('POST', `${scopePath('registry.acme.io')}/anchors`, { certificate: readFixtureText('certs/root-ca.pem'), name: 'acme-root' }));
  await ok(svc.api('POST', '/scopes', { scope: 'registry.acme.io/team', inherit: false }));
  await ok(svc.api('POST', `${scopePath('registry.acme.io/team')}/anchors`, { publicKey: readFixtureText('keys/ed25519.pub.pem'), name: 'team-ci' }));
  await svc.instance.publisher.flush();
});

describe('when a client resolves --repository', () => {
  const fetchFor = async (repositories: string[]) => {
    const fetcher = new HttpFetcher();
    const r = await fetchTrust({ server: svc.url, root: join(svc.dataDir, 'root.json'), cache: tempDir('keyshare-cache-'), repositories, fetcher } satisfies FetchTrustOptions);
    return { r, requests: fetcher.requests };
  };

  it('takes the most specific defined candidate, whole path components only, and reads no index', async () => {
    const { r, requests } = await fetchFor(['registry.acme.io/team/app', 'registry.acme.io/teamwork', 'other.acme.io/x', 'docker.io/library/nginx']);
    expect(r.repositories).toEqual([
      { repository: 'registry.acme.io/team/app', scope: 'registry.acme.io/team' },
      { repository: 'registry.acme.io/teamwork', scope: 'registry.acme.io' },
      { repository: 'other.acme.io/x', scope: '*.acme.io' },
      { repository: 'docker.io/library/nginx', scope: '*' },
    ]);
    // Neither index.json (`targets/<sha256>.index.json`) nor a shard (`targets/index/...`).
    expect(requests.filter((u) => u.includes('/targets/index/') || u.endsWith('.index.json'))).toEqual([]);
  });

  it('gives a --no-inherit scope only its own anchors', async () => {
    const { r } = await fetchFor(['registry.acme.io/team/app']);
    const team = r.documents.find((d) => d.scope === 'registry.acme.io/team')!;
    expect(team.anchors.map((a) => a.name)).toEqual(['team-ci']);
    expect(r.documents.map((d) => d.scope)).toEqual(['*', 'registry.acme.io/team']);
  });
});

describe('when the scopes outgrow the bins', () => {
  it('grows them in one publish that a tuf-js client with a cache follows, and lists every scope in the new shards', async () => {
    const client = TufClient.pinnedTo(svc.url, svc.dataDir);
    expect(await client.readJson(trustTargetPath('registry.acme.io'))).not.toBeNull();
    const bitsBefore = bitsOf();
    const ts = svc.instance.publisher.latestMetadata('timestamp')!.version;
    const n = 2 ** bitsBefore * SCOPES_PER_BIN + 1;
    const scopes = Array.from({ length: n }, (_, i) => ({ scope: `r${i}.grow.example` }));
    await ok(svc.api('POST', '/apply', { scopes }));
    await svc.instance.publisher.flush();
    expect(bitsOf()).toBe(bitsBefore + 1);
    expect(svc.instance.publisher.latestMetadata('timestamp')!.version).toBe(ts + 1);
    // The same client (its cache holds the old bins) reads through the new delegation.
    expect((await client.readJson(trustTargetPath('r7.grow.example')))?.scope).toBe('r7.grow.example');
    expect((await client.readJson(trustTargetPath('registry.acme.io')))?.scope).toBe('registry.acme.io');
    const header = await client.readJson<{ shards: string[] }>(INDEX_TARGET);
    expect(header!.shards).toHaveLength(2 ** (bitsBefore + 1));
    const index = await client.readIndex();
    expect(index.scopes).toHaveLength(n + 4);
    // The shards were laid out again in their own bins, beside the document bins (service/repo/index-bins.ts).
    const shardsRole = JSON.parse(svc.instance.publisher.latestMetadata(SHARDS_ROLE)!.bytes.toString('utf8')).signed;
    expect(shardsRole.delegations.succinct_roles.bit_length).toBe(shardBinBitsFor(bitsBefore + 1));
    // The old bins stay listed in the snapshot (TUF spec 5.5.5), next to the new ones.
    const snapshot = client.trusted('snapshot');
    expect(snapshot.signed.meta[`${SHARDS_ROLE}.json`].version).toBeGreaterThan(1);
    expect(Object.keys(snapshot.signed.meta).filter((f) => /^bin-/.test(f))).toHaveLength(2 ** bitsBefore + 2 ** (bitsBefore + 1));
  }, 240_000);
});

describe('when a parent of many scopes changes', () => {
  it('re-publishes each child once, and a tuf-js client with a cache reads the new anchor at every child', async () => {
    const client = TufClient.pinnedTo(svc.url, svc.dataDir);
    const children = ['r0.grow.example', 'r7.grow.example', `r${SCOPES_PER_BIN}.grow.example`];
    for (const c of children) expect((await client.readJson<{ anchors: { definedAt: string }[] }>(trustTargetPath(c)))!.anchors.map((a) => a.definedAt)).not.toContain('*.grow.example');
    const ts = svc.instance.publisher.latestMetadata('timestamp')!.version;
    const docsBefore = new Map((await svc.instance.store.listTrustDocs()).map((d) => [d.scope, d.version]));
    await ok(svc.api('POST', '/scopes', { scope: '*.grow.example' }));
    await ok(svc.api('POST', `${scopePath('*.grow.example')}/anchors`, { publicKey: readFixtureText('keys/ed25519.pub.pem'), name: 'grow-parent' }));
    await svc.instance.publisher.flush();
    const docsAfter = await svc.instance.store.listTrustDocs();
    // Every child has a new version; the scopes outside the parent keep theirs.
    const isChild = (scope: string) => /^r\d+\.grow\.example$/.test(scope);
    expect(docsAfter.filter((d) => isChild(d.scope))).toHaveLength(2 ** (bitsOf() - 1) * SCOPES_PER_BIN + 1);
    for (const d of docsAfter) {
      if (isChild(d.scope)) expect(d.version, d.scope).toBeGreaterThan(docsBefore.get(d.scope)!);
      else if (d.scope !== '*.grow.example') expect(d.version, d.scope).toBe(docsBefore.get(d.scope));
    }
    expect(svc.instance.publisher.latestMetadata('timestamp')!.version).toBeGreaterThan(ts);
    for (const c of children) {
      const doc = await client.readJson<{ anchors: { name: string; definedAt: string }[] }>(trustTargetPath(c));
      expect(doc!.anchors.find((a) => a.definedAt === '*.grow.example')?.name, c).toBe('grow-parent');
    }
  }, 240_000);
});

describe('when the served index is v1 (a repository from before issue 17)', () => {
  it('writes index.json v2 and every shard in the next publish', async () => {
    const { publisher, store } = svc.instance;
    // Serve a v1 index.json the way an older keyshare did, signed with the targets key.
    const signers = (publisher as unknown as { signers: OnlineSigners }).signers;
    const v1 = Buffer.from(JSON.stringify({ mediaType: INDEX_V1_MEDIA_TYPE, scopes: [{ scope: '*', path: 'trust/_default.json', version: 1 }] }));
    const now = new Date();
    const old = parseMetadata(MetadataKind.Targets, publisher.latestMetadata('targets')!.bytes).signed;
    const targets = await signedRecord('targets', new Metadata(nextTargets(old, expiresAt(now, 86_400), new Map([[INDEX_TARGET, v1]]))), signers.targets);
    const snap = parseMetadata(MetadataKind.Snapshot, publisher.latestMetadata('snapshot')!.bytes).signed;
    const ts = publisher.latestMetadata('timestamp')!.version;
    const rest = await signSnapshotAndTimestamp({
      signers,
      meta: { ...snap.meta, 'targets.json': new MetaFile({ version: targets.version }) },
      snapshotVersion: snap.version + 1,
      timestampVersion: ts + 1,
      snapshotExpires: expiresAt(now, 86_400),
      timestampExpires: expiresAt(now, 86_400),
    });
    await store.commitPublish({ upToSeq: 0, docs: [], targets: [{ sha256: createHash('sha256').update(v1).digest('hex'), path: INDEX_TARGET, bytes: v1 }], metadata: [targets, ...rest], publishedAt: now.toISOString(), baseTimestampVersion: ts });
    await publisher.load();
    // On PostgreSQL the service's own publisher is told of the commit above (LISTEN/NOTIFY) and
    // may publish the upgrade first: this call then meets a moved timestamp (CONFLICT) and the
    // flush waits for that one. Either way, one publish writes v2 and re-signs targets.
    const result = await publisher.publish().catch((e: unknown) => {
      if (isKeyshareError(e) && e.code === Codes.CONFLICT) return null;
      throw e;
    });
    await publisher.flush();
    if (result) expect(result.rolesSigned).toContain('targets');
    const client = TufClient.pinnedTo(svc.url, svc.dataDir);
    const header = await client.readJson<{ mediaType: string }>(INDEX_TARGET);
    expect(header!.mediaType).toBe('application/vnd.keyshare.index.v2+json');
    expect((await client.readIndex('registry.acme.io')).scopes.some((e) => e.scope === 'registry.acme.io')).toBe(true);
    // Once upgraded, nothing more to do.
    expect(await publisher.publish()).toBeNull();
  });
});

describe('when the default scope * is not defined', () => {
  it('says so in targets (index.json custom), and a client resolving a repository fetches no bin to prove it', async () => {
    const binOfPath = (path: string) => `bin-${binSuffix(path, bitsOf())}`;
    const stated = () => JSON.parse(svc.instance.publisher.latestMetadata('targets')!.bytes.toString('utf8')).signed.targets[INDEX_TARGET].custom;
    expect(stated()).toEqual({ keyshare: { defaultScope: true, logKey: expect.stringMatching(/^keyshare\//) } });
    await ok(svc.api('DELETE', scopePath('*')));
    await svc.instance.publisher.flush();
    expect(stated()).toEqual({ keyshare: { defaultScope: false, logKey: expect.stringMatching(/^keyshare\//) } });
    const fetcher = new HttpFetcher();
    const r = await fetchTrust({ server: svc.url, root: join(svc.dataDir, 'root.json'), cache: tempDir('keyshare-cache-'), repositories: ['registry.acme.io/team/app'], fetcher });
    expect(r.repositories).toEqual([{ repository: 'registry.acme.io/team/app', scope: 'registry.acme.io/team' }]);
    expect(r.documents.map((d) => d.scope)).toEqual(['registry.acme.io/team']);
    const needed = new Set(['registry.acme.io/team/app', 'registry.acme.io/team'].map((s) => binOfPath(trustTargetPath(s))));
    const defaultBin = binOfPath(trustTargetPath('*'));
    if (!needed.has(defaultBin)) expect(fetcher.requests.filter((u) => u.endsWith(`.${defaultBin}.json`))).toEqual([]);
    // The probe for a newer root, timestamp, snapshot, targets, trust, a bin per candidate asked, the document
    // (and, beside them, the transparency log's checkpoint and tiles: issue 23).
    expect(fetcher.requests.filter((u) => !new URL(u).pathname.startsWith('/log/')).length).toBeLessThanOrEqual(5 + needed.size + 1);
  });
});

describe('when the shards are still in the document bins (a repository from before their own bins)', () => {
  /**
   * Re-publishes `service`'s repository in the earlier layout, as an earlier keyshare published
   * it: each shard listed in the document bin its path hashes to, no "shards" delegation.
   */
  async function toEarlierLayout(service: TestService): Promise<void> {
    const { publisher, store } = service.instance;
    const signers = (publisher as unknown as { signers: OnlineSigners }).signers;
    const latest = new Map((await store.latestMetadataAll()).map((r) => [r.role, r]));
    const load = targetsLoader(latest);
    const now = new Date();
    const expires = expiresAt(now, 86_400);
    const top = load('targets')!;
    const trustBins = load('trust')!.delegations!.succinctRoles!;
    const shardBins = load(SHARDS_ROLE)!.delegations!.succinctRoles!;
    const byBin = new Map<string, Record<string, TargetFile>>();
    for (const shardBin of shardBins.getRoles()) {
      for (const [path, file] of Object.entries(load(shardBin)!.targets)) {
        const bin = trustBins.getRoleForTarget(path);
        byBin.set(bin, { ...byBin.get(bin), [path]: file });
      }
    }
    const metadata: MetadataRecord[] = [];
    for (const [bin, files] of byBin) {
      const old = load(bin)!;
      metadata.push(await signedRecord(bin, new Metadata(new Targets({ version: old.version + 1, specVersion: old.specVersion, expires, targets: { ...old.targets, ...files } })), signers.targets));
    }
    const roles = Object.fromEntries(Object.entries(top.delegations!.roles!).filter(([name]) => name !== SHARDS_ROLE));
    const earlierTop = new Targets({ version: top.version + 1, specVersion: top.specVersion, expires, targets: top.targets, delegations: new Delegations({ keys: top.delegations!.keys, roles }) });
    metadata.push(await signedRecord('targets', new Metadata(earlierTop), signers.targets));
    // The snapshot as an earlier keyshare signed it: no shards role, no shard bins.
    const snap = parseMetadata(MetadataKind.Snapshot, latest.get('snapshot')!.bytes).signed;
    const meta = Object.fromEntries(Object.entries(snap.meta).filter(([file]) => !file.startsWith(`${SHARDS_ROLE}`)));
    for (const r of metadata) meta[`${r.role}.json`] = new MetaFile({ version: r.version });
    const ts = latest.get('timestamp')!.version;
    const rest = await signSnapshotAndTimestamp({ signers, meta, snapshotVersion: snap.version + 1, timestampVersion: ts + 1, snapshotExpires: expires, timestampExpires: expires });
    await store.commitPublish({ upToSeq: 0, docs: [], targets: [], metadata: [...metadata, ...rest], publishedAt: now.toISOString(), baseTimestampVersion: ts });
  }

  it('moves them into their own bins in one publish, which a tuf-js client with a cache of the earlier layout follows', async () => {
    const service = await startTestService();
    try {
      await ok(service.api('POST', '/apply', { scopes: Array.from({ length: 40 }, (_, i) => ({ scope: `r${i}.move.example` })) }));
      await service.instance.publisher.flush();
      await toEarlierLayout(service);
      await service.instance.publisher.load();
      // A client of the earlier layout: it reads a shard from a document bin.
      const client = TufClient.pinnedTo(service.url, service.dataDir);
      const before = (await client.readIndex()).scopes;
      expect(before.map((e) => e.scope)).toContain('r7.move.example');
      expect(client.trusted('targets').signed.delegations.roles.map((r: { name: string }) => r.name)).toEqual(['trust']);
      const ts = service.instance.publisher.latestMetadata('timestamp')!.version;

      // The next publish (here with a change in it) moves the shards: one version.
      await ok(service.api('POST', `${scopePath('r7.move.example')}/anchors`, { publicKey: readFixtureText('keys/ed25519.pub.pem'), name: 'moved' }));
      await service.instance.publisher.flush();
      expect(service.instance.publisher.latestMetadata('timestamp')!.version).toBe(ts + 1);
      const served = (role: string) => JSON.parse(service.instance.publisher.latestMetadata(role)!.bytes.toString('utf8')).signed;
      expect(served('targets').delegations.roles.map((r: { name: string }) => r.name)).toEqual([SHARDS_ROLE, 'trust']);
      for (const bin of Object.keys(served('snapshot').meta).filter((f) => /^bin-/.test(f))) {
        expect(Object.keys(served(bin.replace(/\.json$/, '')).targets).filter((p) => p.startsWith('index/')), bin).toEqual([]);
      }

      // The same client, its cache holding the earlier bins, reads the shards and the change.
      const after = (await client.readIndex()).scopes;
      expect(after.find((e) => e.scope === 'r7.move.example')!.version).toBe(before.find((e) => e.scope === 'r7.move.example')!.version + 1);
      expect(after).toHaveLength(before.length);
      expect((await client.readJson<{ anchors: { name: string }[] }>(trustTargetPath('r7.move.example')))!.anchors.map((a) => a.name)).toEqual(['moved']);
      expect(client.trusted('targets').signed.delegations.roles.map((r: { name: string }) => r.name)).toEqual([SHARDS_ROLE, 'trust']);
      // Once moved, nothing more to do.
      expect(await service.instance.publisher.publish()).toBeNull();
    } finally {
      await service.close();
    }
  }, 120_000);
});
