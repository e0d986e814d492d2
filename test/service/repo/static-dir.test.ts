/**
 * --static-dir (CONTRACT.md "Settings"; issue 11): every publish also writes the repository as
 * plain files in the /tuf/ layout, versioned files first and timestamp.json last.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { MetadataKind } from '@tufjs/models';
import { openInstance } from '../../../service/instance.js';
import { parseMetadata } from '../../../service/repo/tuf.js';
import { startServer, type RunningServer } from '../../../service/server.js';
import { StaticDir, consistentTargetName } from '../../../service/repo/static-dir.js';
import { cleanupTempDirs, httpApi, newDataDir, tempDir } from '../../support/service.js';

// Records the order of renames (each file lands by rename), passing every call through.
const renames: string[] = [];
vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...real,
    rename: async (from: string, to: string) => {
      await real.rename(from, to);
      renames.push(to);
    },
  };
});

interface Running {
  dataDir: string;
  staticDir: string;
  server: RunningServer;
  api: ReturnType<typeof httpApi>;
  instance: Awaited<ReturnType<typeof openInstance>>;
}
const running: Running[] = [];

async function start(dataDir?: string, staticDir?: string): Promise<Running> {
  const made = dataDir ? { dataDir, token: readFileSync(join(dataDir, 'admin.token'), 'utf8').trim() } : await newDataDir({ binBits: 4 });
  const dir = staticDir ?? join(tempDir(), 'static');
  const instance = await openInstance({ dataDir: made.dataDir });
  const server = await startServer(instance, '127.0.0.1:0', undefined, { staticDir: dir });
  const r = { dataDir: made.dataDir, staticDir: dir, server, api: httpApi(server.url, made.token), instance };
  running.push(r);
  return r;
}

async function stop(r: Running): Promise<void> {
  running.splice(running.indexOf(r), 1);
  await r.server.close();
}

const timestampVersionIn = (dir: string) =>
  existsSync(join(dir, 'timestamp.json')) ? parseMetadata(MetadataKind.Timestamp, readFileSync(join(dir, 'timestamp.json'))).signed.version : 0;

/** Waits (bounded) until the static dir holds the version the service serves. */
async function caughtUp(r: Running): Promise<number> {
  const want = r.instance.publisher.latestMetadata('timestamp')!.version;
  for (let i = 0; i < 300 && timestampVersionIn(r.staticDir) !== want; i++) await new Promise((res) => setTimeout(res, 50));
  expect(timestampVersionIn(r.staticDir)).toBe(want);
  return want;
}

/** Every file a client needs for the version in timestamp.json, by the rules of TUF spec 5.3-5.7. */
function filesOfCurrentVersion(dir: string): string[] {
  const read = (name: string) => readFileSync(join(dir, name));
  const ts = parseMetadata(MetadataKind.Timestamp, read('timestamp.json')).signed;
  const files = ['timestamp.json', `${ts.snapshotMeta.version}.snapshot.json`];
  const snapshot = parseMetadata(MetadataKind.Snapshot, read(`${ts.snapshotMeta.version}.snapshot.json`)).signed;
  for (const [file, meta] of Object.entries(snapshot.meta)) {
    const name = `${meta.version}.${file}`;
    files.push(name);
    for (const t of Object.values(parseMetadata(MetadataKind.Targets, read(name)).signed.targets)) {
      files.push(`targets/${consistentTargetName(t.path, t.hashes.sha256!)}`);
    }
  }
  return files;
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)));
}

beforeEach(() => {
  renames.length = 0;
});
afterEach(async () => {
  for (const r of [...running]) await stop(r);
});
afterAll(() => cleanupTempDirs());

