/**
 * Issue 17, B5: a fetch of every scope lists the scopes from the verified bins, not from the
 * index shards (sync/client/every-scope.ts). The listing itself (pure), then fetches against a
 * running service through a proxy: no index file asked for, the same result as the index gives,
 * the warm and offline paths, and a tampered bin refused.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFixtureText } from '../../../fixtures/index.js';
import { everyTrustFile, inParallel, type ListedRole } from '../../../sync/client/every-scope.js';
import { fetchTrust, type FetchTrustOptions } from '../../../sync/client/index.js';
import { cacheLayout, readState, writeState } from '../../../sync/client/cache.js';
import { cleanupTempDirs, scopePath, startTestService, tempDir, type TestService } from '../../support/service.js';
import { TestProxy, codeOf, ok } from './support.js';

describe('everyTrustFile', () => {
  const repository: Record<string, ListedRole> = {
    targets: { paths: ['index.json'], delegates: [{ name: 'shards', paths: ['index/*'] }, { name: 'tenant-a', paths: ['trust/a.acme.io.json', 'trust/a.acme.io/*.json'] }, { name: 'trust' }] },
    shards: { paths: [], delegates: [{ name: 'shards-bin-0' }] },
    'tenant-a': { paths: ['trust/a.acme.io/app.json'], delegates: [] },
    trust: { paths: [], delegates: [{ name: 'bin-0' }, { name: 'bin-1' }] },
    'bin-0': { paths: ['trust/registry.acme.io.json', 'crl/00.crl', 'trust/_default.json'], delegates: [] },
    'bin-1': { paths: ['trust/*.acme.io.json', 'trust/registry.acme.io/team-a.json'], delegates: [] },
  };
  const loaded: string[] = [];
  const load = async (role: string) => {
    loaded.push(role);
    return repository[role];
  };

  it('lists the trust files of every role that can hold one, sorted by scope, `*` from trust/_default.json; the shards role is not loaded', async () => {
    loaded.length = 0;
    const files = await everyTrustFile(load, async () => true);
    expect(files).toEqual([
      { scope: '*', path: 'trust/_default.json' },
      { scope: '*.acme.io', path: 'trust/*.acme.io.json' },
      { scope: 'a.acme.io/app', path: 'trust/a.acme.io/app.json' },
      { scope: 'registry.acme.io', path: 'trust/registry.acme.io.json' },
      { scope: 'registry.acme.io/team-a', path: 'trust/registry.acme.io/team-a.json' },
    ]);
    expect(loaded.sort()).toEqual(['bin-0', 'bin-1', 'targets', 'tenant-a', 'trust']);
  });

  it('ignores a path the delegation walk does not reach (a role listing a path it is not trusted for)', async () => {
    const files = await everyTrustFile(load, async (path) => path !== 'trust/registry.acme.io.json');
    expect(files.map((f) => f.scope)).not.toContain('registry.acme.io');
    expect(files).toHaveLength(4);
  });

  it.each(['trust/Registry.acme.io.json', 'trust/*.json', 'trust/registry.acme.io/.json', 'trust/registry.acme.io.txt', 'trust/a b.json'])(
    'refuses a trusted target %s under trust/ that is not the trust file of a scope with METADATA_INVALID',
    async (bad) => {
      const tampered: Record<string, ListedRole> = { ...repository, 'bin-1': { paths: [...repository['bin-1']!.paths, bad], delegates: [] } };
      expect(await codeOf(everyTrustFile(async (role) => tampered[role], async () => true))).toBe('METADATA_INVALID');
      // Not reached through the walk: not a target, ignored.
      expect(await everyTrustFile(async (role) => tampered[role], async (path) => path !== bad)).toHaveLength(5);
    },
  );

  it('refuses delegations nested deeper than any walk needs', async () => {
    const deep = async (role: string): Promise<ListedRole> => ({ paths: [], delegates: [{ name: `${role}x` }] });
    expect(await codeOf(everyTrustFile(deep, async () => true))).toBe('METADATA_INVALID');
  });

  it('inParallel keeps the order, runs at most `limit` at a time, and throws a failure after the started calls end', async () => {
    let running = 0;
    let most = 0;
    const out = await inParallel([5, 1, 4, 2, 3], 2, async (n) => {
      most = Math.max(most, ++running);
      await new Promise((r) => setTimeout(r, n));
      running--;
      return n * 10;
    });
    expect(out).toEqual([50, 10, 40, 20, 30]);
    expect(most).toBe(2);
    const started: number[] = [];
    await expect(inParallel([1, 2, 3, 4], 2, async (n) => {
      started.push(n);
      await new Promise((r) => setTimeout(r, 5));
      if (n === 1) throw new Error('one');
      return n;
    })).rejects.toThrow('one');
    expect(running).toBe(0);
    expect(started.length).toBeLessThan(4);
  });
});

describe('the cache state at 100,000 scopes', () => {
  it('is read with one verified role per bin (1,029 roles, 85 KB: it was refused over 64 KiB, and the cache thrown away)', () => {
    const layout = cacheLayout(tempDir('keyshare-cache-'));
    const verified = Object.fromEntries(Array.from({ length: 4096 }, (_, i) => [`bin-${i.toString(16).padStart(3, '0')}`, 'a'.repeat(64)]));
    const state = { pinnedRootSha256: 'b'.repeat(64), server: 'http://127.0.0.1:1', fetchedAt: '2026-12-07T00:00:00.000Z', timestampVersion: 2, verified };
    writeState(layout, state);
    expect(readState(layout)).toEqual(state);
  });
});

describe('a fetch of every scope against a service', () => {
  let svc: TestService;
  let proxy: TestProxy;
  const scopes = ['*', 'registry.acme.io', 'registry.acme.io/team-a', '*.example.com', 'registry.acme.io:5000/x'];
  const options = (extra: Partial<FetchTrustOptions> = {}): FetchTrustOptions => ({ server: proxy.url, root: join(svc.dataDir, 'root.json'), cache: tempDir('keyshare-cache-'), ...extra });

  beforeAll(async () => {
    svc = await startTestService();
    proxy = await TestProxy.start(svc.url);
    for (const scope of scopes) {
      await ok(svc.api('POST', '/scopes', { scope }));
      await ok(svc.api('POST', `${scopePath(scope)}/anchors`, { publicKey: readFixtureText('keys/ec-p256.pub.pem'), name: 'ci' }));
    }
  });

  afterAll(async () => {
    await proxy?.close();
    await svc?.close();
    cleanupTempDirs();
  });

  it('asks for no index file, and returns what the index lists (scopes, paths, versions) and the same documents', async () => {
    const from = proxy.log.length;
    const r = await fetchTrust(options({ raw: true }));
    const paths = proxy.since(from).map((l) => l.path);
    expect(paths.filter((p) => /^\/tuf\/targets\/(index\/|[0-9a-f]{64}\.index\.json)/.test(p))).toEqual([]);
    expect(paths.some((p) => /\.shards(-bin-[0-9a-f]+)?\.json$/.test(p))).toBe(false);
    expect(r.documents.map((d) => d.scope)).toEqual([...scopes].sort());
    expect([...r.raw.keys()]).not.toContain('index.json');
    // The index (scope patterns read it): the same scopes, paths and versions, the same documents.
    const viaIndex = await fetchTrust(options({ patterns: ['*'] }));
    expect(r.index.scopes).toEqual([...viaIndex.index.scopes].sort((a, b) => (a.scope < b.scope ? -1 : 1)));
    expect(r.documents).toEqual(viaIndex.documents);
  });

  it('the warm path (nothing changed) and --offline list every scope from the cached bins', async () => {
    const cache = tempDir('keyshare-cache-');
    const cold = await fetchTrust(options({ cache }));
    const from = proxy.log.length;
    const warm = await fetchTrust(options({ cache }));
    expect(proxy.since(from).map((l) => l.path).sort()).toEqual(['/tuf/2.root.json', '/tuf/timestamp.json']);
    expect(warm.documents).toEqual(cold.documents);
    const offline = await fetchTrust(options({ cache, offline: true }));
    expect(offline.documents).toEqual(cold.documents);
    expect(offline.index.scopes).toEqual(cold.index.scopes);
  });

  it('a cache filled by a --scope fetch cannot list every scope offline: NOT_CACHED', async () => {
    const cache = tempDir('keyshare-cache-');
    await fetchTrust(options({ cache, scopes: ['registry.acme.io'] }));
    expect(await codeOf(fetchTrust(options({ cache, offline: true })))).toBe('NOT_CACHED');
  });

  it('refuses a bin whose listing was tampered with (a trust file added), and caches nothing of it', async () => {
    const cache = tempDir('keyshare-cache-');
    proxy.transform = (path, body) => {
      if (!/^\/tuf\/\d+\.bin-[0-9a-f]+\.json$/.test(path)) return body;
      const md = JSON.parse(body.toString('utf8'));
      md.signed.targets['trust/evil.acme.io.json'] = { length: 10, hashes: { sha256: '0'.repeat(64) } };
      return Buffer.from(JSON.stringify(md));
    };
    try {
      // The snapshot lists each bin's version only: the bin's signature no longer verifies (TUF 5.6.3).
      expect(await codeOf(fetchTrust(options({ cache })))).toBe('BAD_SIGNATURE');
    } finally {
      proxy.transform = undefined;
    }
    // The next fetch starts from what was trusted before, and succeeds.
    expect((await fetchTrust(options({ cache }))).documents.map((d) => d.scope)).toEqual([...scopes].sort());
  });
});
