/**
 * Issue 25: a warm fetch with nothing changed ends without tuf-js (sync/client/unchanged.ts),
 * and that path never masks a change, an expiry or a damaged cache: each goes to the full
 * refresh, which decides as it always did.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { readFixtureText } from '../../../fixtures/index.js';
import { fetchTrust, type FetchTrustOptions } from '../../../sync/client/index.js';
import { cleanupTempDirs, scopePath, startTestService, tempDir, type TestService } from '../../support/service.js';
import { TestProxy, codeOf, ok } from './support.js';

/** How many times the full refresh built tuf-js's Updater. */
const refreshes = vi.hoisted(() => ({ count: 0 }));
vi.mock('../../../sync/client/tuf-updater.js', async (importOriginal) => {
  const { Updater } = await importOriginal<typeof import('../../../sync/client/tuf-updater.js')>();
  return {
    Updater: class extends Updater {
      constructor(...args: ConstructorParameters<typeof Updater>) {
        super(...args);
        refreshes.count++;
      }
    },
  };
});

let svc: TestService;
let proxy: TestProxy;
let cache: string;

const SCOPE = 'registry.acme.io';
const options = (extra: Partial<FetchTrustOptions> = {}): FetchTrustOptions => ({
  server: proxy.url,
  root: join(svc.dataDir, 'root.json'),
  cache,
  scopes: [SCOPE],
  ...extra,
});
const state = () => JSON.parse(readFileSync(join(cache, 'keyshare-cache.json'), 'utf8')) as { verified?: Record<string, string> };
const addAnchor = async (scope: string, name: string) =>
  ok(svc.api('POST', `${scopePath(scope)}/anchors`, { publicKey: readFixtureText('keys/ec-p256.pub.pem'), name }));

beforeAll(async () => {
  svc = await startTestService();
  proxy = await TestProxy.start(svc.url);
  await ok(svc.api('POST', '/scopes', { scope: SCOPE }));
  await ok(svc.api('POST', `${scopePath(SCOPE)}/anchors`, { certificate: readFixtureText('certs/root-ca.pem'), name: 'acme-root' }));
  await ok(svc.api('POST', '/scopes', { scope: 'registry.other.io' }));
  await addAnchor('registry.other.io', 'other');
});

afterAll(async () => {
  await proxy?.close();
  await svc?.close();
  cleanupTempDirs();
});

/** A cache filled by one full refresh of SCOPE. */
beforeEach(async () => {
  proxy.transform = undefined;
  proxy.respond = undefined;
  cache = tempDir('keyshare-cache-');
  await fetchTrust(options());
  refreshes.count = 0;
  proxy.log.length = 0;
});

describe('a warm fetch when nothing changed', () => {
  it('returns what the full refresh returned, from two requests, without tuf-js', async () => {
    const full = await fetchTrust(options({ cache: tempDir('keyshare-cache-') }));
    refreshes.count = 0;
    proxy.log.length = 0;
    const warm = await fetchTrust(options());
    expect(refreshes.count).toBe(0);
    expect(proxy.log.map((l) => `${l.path} ${l.status}`).sort()).toEqual(['/tuf/2.root.json 404', '/tuf/timestamp.json 200']);
    expect(warm.documents).toEqual(full.documents);
    expect(warm.repositories).toEqual(full.repositories);
    expect({ ...warm.metadata, cacheDir: null, fetchedAt: null }).toEqual({ ...full.metadata, cacheDir: null, fetchedAt: null });
    // Repositories resolve through the same delegations as tuf-js walks them (the bins of the
    // candidates not asked for before are verified by a full refresh first).
    const byRepo = () => fetchTrust(options({ scopes: [], repositories: [`${SCOPE}/app`] }));
    const first = await byRepo();
    refreshes.count = 0;
    expect((await byRepo()).repositories).toEqual(first.repositories);
    expect(first.repositories).toEqual([{ repository: `${SCOPE}/app`, scope: SCOPE }]);
    expect(refreshes.count).toBe(0);
    expect(await codeOf(fetchTrust(options({ scopes: ['registry.none.io'] })))).toBe('UNKNOWN_SCOPE');
  });

  it('records the files the full refresh trusted, and keeps them while targets.json is the same', async () => {
    const verified = state().verified!;
    expect(Object.keys(verified)).toEqual(expect.arrayContaining(['root', 'timestamp', 'snapshot', 'targets']));
    const delegated = Object.keys(verified).filter((n) => !['root', 'timestamp', 'snapshot', 'targets'].includes(n));
    expect(delegated.length).toBeGreaterThan(0);
    await fetchTrust(options());
    expect(state().verified).toEqual(verified);
  });
});

