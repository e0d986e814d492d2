/**
 * `keyshare fetch --offline` (the real CLI): a start from the cache alone while the server is
 * down, and a refusal once the cached metadata has expired.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readFixtureText } from '../../../fixtures/index.js';
import { fetchTrust, writeOutDir } from '../../../sync/client/index.js';
import { writeFormat } from '../../../sync/formats/index.js';
import { cleanupTempDirs, scopePath, startTestService, tempDir, type TestService } from '../../support/service.js';
import { TestProxy, errorCode, runCli, treeSnapshot } from './support.js';

const services: TestService[] = [];

afterAll(async () => {
  for (const s of services) await s.close();
  cleanupTempDirs();
});

async function ok(svc: TestService, method: string, path: string, body?: unknown): Promise<void> {
  const r = await svc.api(method, path, body);
  expect(r.status, JSON.stringify(r.body)).toBeLessThan(300);
}

/** A service behind a proxy, one online fetch (in-process, as the CLI does it), then the proxy goes down. */
async function fetchedThenDown(svc: TestService): Promise<{ root: string; cache: string; out: string; server: string }> {
  const proxy = await TestProxy.start(svc.url);
  const root = join(svc.dataDir, 'root.json');
  const cache = tempDir('keyshare-cache-');
  const out = join(tempDir('keyshare-out-'), 'pem');
  const r = await fetchTrust({ server: proxy.url, root, cache });
  writeOutDir(out, (await writeFormat('pem', { documents: r.documents, repositories: [], outDir: out })).files);
  await proxy.close();
  return { root, cache, out, server: proxy.url };
}

describe('when the server is down and the cache is fresh', () => {
  it('writes --out from the cache and says how old it is', async () => {
    const svc = await startTestService();
    services.push(svc);
    await ok(svc, 'POST', '/scopes', { scope: 'registry.acme.io' });
    await ok(svc, 'POST', `${scopePath('registry.acme.io')}/anchors`, { certificate: readFixtureText('certs/root-ca.pem') });
    const c = await fetchedThenDown(svc);
    const out = join(tempDir('keyshare-out-'), 'pem');
    const args = ['fetch', '--server', c.server, '--root', c.root, '--cache', c.cache, '--out', out, '--format', 'pem', '--offline'];
    const r = await runCli(args);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^offline: from the cache .* \(age [0-9dhms ]+\)/m);
    expect(readFileSync(join(out, 'registry.acme.io.pem'), 'utf8')).toBe(readFileSync(join(c.out, 'registry.acme.io.pem'), 'utf8'));
    const json = JSON.parse((await runCli([...args, '--json'])).stdout);
    expect(json.metadata).toMatchObject({ offline: true, cacheDir: c.cache });
    expect(json.metadata.ageSeconds).toBeGreaterThanOrEqual(0);
  });
});

describe('when the server is down and the cached timestamp has expired', () => {
  it('refuses with EXPIRED_METADATA and leaves --out untouched', async () => {
    // Timestamps that live 6 seconds: fetch right after a publish, then let it expire.
    const svc = await startTestService({ init: { expiry: { timestamp: 6 } } });
    services.push(svc);
    await ok(svc, 'POST', '/scopes', { scope: 'registry.acme.io' });
    await ok(svc, 'POST', `${scopePath('registry.acme.io')}/anchors`, { certificate: readFixtureText('certs/root-ca.pem') });
    const c = await fetchedThenDown(svc);
    const expires = Date.parse(JSON.parse(readFileSync(join(c.cache, 'metadata', 'timestamp.json'), 'utf8')).signed.expires);
    await new Promise((resolve) => setTimeout(resolve, Math.min(10_000, Math.max(0, expires - Date.now() + 1100))));
    const before = treeSnapshot(c.out);
    const r = await runCli(['fetch', '--server', c.server, '--root', c.root, '--cache', c.cache, '--out', c.out, '--format', 'pem', '--offline']);
    expect(r.code, r.stderr).toBe(1);
    expect(errorCode(r)).toBe('EXPIRED_METADATA');
    expect(treeSnapshot(c.out)).toEqual(before);
  });
});

describe('when the cache was filled by a fetch of one repository', () => {
  it('fetches that repository offline, and refuses every scope with NOT_CACHED saying why', async () => {
    const svc = await startTestService();
    services.push(svc);
    await ok(svc, 'POST', '/scopes', { scope: 'registry.acme.io' });
    await ok(svc, 'POST', `${scopePath('registry.acme.io')}/anchors`, { certificate: readFixtureText('certs/root-ca.pem') });
    const root = join(svc.dataDir, 'root.json');
    const cache = tempDir('keyshare-cache-');
    // Online, a repository is resolved by target lookups: only its bins are read.
    await fetchTrust({ server: svc.url, root, cache, repositories: ['registry.acme.io/app'] });
    const same = await fetchTrust({ server: svc.url, root, cache, repositories: ['registry.acme.io/app'], offline: true });
    expect(same.documents.map((d) => d.scope)).toEqual(['registry.acme.io']);
    const every = await fetchTrust({ server: svc.url, root, cache, offline: true }).then(
      () => null,
      (e: unknown) => e as { code?: string; message?: string },
    );
    expect(every?.code).toBe('NOT_CACHED');
    // Issue 17: every scope is listed from every bin; the bins of other scopes were never fetched.
    expect(every?.message).toMatch(/bin-[0-9a-f]+\.json is not in the offline cache .*every bin .*--scope or --repository/);
  });
});
