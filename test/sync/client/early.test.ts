/**
 * Issue 25: an online `keyshare fetch` asks for its first files as soon as its options are
 * parsed (sync/client/early.ts), and the fetch takes those answers instead of asking again.
 * The requests a fetch makes are the same, each made once; a guess no fetch uses is only an
 * answer left unread, and a fetcher with options of its own never takes one.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readFixtureText } from '../../../fixtures/index.js';
import { fetchTrust, type FetchTrustOptions } from '../../../sync/client/index.js';
import { requestFirstFiles } from '../../../sync/client/early.js';
import { HttpFetcher } from '../../../sync/client/fetcher.js';
import { cleanupTempDirs, scopePath, startTestService, tempDir, type TestService } from '../../support/service.js';
import { TestProxy, ok } from './support.js';

let svc: TestService;
let proxy: TestProxy;

const SCOPE = 'registry.acme.io';
const root = () => join(svc.dataDir, 'root.json');
const options = (cache: string, extra: Partial<FetchTrustOptions> = {}): FetchTrustOptions => ({ server: proxy.url, root: root(), cache, scopes: [SCOPE], ...extra });
const paths = () => proxy.log.map((l) => `${l.path} ${l.status}`);
const count = (path: string) => proxy.log.filter((l) => l.path === path).length;
/** The proxy has seen `n` requests (early requests are not awaited by whoever starts them). */
const seen = async (n: number) => {
  for (let i = 0; i < 200 && proxy.log.length < n; i++) await new Promise((r) => setTimeout(r, 10));
};

beforeAll(async () => {
  svc = await startTestService();
  proxy = await TestProxy.start(svc.url);
  await ok(svc.api('POST', '/scopes', { scope: SCOPE }));
  await ok(svc.api('POST', `${scopePath(SCOPE)}/anchors`, { publicKey: readFixtureText('keys/ec-p256.pub.pem'), name: 'k' }));
});

afterEach(() => {
  HttpFetcher.dropEarly();
  proxy.log.length = 0;
});

afterAll(async () => {
  await proxy?.close();
  await svc?.close();
  cleanupTempDirs();
});

describe('the first files of a fetch, asked for early', () => {
  it('an empty cache: the probe and the log proof, taken by the fetch; the requests are those of a fetch without them', async () => {
    await fetchTrust(options(tempDir('keyshare-cache-')));
    const without = paths().sort();
    proxy.log.length = 0;

    const cache = tempDir('keyshare-cache-');
    requestFirstFiles({ server: proxy.url, root: root(), cache });
    await seen(2);
    expect(paths().sort()).toEqual(['/log/proof 200', '/tuf/2.root.json 404']);
    await fetchTrust(options(cache));
    expect(paths().sort()).toEqual(without);
  });

  it('a warm cache: the probe and timestamp.json, the only two requests of a fetch with nothing changed', async () => {
    const cache = tempDir('keyshare-cache-');
    const cold = await fetchTrust(options(cache));
    proxy.log.length = 0;
    requestFirstFiles({ server: `${proxy.url}/`, root: root(), cache });
    const warm = await fetchTrust(options(cache));
    expect(paths().sort()).toEqual(['/tuf/2.root.json 404', '/tuf/timestamp.json 200']);
    expect(warm.documents).toEqual(cold.documents);
  });

  it('a guess the fetch does not make is left unread, and the fetch asks for what it needs', async () => {
    const cache = tempDir('keyshare-cache-');
    await fetchTrust(options(cache));
    proxy.log.length = 0;
    // Guessed for an empty cache: the probe is the fetch's, the proof is not (the warm fetch asks for timestamp.json).
    requestFirstFiles({ server: proxy.url, root: root(), cache: tempDir('keyshare-cache-') });
    await fetchTrust(options(cache));
    await seen(3);
    expect(paths().sort()).toEqual(['/log/proof 200', '/tuf/2.root.json 404', '/tuf/timestamp.json 200']);
  });

  it('a fetcher with options of its own asks again', async () => {
    const cache = tempDir('keyshare-cache-');
    await fetchTrust(options(cache));
    proxy.log.length = 0;
    requestFirstFiles({ server: proxy.url, root: root(), cache });
    await seen(2);
    await fetchTrust(options(cache, { fetcher: new HttpFetcher({ timeoutMs: 20_000 }) }));
    expect(count('/tuf/timestamp.json')).toBe(2);
    expect(count('/tuf/2.root.json')).toBe(2);
  });

  it('no guess at all without a readable root: nothing is asked for, and the fetch reports the root', async () => {
    requestFirstFiles({ server: proxy.url, root: join(tempDir('keyshare-none-'), 'root.json'), cache: tempDir('keyshare-cache-') });
    requestFirstFiles({ server: 'ftp://example.invalid', root: root() });
    await new Promise((r) => setTimeout(r, 50));
    expect(proxy.log).toEqual([]);
  });
});

describe('keyshare fetch, the built CLI', () => {
  const BIN = join(process.cwd(), 'bin', 'keyshare.js');
  const cli = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [BIN, ...args], { timeout: 90_000 }, (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }));
    });

  it('makes each request once, cold and warm; --offline makes none', async () => {
    const cache = tempDir('keyshare-cache-');
    const fetch = (...extra: string[]) => cli(['fetch', '--server', proxy.url, '--root', root(), '--cache', cache, '--scope', SCOPE, '--format', 'json', '--out', tempDir('keyshare-out-'), ...extra]);
    const cold = await fetch();
    expect(cold.stderr).toBe('');
    expect(cold.code).toBe(0);
    const counts = new Map<string, number>();
    for (const l of proxy.log) counts.set(l.path, (counts.get(l.path) ?? 0) + 1);
    expect([...counts.values()].every((n) => n === 1), paths().join(', ')).toBe(true);
    expect(counts.has('/log/proof') && counts.has('/tuf/2.root.json')).toBe(true);
    proxy.log.length = 0;
    expect((await fetch()).code).toBe(0);
    expect(paths().sort()).toEqual(['/tuf/2.root.json 404', '/tuf/timestamp.json 200']);
    proxy.log.length = 0;
    expect((await fetch('--offline')).code).toBe(0);
    expect(proxy.log).toEqual([]);
  });
});