describe('anything else goes to the full refresh', () => {
  it('a new timestamp: the change is fetched, from the answers already asked for', async () => {
    const name = `new-${Date.now()}`;
    await addAnchor(SCOPE, name);
    const r = await fetchTrust(options());
    expect(refreshes.count).toBe(1);
    expect(r.documents.find((d) => d.scope === SCOPE)!.anchors.map((a) => a.name)).toContain(name);
    // The probe and timestamp.json were asked for once each.
    expect(proxy.log.filter((l) => l.path === '/tuf/timestamp.json')).toHaveLength(1);
    expect(proxy.log.filter((l) => /^\/tuf\/\d+\.root\.json$/.test(l.path))).toHaveLength(1);
    refreshes.count = 0;
    await fetchTrust(options());
    expect(refreshes.count).toBe(0);
  });

  it('an expired cached role, the same timestamp served again (freeze attack): EXPIRED_METADATA, as the full refresh says', async () => {
    const later = new Date(Date.now() + 400 * 24 * 3600 * 1000);
    expect(await codeOf(fetchTrust(options({ now: later })))).toBe('EXPIRED_METADATA');
    expect(refreshes.count).toBe(1);
  });

  it('a cached role altered: the full refresh refuses the local copy, downloads the role again and repairs the cache', async () => {
    const bin = Object.keys(state().verified!).find((n) => n.startsWith('bin-'))!;
    const file = join(cache, 'metadata', `${bin}.json`);
    const good = readFileSync(file);
    const md = JSON.parse(good.toString('utf8')) as { signed: { targets: Record<string, { length: number }> } };
    for (const t of Object.values(md.signed.targets)) t.length += 1;
    writeFileSync(file, JSON.stringify(md));
    const r = await fetchTrust(options());
    expect(refreshes.count).toBe(1);
    expect(r.documents.map((d) => d.scope)).toContain(SCOPE);
    expect(readFileSync(file)).toEqual(good);
  });

  it('a cached target altered: downloaded again', async () => {
    const name = readdirSync(join(cache, 'targets')).find((n) => n.includes(encodeURIComponent(SCOPE)))!;
    const file = join(cache, 'targets', name);
    const good = readFileSync(file);
    writeFileSync(file, Buffer.concat([good, Buffer.from(' ')]));
    const r = await fetchTrust(options());
    expect(refreshes.count).toBe(1);
    expect(r.documents.find((d) => d.scope === SCOPE)!.anchors.map((a) => a.name)).toContain('acme-root');
    expect(readFileSync(file)).toEqual(good);
  });

  it('a record that does not match the cached files, or none', async () => {
    const s = JSON.parse(readFileSync(join(cache, 'keyshare-cache.json'), 'utf8')) as { verified: Record<string, string> };
    s.verified.snapshot = '0'.repeat(64);
    writeFileSync(join(cache, 'keyshare-cache.json'), JSON.stringify(s));
    await fetchTrust(options());
    expect(refreshes.count).toBe(1);
    // The full refresh wrote the record again.
    refreshes.count = 0;
    await fetchTrust(options());
    expect(refreshes.count).toBe(0);
  });

  it('a scope whose delegated role this cache has not verified', async () => {
    const r = await fetchTrust(options({ scopes: ['registry.other.io'] }));
    expect(r.documents.map((d) => d.scope)).toContain('registry.other.io');
    // Its bin may be the same as SCOPE's (16 bins): then the warm path serves it.
    expect(refreshes.count).toBeLessThanOrEqual(1);
    refreshes.count = 0;
    await fetchTrust(options({ scopes: ['registry.other.io'] }));
    expect(refreshes.count).toBe(0);
  });

  it('another pinned root: checked, and the cache starts afresh', async () => {
    const other = await startTestService();
    try {
      expect(await codeOf(fetchTrust(options({ root: join(other.dataDir, 'root.json') })))).toBe('BAD_SIGNATURE');
      expect(refreshes.count).toBe(1);
    } finally {
      await other.close();
    }
  });
});
