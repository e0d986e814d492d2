/**
 * Restart: a data dir closed and opened again serves the same repository, with its state and
 * published versions, and is never initialised a second time.
 */
import { copyFileSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFixtureText } from '../../fixtures/index.js';
import { initDataDir, isInitialized, openInstance } from '../../service/instance.js';
import { KeyshareError } from '../../service/errors.js';
import { TufClient, cleanupTempDirs, newDataDir, scopePath, startTestService, type TestService } from '../support/service.js';

const SCOPES = ['*', 'registry.acme.io', 'registry.acme.io/team-a', '*.example.com'];
const trustPath = (scope: string) => (scope === '*' ? 'trust/_default.json' : `trust/${scope}.json`);

interface Snapshot {
  rootFile: string;
  token: string;
  keys: Record<string, string>;
  timestamp: { version: number; bytes: string };
  docs: Record<string, string>;
  index: string;
  scopes: unknown;
  anchors: unknown;
}

function keysOf(dataDir: string): Record<string, string> {
  const dir = join(dataDir, 'keys');
  return Object.fromEntries(readdirSync(dir).sort().map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
}

async function snapshot(svc: TestService, client: TufClient): Promise<Snapshot> {
  const docs: Record<string, string> = {};
  for (const s of SCOPES) docs[s] = (await client.readTarget(trustPath(s)))!.toString('utf8');
  const ts = await fetch(`${svc.url}/tuf/timestamp.json`);
  const tsBytes = await ts.text();
  return {
    rootFile: readFileSync(join(svc.dataDir, 'root.json'), 'utf8'),
    token: readFileSync(join(svc.dataDir, 'admin.token'), 'utf8'),
    keys: keysOf(svc.dataDir),
    timestamp: { version: JSON.parse(tsBytes).signed.version, bytes: tsBytes },
    docs,
    index: (await client.readTarget('index.json'))!.toString('utf8'),
    scopes: (await svc.api('GET', '/scopes')).body,
    anchors: await Promise.all(SCOPES.map(async (s) => (await svc.api('GET', scopePath(s))).body)),
  };
}

describe('when the service is closed and opened again on the same data dir', () => {
  let first: TestService;
  let second: TestService;
  let client: TufClient;
  let before: Snapshot;
  let after: Snapshot;

  beforeAll(async () => {
    first = await startTestService();
    const { api } = first;
    for (const scope of SCOPES) expect((await api('POST', '/scopes', { scope })).status).toBe(201);
    await api('POST', `${scopePath('registry.acme.io')}/anchors`, { certificate: readFixtureText('certs/root-ca.pem') });
    await api('POST', `${scopePath('registry.acme.io/team-a')}/anchors`, { publicKey: readFixtureText('keys/ec-p256.pub.pem') });
    await api('POST', `${scopePath('*')}/anchors`, { publicKey: readFixtureText('pgp/release.pub.asc') });
    await api('DELETE', scopePath('*.example.com'));
    await api('POST', '/scopes', { scope: '*.example.com', level: 'audit' });
    client = TufClient.pinnedTo(first.url, first.dataDir);
    before = await snapshot(first, client);
    await first.close();

    second = await startTestService({ dataDir: first.dataDir });
    // The same client, with the metadata it trusted before the restart, now talks to the new process.
    client.url = second.url;
    after = await snapshot(second, client);
  });
  afterAll(async () => {
    await second?.close();
    cleanupTempDirs();
  });

  it('keeps the data dir initialised, without initialising it again', () => {
    expect(isInitialized(first.dataDir)).toBe(true);
    expect(after.rootFile).toBe(before.rootFile);
    expect(after.token).toBe(before.token);
    expect(after.keys).toEqual(before.keys);
  });

  it('refuses a second init of the same data dir with ALREADY_INITIALIZED', async () => {
    const err = await initDataDir({ dataDir: first.dataDir }).catch((e) => e);
    expect(err).toBeInstanceOf(KeyshareError);
    expect(err.code).toBe('ALREADY_INITIALIZED');
    expect(readFileSync(join(first.dataDir, 'root.json'), 'utf8')).toBe(before.rootFile);
  });

  it('serves the same timestamp: the version is neither reset nor bumped', () => {
    expect(after.timestamp.version).toBe(before.timestamp.version);
    expect(after.timestamp.version).toBeGreaterThan(1);
    expect(after.timestamp.bytes).toBe(before.timestamp.bytes);
  });

  it('serves identical trust documents and index.json', () => {
    expect(after.docs).toEqual(before.docs);
    expect(after.index).toBe(before.index);
  });

  it('keeps the scopes and their anchors', () => {
    expect(after.scopes).toEqual(before.scopes);
    expect(after.anchors).toEqual(before.anchors);
  });

  it('serves the same root at /tuf/1.root.json', async () => {
    const res = await fetch(`${second.url}/tuf/1.root.json`);
    expect(await res.text()).toBe(before.rootFile);
  });

  it('accepts the old admin token', async () => {
    expect((await second.api('GET', '/scopes')).status).toBe(200);
  });

  it('continues the versions after a new change', async () => {
    const docBefore = JSON.parse(before.docs['registry.acme.io']!);
    const res = await second.api('POST', `${scopePath('registry.acme.io')}/anchors`, { publicKey: readFixtureText('keys/ed25519.pub.pem') });
    expect(res.status).toBe(201);
    expect(res.body.published.timestampVersion).toBe(before.timestamp.version + 1);
    const doc = JSON.parse((await client.readTarget(trustPath('registry.acme.io')))!.toString('utf8'));
    expect(doc.version).toBe(docBefore.version + 1);
    expect(client.trusted('timestamp').signed.version).toBe(before.timestamp.version + 1);
  });

});

describe('when the data dir and the database belong to different repositories', () => {
  it('refuses to open with CONFIG_INVALID rather than sign for the wrong root', async () => {
    const a = await newDataDir();
    const b = await newDataDir();
    // a's database (its keyshare.db, or its PostgreSQL database) with b's root.json.
    copyFileSync(join(b.dataDir, 'root.json'), join(a.dataDir, 'root.json'));
    await expect(openInstance({ dataDir: a.dataDir })).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringMatching(/different repositories/) });
  });
});
