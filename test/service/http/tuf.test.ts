/**
 * /tuf/: the served repository (issue 2, "Service"): content types, ETags with If-None-Match,
 * immutable versioned files, a short max-age on timestamp.json, and every root version kept.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFixtureText } from '../../../fixtures/index.js';
import { openInstance, type Instance } from '../../../service/instance.js';
import { loadOnlineSigners, loadRootSigners } from '../../../service/repo/keys.js';
import { buildRoot, signRoot } from '../../../service/repo/root.js';
import { metadataBytes } from '../../../service/repo/tuf.js';
import { appApi, cleanupTempDirs, newDataDir, scopePath, startTestService, TufClient } from '../../support/service.js';

let instance: Instance;
let app: ReturnType<typeof appApi>['app'];
let dataDir: string;

beforeAll(async () => {
  const dir = await newDataDir();
  dataDir = dir.dataDir;
  instance = await openInstance({ dataDir });
  const ctx = appApi(instance, dir.token);
  app = ctx.app;
  expect((await ctx.api('POST', '/scopes', { scope: 'registry.acme.io/team-a' })).status).toBe(201);
  expect((await ctx.api('POST', `${scopePath('registry.acme.io/team-a')}/anchors`, { publicKey: readFixtureText('keys/ec-p256.pub.pem') })).status).toBe(201);
});
afterAll(async () => {
  await instance?.close();
  cleanupTempDirs();
});

const get = (path: string, headers: Record<string, string> = {}) => app.request(`/tuf/${path}`, { headers });
const json = async (path: string) => JSON.parse(await (await get(path)).text());
/** max-age in seconds from a Cache-Control header. */
const maxAge = (cc: string | null) => Number(/max-age=(\d+)/.exec(cc ?? '')?.[1] ?? NaN);

/** Every versioned metadata file the current timestamp leads to. */
async function versionedFiles(): Promise<string[]> {
  const ts = await json('timestamp.json');
  const snapshotFile = `${ts.signed.meta['snapshot.json'].version}.snapshot.json`;
  const snapshot = await json(snapshotFile);
  return [
    '1.root.json',
    snapshotFile,
    ...Object.entries(snapshot.signed.meta as Record<string, { version: number }>).map(([file, { version }]) => `${version}.${file}`),
  ];
}

/** The hashed names (TUF spec 5.7.3) of the current targets. */
async function hashedTargets(): Promise<string[]> {
  const out: string[] = [];
  const hashed = (path: string, sha: string) => path.replace(/([^/]+)$/, `${sha}.$1`);
  const targets = await json(`${(await json(`${(await json('timestamp.json')).signed.meta['snapshot.json'].version}.snapshot.json`)).signed.meta['targets.json'].version}.targets.json`);
  for (const [path, info] of Object.entries(targets.signed.targets as Record<string, { hashes: { sha256: string } }>)) out.push(hashed(path, info.hashes.sha256));
  const snapshot = await json(`${(await json('timestamp.json')).signed.meta['snapshot.json'].version}.snapshot.json`);
  for (const [file, { version }] of Object.entries(snapshot.signed.meta as Record<string, { version: number }>)) {
    if (!file.startsWith('bin-')) continue;
    const bin = await json(`${version}.${file}`);
    for (const [path, info] of Object.entries(bin.signed.targets as Record<string, { hashes: { sha256: string } }>)) out.push(hashed(path, info.hashes.sha256));
  }
  return out;
}

describe('the served metadata', () => {
  it('is JSON, with an ETag, and versioned files are cacheable forever', async () => {
    const files = await versionedFiles();
    expect(files).toEqual(expect.arrayContaining(['1.root.json', expect.stringMatching(/^\d+\.targets\.json$/), expect.stringMatching(/^\d+\.trust\.json$/), expect.stringMatching(/^\d+\.bin-[0-9a-f]+\.json$/)]));
    for (const file of files) {
      const res = await get(file);
      expect(res.status, file).toBe(200);
      expect(res.headers.get('content-type'), file).toMatch(/^application\/json/);
      expect(res.headers.get('etag'), file).toMatch(/^"[^"]+"$/);
      expect(res.headers.get('cache-control'), file).toContain('immutable');
      expect(maxAge(res.headers.get('cache-control')), file).toBeGreaterThanOrEqual(86_400 * 30);
    }
  });

  it('gives timestamp.json a short max-age and never "immutable"', async () => {
    const res = await get('timestamp.json');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('etag')).toMatch(/^"[^"]+"$/);
    const cc = res.headers.get('cache-control');
    expect(cc).not.toContain('immutable');
    expect(maxAge(cc)).toBeLessThanOrEqual(60);
  });

  it('serves 1.root.json byte for byte as the data dir root.json', async () => {
    expect(Buffer.from(await (await get('1.root.json')).arrayBuffer())).toEqual(readFileSync(join(dataDir, 'root.json')));
  });

  it('answers a version that does not exist with 404 (tuf-js stops walking roots there)', async () => {
    expect((await get('2.root.json')).status).toBe(404);
    expect((await get('999.snapshot.json')).status).toBe(404);
    expect((await get('1.nosuchrole.json')).status).toBe(404);
  });
});

