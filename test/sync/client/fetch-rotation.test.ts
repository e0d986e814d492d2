/**
 * A warm fetch asks for timestamp.json beside its probe for root N+1 (issue 25). When the probe
 * finds a new root, that early answer is dropped: timestamp.json is asked for again once the new
 * root is accepted (TUF 5.3 before 5.4), and only what verifies against the new root is accepted.
 */
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFixtureText } from '../../../fixtures/index.js';
import { isKeyshareError } from '../../../service/errors.js';
import { fetchTrust, type FetchTrustOptions } from '../../../sync/client/index.js';
import { cleanupTempDirs, scopePath, startTestService, tempDir, type TestService } from '../../support/service.js';
import { TestProxy, ok } from './support.js';

let svc: TestService;
let proxy: TestProxy;
/** Root v1, pinned out of band before any rotation (the data dir's root.json follows the rotations). */
let pinned: string;

const options = (cache: string): FetchTrustOptions => ({ server: proxy.url, root: pinned, cache, scopes: ['registry.acme.io'] });
const signedVersion = (bytes: Buffer) => (JSON.parse(bytes.toString('utf8')) as { signed: { version: number } }).signed.version;
const cachedTimestamp = (cache: string) => signedVersion(readFileSync(join(cache, 'metadata', 'timestamp.json')));

beforeAll(async () => {
  svc = await startTestService();
  proxy = await TestProxy.start(svc.url);
  pinned = join(tempDir('keyshare-pin-'), 'root.json');
  copyFileSync(join(svc.dataDir, 'root.json'), pinned);
  await ok(svc.api('POST', '/scopes', { scope: 'registry.acme.io' }));
  await ok(svc.api('POST', `${scopePath('registry.acme.io')}/anchors`, { publicKey: readFixtureText('keys/ec-p256.pub.pem'), name: 'ci' }));
});

afterAll(async () => {
  await proxy?.close();
  await svc?.close();
  cleanupTempDirs();
});

/**
 * Rotates the timestamp key (root N+1) and has the proxy answer the first request for
 * timestamp.json with `first`: a timestamp served just before the rotation, signed by the old key.
 */
async function rotateWithStaleTimestamp(first: Buffer, every = false): Promise<void> {
  await ok(svc.api('POST', '/keys/timestamp/rotate'));
  let served = false;
  proxy.respond = (path) => {
    if (path !== '/tuf/timestamp.json' || (served && !every)) return undefined;
    served = true;
    return { body: first };
  };
}

describe('a warm fetch when the root was rotated since the last one', () => {
  it('asks for timestamp.json again after the new root, drops the early answer, and accepts the new timestamp', async () => {
    const cache = tempDir('keyshare-cache-');
    await fetchTrust(options(cache));
    const before = proxy.seen.get('/tuf/timestamp.json') ?? readFileSync(join(cache, 'metadata', 'timestamp.json'));
    const root = signedVersion(readFileSync(join(cache, 'metadata', 'root.json')));
    await rotateWithStaleTimestamp(before);
    const from = proxy.log.length;
    try {
      const r = await fetchTrust(options(cache));
      expect(r.documents.map((d) => d.scope)).toContain('registry.acme.io');
    } finally {
      proxy.reset();
    }
    const paths = proxy.since(from).map((l) => `${l.path} ${l.status}`);
    // The early answer (the stale one) came beside the first probe; the timestamp tuf-js verified
    // was asked for after the probe that found no newer root.
    expect(paths.slice(0, 2).sort()).toEqual([`/tuf/${root + 1}.root.json 200`, '/tuf/timestamp.json 200']);
    const second = paths.indexOf('/tuf/timestamp.json 200', 2);
    expect(second).toBeGreaterThan(paths.indexOf(`/tuf/${root + 2}.root.json 404`));
    expect(signedVersion(readFileSync(join(cache, 'metadata', 'root.json')))).toBe(root + 1);
    expect(cachedTimestamp(cache)).toBeGreaterThan(signedVersion(before));
  });

  it('refuses a stale timestamp signed by the rotated-out key when it is all the server gives', async () => {
    const cache = tempDir('keyshare-cache-');
    await fetchTrust(options(cache));
    const before = readFileSync(join(cache, 'metadata', 'timestamp.json'));
    await rotateWithStaleTimestamp(before, true);
    let code = '';
    try {
      await fetchTrust(options(cache));
    } catch (e) {
      code = isKeyshareError(e) ? e.code : String(e);
    } finally {
      proxy.reset();
    }
    expect(code).not.toBe('');
    // Nothing of the refused fetch is kept: the cache still holds the timestamp it had.
    expect(readFileSync(join(cache, 'metadata', 'timestamp.json'))).toEqual(before);
  });
});