describe('when the service starts with a static dir', () => {
  it('writes the whole current repository, byte for byte what /tuf/ serves', async () => {
    const r = await start();
    await caughtUp(r);
    const files = filesOfCurrentVersion(r.staticDir);
    expect(files.some((f) => f.startsWith('targets/') && f.endsWith('.index.json'))).toBe(true);
    for (const f of [...files, '1.root.json', 'root.json']) {
      const served = Buffer.from(await (await fetch(`${r.server.url}/tuf/${f}`)).arrayBuffer());
      expect(readFileSync(join(r.staticDir, f)).equals(served), f).toBe(true);
    }
    // No temporary files are left behind.
    expect(listFiles(r.staticDir).filter((f) => f.includes('.tmp'))).toEqual([]);
  });

  it('replaces a file a crash left half-written', async () => {
    const first = await start();
    await caughtUp(first);
    await stop(first);
    const snapshotFile = filesOfCurrentVersion(first.staticDir)[1]!;
    const good = readFileSync(join(first.staticDir, snapshotFile));
    writeFileSync(join(first.staticDir, snapshotFile), good.subarray(0, 10));
    const again = await start(first.dataDir, first.staticDir);
    await caughtUp(again);
    expect(readFileSync(join(first.staticDir, snapshotFile)).equals(good)).toBe(true);
  });

  it('does not start when the directory cannot be written', async () => {
    const file = join(tempDir(), 'a-file');
    writeFileSync(file, '');
    const { dataDir } = await newDataDir({ binBits: 4 });
    const instance = await openInstance({ dataDir });
    try {
      await expect(startServer(instance, '127.0.0.1:0', undefined, { staticDir: join(file, 'static') })).rejects.toMatchObject({ code: 'STATIC_DIR_WRITE' });
    } finally {
      await instance.close();
    }
  });
});

describe('when a change is published', () => {
  it('writes the new versioned files first and timestamp.json last', async () => {
    const r = await start();
    const before = await caughtUp(r);
    renames.length = 0;
    expect((await r.api('POST', '/scopes', { scope: 'static.acme.io' })).status).toBe(201);
    await r.instance.publisher.flush();
    const after = await caughtUp(r);
    expect(after).toBeGreaterThan(before);

    const order = renames.map((p) => relative(r.staticDir, p));
    expect(order.at(-1)).toBe('timestamp.json');
    const needed = filesOfCurrentVersion(r.staticDir).filter((f) => f !== 'timestamp.json');
    // Every file of the new version is on disk, and each one written now landed before the timestamp.
    for (const f of needed) expect(existsSync(join(r.staticDir, f)), f).toBe(true);
    const trustFile = needed.find((f) => f.startsWith('targets/trust/') && f.endsWith('.static.acme.io.json'));
    expect(trustFile).toBeDefined();
    for (const f of order.slice(0, -1)) expect(order.indexOf(f)).toBeLessThan(order.lastIndexOf('timestamp.json'));
    expect(order).toContain(trustFile);
    expect(order).toContain(needed[0]); // the new snapshot
    // Unchanged versioned files are not written again.
    expect(order).not.toContain('1.root.json');
  });
});

describe('when the service stops right after a publish', () => {
  it('writes that publish before the store closes', async () => {
    const r = await start();
    await caughtUp(r);
    expect((await r.api('POST', '/scopes', { scope: 'last.acme.io' })).status).toBe(201);
    await r.instance.publisher.flush();
    const last = r.instance.publisher.latestMetadata('timestamp')!.version;
    await stop(r);
    expect(timestampVersionIn(r.staticDir)).toBe(last);
  });
});

describe('StaticDir on its own', () => {
  it('coalesces updates that arrive during a pass, and never writes a timestamp older than the last', async () => {
    const r = await start();
    await caughtUp(r);
    const dir = join(tempDir(), 'second');
    const { store, publisher } = r.instance;
    const writtenVersions: number[] = [];
    const sd = new StaticDir(
      dir,
      {
        latestMetadata: (role) => publisher.latestMetadata(role),
        getMetadata: (role, v) => store.getMetadata(role, v),
        listMetadataVersions: (role) => store.listMetadataVersions(role),
        getTarget: (sha, path) => store.getTarget(sha, path),
      },
      { onWritten: (w) => writtenVersions.push(w.timestampVersion) },
    );
    await sd.writeAll();
    for (let i = 0; i < 3; i++) {
      await r.api('POST', '/scopes', { scope: `c${i}.acme.io` });
      void sd.update();
    }
    await r.instance.publisher.flush();
    await sd.update();
    await sd.close();
    expect(writtenVersions.at(-1)).toBe(publisher.latestMetadata('timestamp')!.version);
    expect([...writtenVersions].sort((a, b) => a - b)).toEqual(writtenVersions);
    expect(timestampVersionIn(dir)).toBe(publisher.latestMetadata('timestamp')!.version);
  });
});