describe('when a client sends If-None-Match', () => {
  it('answers 304 without a body when the ETag matches, for metadata and targets', async () => {
    for (const file of ['timestamp.json', '1.root.json', ...(await versionedFiles()).slice(1, 3)]) {
      const first = await get(file);
      const etag = first.headers.get('etag')!;
      const again = await get(file, { 'if-none-match': etag });
      expect(again.status, file).toBe(304);
      expect(await again.text(), file).toBe('');
      expect(again.headers.get('etag'), file).toBe(etag);
      expect(again.headers.get('cache-control'), file).toBe(first.headers.get('cache-control'));
    }
    const target = `targets/${(await hashedTargets())[0]}`;
    const etag = (await get(target)).headers.get('etag')!;
    expect((await get(target, { 'if-none-match': etag })).status).toBe(304);
  });

  it('answers 304 when the ETag is one of a list (RFC 9110 13.1.2)', async () => {
    const etag = (await get('timestamp.json')).headers.get('etag')!;
    expect((await get('timestamp.json', { 'if-none-match': `"something-else", ${etag}` })).status).toBe(304);
    expect((await get('timestamp.json', { 'if-none-match': `W/${etag}` })).status).toBe(304);
  });

  it('answers 200 with the new file when timestamp.json changed since', async () => {
    const before = await get('timestamp.json');
    const etag = before.headers.get('etag')!;
    await instance.service.createScope({ scope: 'changed.acme.io' });
    const after = await get('timestamp.json', { 'if-none-match': etag });
    expect(after.status).toBe(200);
    expect(after.headers.get('etag')).not.toBe(etag);
    expect(JSON.parse(await after.text()).signed.version).toBe(JSON.parse(await before.text()).signed.version + 1);
  });

  it('answers 200 for an ETag that does not match', async () => {
    expect((await get('timestamp.json', { 'if-none-match': '"nope"' })).status).toBe(200);
  });
});

describe('the served target files', () => {
  it('are served under their hashed names (consistent snapshots), with content types, and immutable', async () => {
    const names = await hashedTargets();
    expect(names).toEqual(expect.arrayContaining([expect.stringMatching(/^[0-9a-f]{64}\.index\.json$/), expect.stringMatching(/^trust\/registry\.acme\.io\/[0-9a-f]{64}\.team-a\.json$/)]));
    for (const name of names) {
      const res = await get(`targets/${name}`);
      expect(res.status, name).toBe(200);
      expect(res.headers.get('content-type'), name).toMatch(/^application\/json/);
      expect(res.headers.get('cache-control'), name).toContain('immutable');
      const bytes = Buffer.from(await res.arrayBuffer());
      expect(createHash('sha256').update(bytes).digest('hex'), name).toBe(/([0-9a-f]{64})\.[^/]+$/.exec(name)![1]);
    }
  });

  it('serves the current file at its plain path too, with a short max-age', async () => {
    const res = await get('targets/trust/registry.acme.io/team-a.json');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('cache-control')).not.toContain('immutable');
    expect(JSON.parse(await res.text()).scope).toBe('registry.acme.io/team-a');
  });

  it('answers an unknown target or a wrong hash with 404', async () => {
    expect((await get('targets/trust/nothing.acme.io.json')).status).toBe(404);
    expect((await get(`targets/${'0'.repeat(64)}.index.json`)).status).toBe(404);
  });
});

describe('when the root has more than one version', () => {
  it('keeps serving every root version, and a client pinned to the first walks to the newest', async () => {
    const { dataDir: dir } = await newDataDir();
    // Root 2 with the same keys, signed by the root key in the (development) data dir.
    const store = await openInstance({ dataDir: dir });
    const signers = loadRootSigners(dir);
    const root2 = buildRoot({ version: 2, now: new Date(), lifetimeSeconds: 365 * 86_400, rootKeys: signers.map((s) => s.publicKey), rootThreshold: 1, online: loadOnlineSigners(dir) });
    await signRoot(root2, signers);
    await store.store.putRoot({ role: 'root', version: 2, bytes: metadataBytes(root2), expires: root2.signed.expires }, new Date().toISOString());
    // Pruning old metadata never drops a root version.
    await store.store.pruneSuperseded(new Date(Date.now() + 86_400_000).toISOString());
    await store.close();

    const svc = await startTestService({ dataDir: dir });
    try {
      for (const n of [1, 2]) {
        const res = await fetch(`${svc.url}/tuf/${n}.root.json`);
        expect(res.status, `${n}.root.json`).toBe(200);
        expect(JSON.parse(await res.text()).signed.version).toBe(n);
      }
      expect((await fetch(`${svc.url}/tuf/3.root.json`)).status).toBe(404);
      const client = TufClient.pinnedTo(svc.url, dir);
      expect(await client.readJson('index.json')).not.toBeNull();
      expect(client.trusted('root').signed.version).toBe(2);
    } finally {
      await svc.close();
    }
  });
});
