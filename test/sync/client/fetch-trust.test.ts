/**
 * fetchTrust against a running service: verified documents, scope resolution, the cache (one
 * request when nothing changed), pinning, and --offline.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFixtureText } from '../../../fixtures/index.js';
import { isKeyshareError } from '../../../service/errors.js';
import { fetchTrust, selectScopes, serverFolder, type FetchTrustOptions } from '../../../sync/client/index.js';
import { cleanupTempDirs, scopePath, startTestService, tempDir, type TestService } from '../../support/service.js';
import { TestProxy, codeOf, ok } from './support.js';

let svc: TestService;
let other: TestService;
let proxy: TestProxy;

const options = (extra: Partial<FetchTrustOptions> = {}): FetchTrustOptions => ({
  server: proxy.url,
  root: join(svc.dataDir, 'root.json'),
  cache: tempDir('keyshare-cache-'),
  ...extra,
});

beforeAll(async () => {
  svc = await startTestService();
  other = await startTestService();
  proxy = await TestProxy.start(svc.url);
  await ok(svc.api('POST', '/scopes', { scope: '*' }));
  await ok(svc.api('POST', `${scopePath('*')}/anchors`, { publicKey: readFixtureText('keys/ec-p256.pub.pem'), name: 'default-ci' }));
  await ok(svc.api('POST', '/scopes', { scope: 'registry.acme.io' }));
  await ok(svc.api('POST', `${scopePath('registry.acme.io')}/anchors`, { certificate: readFixtureText('certs/root-ca.pem'), name: 'acme-root' }));
  await ok(svc.api('POST', '/scopes', { scope: 'registry.acme.io/team-a' }));
  await ok(svc.api('POST', `${scopePath('registry.acme.io/team-a')}/anchors`, { publicKey: readFixtureText('pgp/release.pub.asc') }));
});

afterAll(async () => {
  await proxy?.close();
  await svc?.close();
  await other?.close();
  cleanupTempDirs();
});

describe('when no scope or repository is named', () => {
  it('returns every scope the verified bins list, each verified, with its version', async () => {
    const r = await fetchTrust(options());
    expect(r.documents.map((d) => d.scope)).toEqual(['*', 'registry.acme.io', 'registry.acme.io/team-a']);
    for (const d of r.documents) {
      expect(d.mediaType).toBe('application/vnd.keyshare.trust.v1+json');
      expect(d.version).toBe(r.index.scopes.find((s) => s.scope === d.scope)!.version);
    }
    // team-a: its OpenPGP key, plus what it inherits from registry.acme.io and *.
    expect(r.documents[2]!.anchors.map((a) => a.type).sort()).toEqual(['ca', 'pgp', 'publicKey']);
    expect(r.metadata).toMatchObject({ offline: false, ageSeconds: 0, rootVersion: 1 });
    expect(r.metadata.timestampVersion).toBeGreaterThan(1);
  });
});

describe('when repositories are named', () => {
  it('resolves each to the most specific defined scope, whole path components only', async () => {
    const r = await fetchTrust(options({ repositories: ['registry.acme.io/team-a/app', 'registry.acme.io/teamwork/app', 'docker.io/library/nginx'] }));
    expect(r.repositories).toEqual([
      { repository: 'registry.acme.io/team-a/app', scope: 'registry.acme.io/team-a' },
      { repository: 'registry.acme.io/teamwork/app', scope: 'registry.acme.io' },
      { repository: 'docker.io/library/nginx', scope: '*' },
    ]);
    expect(r.documents.map((d) => d.scope)).toEqual(['*', 'registry.acme.io', 'registry.acme.io/team-a']);
  });

  it('fetches only the scopes named, those the repositories resolve to, and the default scope', async () => {
    const r = await fetchTrust(options({ scopes: ['registry.acme.io/team-a'] }));
    expect(r.documents.map((d) => d.scope)).toEqual(['*', 'registry.acme.io/team-a']);
    const s = await fetchTrust(options({ repositories: ['registry.acme.io/team-a/app'] }));
    expect(s.documents.map((d) => d.scope)).toEqual(['*', 'registry.acme.io/team-a']);
  });

  it('refuses a scope that is not a signed target with UNKNOWN_SCOPE', async () => {
    expect(await codeOf(fetchTrust(options({ scopes: ['registry.other.io'] })))).toBe('UNKNOWN_SCOPE');
  });

  it('refuses a repository that no scope contains with UNKNOWN_SCOPE (no default scope)', async () => {
    const defined = async (scope: string) => scope === 'registry.acme.io';
    expect((await selectScopes(defined, [], ['registry.acme.io/x'])).repositories).toEqual([{ repository: 'registry.acme.io/x', scope: 'registry.acme.io' }]);
    let code = '';
    try {
      await selectScopes(defined, [], ['docker.io/library/nginx']);
    } catch (e) {
      code = isKeyshareError(e) ? e.code : String(e);
    }
    expect(code).toBe('UNKNOWN_SCOPE');
  });

  it('refuses an invalid repository with SCOPE_INVALID', async () => {
    expect(await codeOf(fetchTrust(options({ repositories: ['Registry.acme.io/App'] })))).toBe('SCOPE_INVALID');
  });
});

describe('when the cache holds the current trust', () => {
  it('costs one download when nothing changed: timestamp.json, after the 404 of the root probe (TUF 5.3.3)', async () => {
    const cache = tempDir('keyshare-cache-');
    await fetchTrust(options({ cache }));
    const from = proxy.log.length;
    const r = await fetchTrust(options({ cache }));
    // Issue 25: the two are asked for together, so they may be answered in either order.
    expect(proxy.since(from).sort((a, b) => a.path.localeCompare(b.path))).toEqual([
      { path: '/tuf/2.root.json', status: 404 },
      { path: '/tuf/timestamp.json', status: 200 },
    ]);
    expect(r.documents).toHaveLength(3);
  });

  it('a cold fetch of one scope asks for each file once, the root probe beside the log proof that carries timestamp.json, on kept-alive connections', async () => {
    const from = proxy.log.length;
    const connections = proxy.connections;
    const r = await fetchTrust(options({ scopes: ['registry.acme.io'] }));
    // The scope and the default scope it inherits from.
    expect(r.documents.map((d) => d.scope).sort()).toEqual(['*', 'registry.acme.io']);
    const all = proxy.since(from).map((l) => l.path);
    expect(new Set(all).size).toBe(all.length);
    // TUF 5.3.3 then 5.4: the probe first, beside the transparency log's proof (issue 23), which
    // carries timestamp.json (issue 17: the log costs no request of its own); then snapshot, targets, then bins and documents.
    expect(all.slice(0, 2).sort()).toEqual(['/log/proof', '/tuf/2.root.json']);
    expect(all).not.toContain('/tuf/timestamp.json');
    expect(all.filter((p) => p.startsWith('/log/'))).toEqual(['/log/proof']);
    const paths = all.slice(2);
    expect(paths.slice(0, 2)).toEqual([expect.stringMatching(/^\/tuf\/\d+\.snapshot\.json$/), expect.stringMatching(/^\/tuf\/\d+\.targets\.json$/)]);
    const rest = paths.slice(2);
    expect(rest.filter((p) => p.startsWith('/tuf/targets/'))).toHaveLength(2);
    expect(rest.filter((p) => !p.startsWith('/tuf/targets/')).every((p) => /^\/tuf\/\d+\.[^/]+\.json$/.test(p))).toBe(true);
    // Two requests in flight at once: at most two connections, reused for the rest.
    expect(proxy.connections - connections).toBeLessThanOrEqual(2);
  });

  it('downloads only the roles and targets that changed', async () => {
    const cache = tempDir('keyshare-cache-');
    await fetchTrust(options({ cache }));
    await ok(svc.api('POST', `${scopePath('registry.acme.io/team-a')}/anchors`, { publicKey: readFixtureText('keys/ed25519.pub.pem'), name: 'ci' }));
    const from = proxy.log.length;
    const r = await fetchTrust(options({ cache }));
    const paths = proxy.since(from).map((l) => l.path);
    // Issue 17: the document alone; every scope is listed from the bins, so no index file either.
    expect(paths.filter((p) => p.startsWith('/tuf/targets/')).sort()).toEqual([
      expect.stringMatching(/^\/tuf\/targets\/trust\/registry\.acme\.io\/[0-9a-f]{64}\.team-a\.json$/),
    ]);
    // The document's bin, no trust role (it did not change), no other bin, no shard bin.
    expect(paths.filter((p) => /\.bin-[0-9a-f]+\.json$/.test(p))).toEqual([expect.stringMatching(/^\/tuf\/\d+\.bin-[0-9a-f]+\.json$/)]);
    expect(paths.some((p) => p.endsWith('.trust.json'))).toBe(false);
    expect(r.documents.find((d) => d.scope === 'registry.acme.io/team-a')!.anchors.map((a) => a.name)).toContain('ci');
  });

  it('downloads a target again when its cached copy was altered', async () => {
    const cache = tempDir('keyshare-cache-');
    await fetchTrust(options({ cache }));
    const file = join(cache, 'targets', encodeURIComponent('trust/registry.acme.io.json'));
    writeFileSync(file, readFileSync(file, 'utf8').replace('acme-root', 'evil-root'));
    const from = proxy.log.length;
    const r = await fetchTrust(options({ cache }));
    expect(proxy.since(from).some((l) => l.path.endsWith('.registry.acme.io.json'))).toBe(true);
    const names = r.documents.find((d) => d.scope === 'registry.acme.io')!.anchors.map((a) => a.name);
    expect(names).toContain('acme-root');
    expect(names).not.toContain('evil-root');
  });

  it('lets two fetches share a cache one after the other (lock file), and takes over a dead one', async () => {
    const cache = tempDir('keyshare-cache-');
    const [a, b] = await Promise.all([fetchTrust(options({ cache })), fetchTrust(options({ cache }))]);
    expect(b.documents).toEqual(a.documents);
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    writeFileSync(join(cache, 'lock'), `${dead}\n`);
    expect((await fetchTrust(options({ cache }))).documents).toEqual(a.documents);
    expect(existsSync(join(cache, 'lock'))).toBe(false);
  });

  it('uses a per-server folder under $XDG_CACHE_HOME/keyshare by default', async () => {
    const xdg = tempDir('keyshare-xdg-');
    const saved = process.env.XDG_CACHE_HOME;
    process.env.XDG_CACHE_HOME = xdg;
    try {
      await fetchTrust({ server: proxy.url, root: join(svc.dataDir, 'root.json') });
    } finally {
      if (saved === undefined) delete process.env.XDG_CACHE_HOME;
      else process.env.XDG_CACHE_HOME = saved;
    }
    const dir = join(xdg, 'keyshare', serverFolder(proxy.url));
    expect(serverFolder(proxy.url)).toMatch(/^http_127\.0\.0\.1_\d+$/);
    expect(existsSync(join(dir, 'metadata', 'timestamp.json'))).toBe(true);
  });
});

describe('when the pinned root does not match the repository', () => {
  it('refuses metadata signed by another root with BAD_SIGNATURE (no trust on first use)', async () => {
    expect(await codeOf(fetchTrust(options({ root: join(other.dataDir, 'root.json') })))).toBe('BAD_SIGNATURE');
  });

  it('refuses a pinned root that is not a self-signed TUF root with ROOT_INVALID', async () => {
    const bad = join(tempDir(), 'root.json');
    const root = JSON.parse(readFileSync(join(svc.dataDir, 'root.json'), 'utf8'));
    root.signed.version = 7; // the signature no longer covers it
    writeFileSync(bad, JSON.stringify(root));
    expect(await codeOf(fetchTrust(options({ root: bad })))).toBe('ROOT_INVALID');
    expect(await codeOf(fetchTrust(options({ root: join(tempDir(), 'missing.json') })))).toBe('ROOT_INVALID');
  });

  it('says which root to pin instead (issue 15: every error says what to do)', async () => {
    const advice = /; pin the root\.json that `keyshare serve` \(or `keyshare init`\) printed/;
    const pem = join(tempDir(), 'root-ca.pem');
    writeFileSync(pem, readFixtureText('certs/root-ca.pem'));
    for (const root of [join(tempDir(), 'missing.json'), pem]) {
      const refused = await fetchTrust(options({ root })).then(() => null, (e: Error) => e);
      expect(refused).toMatchObject({ code: 'ROOT_INVALID', message: expect.stringMatching(advice) });
    }
  });

  it('starts afresh when the same cache is used with another pin', async () => {
    const cache = tempDir('keyshare-cache-');
    await fetchTrust(options({ cache }));
    const r = await fetchTrust({ server: other.url, root: join(other.dataDir, 'root.json'), cache });
    expect(r.index.scopes).toEqual([]);
  });
});

describe('when offline', () => {
  it('starts from the cache alone, with no request, and says how old it is', async () => {
    const cache = tempDir('keyshare-cache-');
    const online = await fetchTrust(options({ cache }));
    const down = await TestProxy.start('http://127.0.0.1:9');
    await down.close(); // a server that is down
    const later = new Date(Date.parse(online.metadata.fetchedAt) + 3_600_000);
    const r = await fetchTrust({ server: down.url, root: join(svc.dataDir, 'root.json'), cache, offline: true, now: later });
    expect(r.documents).toEqual(online.documents);
    expect(r.metadata).toMatchObject({ offline: true, ageSeconds: 3600, fetchedAt: online.metadata.fetchedAt, timestampVersion: online.metadata.timestampVersion });
    expect(down.log).toEqual([]);
  });

  it('refuses with EXPIRED_METADATA once the cached timestamp has expired', async () => {
    const cache = tempDir('keyshare-cache-');
    const online = await fetchTrust(options({ cache }));
    const after = new Date(Date.parse(online.metadata.expires.timestamp) + 1000);
    expect(await codeOf(fetchTrust(options({ cache, offline: true, now: after })))).toBe('EXPIRED_METADATA');
  });

  it('refuses with NOT_CACHED when nothing was fetched online before', async () => {
    expect(await codeOf(fetchTrust(options({ offline: true })))).toBe('NOT_CACHED');
  });

  it('refuses with NOT_CACHED a scope that was never fetched online', async () => {
    const cache = tempDir('keyshare-cache-');
    await fetchTrust(options({ cache, scopes: ['registry.acme.io'] }));
    expect(await codeOf(fetchTrust(options({ cache, offline: true, scopes: ['registry.acme.io/team-a'] })))).toBe('NOT_CACHED');
  });

  it('refuses with HASH_MISMATCH a cached target that was altered', async () => {
    const cache = tempDir('keyshare-cache-');
    await fetchTrust(options({ cache }));
    const file = join(cache, 'targets', encodeURIComponent('trust/registry.acme.io.json'));
    writeFileSync(file, readFileSync(file, 'utf8').replace('acme-root', 'evil-root'));
    expect(await codeOf(fetchTrust(options({ cache, offline: true })))).toBe('HASH_MISMATCH');
  });
});
