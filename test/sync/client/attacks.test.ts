/**
 * `keyshare fetch` (the real CLI) through a proxy that plays the attacker between the client
 * and the service. Each attack is refused with its code, exits 1, and leaves --out as it was.
 */
import { cpSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { copyDataDir } from '../../support/database.js';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readFixtureText } from '../../../fixtures/index.js';
import { cleanupTempDirs, newDataDir, scopePath, startTestService, tempDir, type TestService } from '../../support/service.js';
import { fetchTrust, writeOutDir } from '../../../sync/client/index.js';
import { writeFormat } from '../../../sync/formats/index.js';
import { TestProxy, errorCode, runCli, treeSnapshot, type CliResult } from './support.js';

let svc: TestService;
let proxy: TestProxy;
let counter = 0;

async function ok(target: TestService, method: string, path: string, body?: unknown): Promise<void> {
  const r = await target.api(method, path, body);
  expect(r.status, JSON.stringify(r.body)).toBeLessThan(300);
}

/** One client: its own cache and --out (inside a parent dir we can list). */
class Client {
  readonly cache = tempDir('keyshare-cache-');
  readonly parent = tempDir('keyshare-out-');
  readonly out = join(this.parent, 'containers');

  constructor(private readonly root: string) {}

  /** The real CLI. */
  fetch(extra: string[] = []): Promise<CliResult> {
    return runCli(['fetch', '--server', proxy.url, '--root', this.root, '--out', this.out, '--format', 'containers', '--cache', this.cache, ...extra]);
  }

  /** What the CLI does, in-process (faster), for the fetches that set the scene. */
  async fetchHere(): Promise<void> {
    const r = await fetchTrust({ server: proxy.url, root: this.root, cache: this.cache });
    const written = await writeFormat('containers', { documents: r.documents, repositories: r.repositories, outDir: this.out });
    writeOutDir(this.out, written.files);
  }

  state(): { tree: Record<string, string>; siblings: string[] } {
    return { tree: treeSnapshot(this.out), siblings: readdirSync(this.parent) };
  }
}

/** The newest snapshot the proxy has passed on. */
function newestSeenSnapshot(): Buffer {
  const versions = [...proxy.seen.keys()].flatMap((p) => /^\/tuf\/(\d+)\.snapshot\.json$/.exec(p)?.[1] ?? []).map(Number);
  return proxy.seen.get(`/tuf/${Math.max(...versions)}.snapshot.json`)!;
}

/** A fetch that succeeds, then a change on the service, so that there is something newer to attack. */
async function baseline(client: Client): Promise<void> {
  await client.fetchHere();
  await ok(svc, 'POST', '/scopes', { scope: `change-${++counter}.acme.io` });
}

async function expectRefused(client: Client, code: string): Promise<void> {
  const before = client.state();
  const cached = treeSnapshot(client.cache);
  const r = await client.fetch();
  expect(r.code, r.stdout + r.stderr).toBe(1);
  expect(errorCode(r), r.stderr).toBe(code);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(client.state()).toEqual(before);
  // A filled cache moves only once a whole fetch is accepted (fetch-trust.ts acceptedMetadata),
  // though tuf-js accepted some roles before the refusal. (An empty one is set up from the pin first.)
  if (Object.keys(cached).length > 0) expect(treeSnapshot(client.cache)).toEqual(cached);
}

beforeAll(async () => {
  svc = await startTestService();
  proxy = await TestProxy.start(svc.url);
  await ok(svc, 'POST', '/scopes', { scope: 'registry.acme.io/team-a' });
  await ok(svc, 'POST', `${scopePath('registry.acme.io/team-a')}/anchors`, { publicKey: readFixtureText('pgp/release.pub.asc') });
});

beforeEach(() => {
  proxy.reset();
  proxy.upstream = svc.url;
});

afterAll(async () => {
  await proxy?.close();
  await svc?.close();
  cleanupTempDirs();
});

describe('when the proxy replays an older timestamp and snapshot', () => {
  it('refuses with ROLLBACK (TUF 5.4.3) and leaves --out untouched', async () => {
    const client = new Client(join(svc.dataDir, 'root.json'));
    await client.fetchHere();
    // A cold fetch takes timestamp.json from /log/proof (issue 17): the one it accepted is the one served now.
    const oldTimestamp = Buffer.from(await (await fetch(`${svc.url}/tuf/timestamp.json`)).arrayBuffer());
    const oldSnapshot = newestSeenSnapshot();
    await baseline(client);
    await client.fetchHere(); // the client now trusts a newer timestamp
    proxy.respond = (path) => {
      if (path === '/tuf/timestamp.json') return { body: oldTimestamp };
      if (/^\/tuf\/\d+\.snapshot\.json$/.test(path)) return { body: oldSnapshot };
      return undefined;
    };
    await expectRefused(client, 'ROLLBACK');
  });

  it('refuses an older snapshot under the current timestamp with HASH_MISMATCH (TUF 5.5.2)', async () => {
    const client = new Client(join(svc.dataDir, 'root.json'));
    await baseline(client);
    const oldSnapshot = newestSeenSnapshot();
    proxy.respond = (path) => (/^\/tuf\/\d+\.snapshot\.json$/.test(path) ? { body: oldSnapshot } : undefined);
    await expectRefused(client, 'HASH_MISMATCH');
  });
});

describe('when the proxy tampers with a target file', () => {
  it('refuses with HASH_MISMATCH (TUF 5.7.3) and leaves --out untouched', async () => {
    const client = new Client(join(svc.dataDir, 'root.json'));
    await baseline(client);
    proxy.transform = (path, body) => {
      if (!path.startsWith('/tuf/targets/')) return body;
      const copy = Buffer.from(body);
      copy[copy.length - 2] ^= 0x01; // same length, different bytes
      return copy;
    };
    await expectRefused(client, 'HASH_MISMATCH');
  });

  it('refuses a longer target with HASH_MISMATCH too', async () => {
    const client = new Client(join(svc.dataDir, 'root.json'));
    await baseline(client);
    proxy.transform = (path, body) => (path.startsWith('/tuf/targets/') ? Buffer.concat([body, Buffer.from(' ')]) : body);
    await expectRefused(client, 'HASH_MISMATCH');
  });
});

describe('when the proxy serves an expired timestamp', () => {
  it('refuses with EXPIRED_METADATA (TUF 5.4.4) and leaves --out untouched', async () => {
    // A copy of the service's data dir (same keys) whose clock runs three days late: every
    // timestamp it signs expired two days ago. It signs newer versions than the client has.
    const { dataDir } = await newDataDir();
    const lateDir = join(tempDir(), 'late');
    await copyDataDir(dataDir, lateDir);
    const early = await startTestService({ dataDir });
    const late = await startTestService({ dataDir: lateDir, open: { clock: () => new Date(Date.now() - 3 * 86_400_000) } });
    try {
      proxy.upstream = early.url;
      const client = new Client(join(dataDir, 'root.json'));
      await ok(early, 'POST', '/scopes', { scope: 'registry.acme.io' });
      await client.fetchHere();
      for (let i = 0; i < 3; i++) await ok(late, 'POST', '/scopes', { scope: `late-${i}.acme.io` });
      proxy.upstream = late.url;
      await expectRefused(client, 'EXPIRED_METADATA');
    } finally {
      await early.close();
      await late.close();
    }
  });
});

describe('when the proxy serves a repository signed by another root', () => {
  it('refuses with BAD_SIGNATURE (TUF 5.4.2) and leaves --out untouched', async () => {
    const other = await startTestService();
    try {
      await ok(other, 'POST', '/scopes', { scope: 'registry.acme.io/team-a' });
      const client = new Client(join(svc.dataDir, 'root.json'));
      await baseline(client);
      proxy.upstream = other.url;
      await expectRefused(client, 'BAD_SIGNATURE');
    } finally {
      await other.close();
    }
  });

  it('refuses it on a first fetch too: the pinned root is never replaced by the server (no TOFU)', async () => {
    const other = await startTestService();
    try {
      proxy.upstream = other.url;
      const client = new Client(join(svc.dataDir, 'root.json'));
      mkdirSync(client.out);
      await expectRefused(client, 'BAD_SIGNATURE');
    } finally {
      await other.close();
    }
  });
});

describe('when the server cannot be reached', () => {
  it('refuses with DOWNLOAD_FAILED and leaves --out untouched', async () => {
    const client = new Client(join(svc.dataDir, 'root.json'));
    await baseline(client);
    proxy.upstream = 'http://127.0.0.1:9'; // nothing listens: the proxy answers 502
    await expectRefused(client, 'DOWNLOAD_FAILED');
  });
});

describe('when the fetch succeeds', () => {
  it('replaces --out with the new files and leaves no temporary sibling', async () => {
    const client = new Client(join(svc.dataDir, 'root.json'));
    await baseline(client);
    const before = client.state();
    const r = await client.fetch(['--json']);
    expect(r.code, r.stderr).toBe(0);
    const after = client.state();
    expect(after.siblings).toEqual(['containers']);
    expect(after.tree['policy.json']).not.toEqual(before.tree['policy.json']);
    const json = JSON.parse(r.stdout);
    expect(json.metadata.offline).toBe(false);
    expect(json.files).toContain('policy.json');
    expect(JSON.parse(readFileSync(join(client.out, 'policy.json'), 'utf8')).transports.docker).toHaveProperty(`change-${counter}.acme.io`);
  });

  it('refuses to replace a directory holding files fetch does not write (OUT_INVALID)', async () => {
    const client = new Client(join(svc.dataDir, 'root.json'));
    mkdirSync(client.out);
    cpSync(join(svc.dataDir, 'admin.token'), join(client.out, 'registries.conf'));
    await expectRefused(client, 'OUT_INVALID');
  });
});
