/**
 * A static dir served by Debian's nginx verifies with tuf-js, including while publishes happen
 * (issue 11; CONTRACT.md "Settings", --static-dir). TUF makes mirrors untrusted: nginx only
 * serves files, and the client verifies everything against the root pinned out of band.
 *
 * Needs Debian's nginx: fails without it when CI is set, skips (visibly) otherwise.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MetadataKind } from '@tufjs/models';
import { openInstance, type Instance } from '../../service/instance.js';
import { parseMetadata } from '../../service/repo/tuf.js';
import { startServer, type RunningServer } from '../../service/server.js';
import { NGINX_BIN, startNginx, type RunningNginx } from '../support/nginx.js';
import { TufClient, cleanupTempDirs, httpApi, newDataDir, scopePath, tempDir } from '../support/service.js';
import { fetchTrust } from '../../sync/client/fetch-trust.js';
import { parseCheckpoint } from '../../shared/tlog/checkpoint.js';
import { tilePath } from '../../shared/tlog/tiles.js';
import { tilesOfTree } from '../../service/tlog/static-files.js';

// STYLE.md: a test that needs a system tool fails when the tool is missing and CI is set.
if (!NGINX_BIN && process.env.CI) {
  throw new Error('nginx is not installed (Debian package nginx): the static dir e2e tests cannot run in CI without it');
}

const EC_KEY = readFileSync(new URL('../../fixtures/keys/ec-p256.pub.pem', import.meta.url), 'utf8');

/** tuf-js download failures (a file not there yet, a connection reset): a client retries them. */
const RETRIABLE = new Set(['DownloadError', 'DownloadHTTPError', 'DownloadLengthMismatchError']);
const isRetriable = (e: unknown) => e instanceof Error && (RETRIABLE.has(e.constructor.name) || /fetch failed|ECONNRESET|ECONNREFUSED|socket hang up/i.test(e.message));

describe.skipIf(!NGINX_BIN)('when nginx serves the static dir', () => {
  let instance: Instance;
  let server: RunningServer;
  let nginx: RunningNginx;
  let api: ReturnType<typeof httpApi>;
  let staticDir: string;
  let pinnedRoot: string;

  const servedVersion = () => instance.publisher.latestMetadata('timestamp')!.version;
  const staticVersion = () => parseMetadata(MetadataKind.Timestamp, readFileSync(join(staticDir, 'timestamp.json'))).signed.version;
  async function caughtUp(): Promise<void> {
    await instance.publisher.flush();
    for (let i = 0; i < 300 && staticVersion() !== servedVersion(); i++) await new Promise((r) => setTimeout(r, 50));
    expect(staticVersion()).toBe(servedVersion());
  }

  beforeAll(async () => {
    const made = await newDataDir({ binBits: 4 });
    pinnedRoot = join(made.dataDir, 'root.json');
    const work = tempDir('keyshare-nginx-');
    staticDir = join(work, 'static');
    instance = await openInstance({ dataDir: made.dataDir });
    server = await startServer(instance, '127.0.0.1:0', undefined, { staticDir });
    api = httpApi(server.url, made.token);
    nginx = await startNginx(join(work, 'nginx'), staticDir);
  });
  afterAll(async () => {
    await nginx?.close();
    await server?.close();
    cleanupTempDirs();
  });

  it('serves a repository that tuf-js verifies against the pinned root', async () => {
    expect((await api('POST', '/scopes', { scope: 'static.acme.io' })).status).toBe(201);
    expect((await api('POST', `${scopePath('static.acme.io')}/anchors`, { publicKey: EC_KEY, name: 'ci' })).status).toBe(201);
    await caughtUp();

    const viaNginx = new TufClient(nginx.url, pinnedRoot);
    const viaService = new TufClient(server.url, pinnedRoot);
    const doc = await viaNginx.readJson('trust/static.acme.io.json');
    expect(doc).toMatchObject({ scope: 'static.acme.io', anchors: [{ name: 'ci', type: 'publicKey' }] });
    expect(doc).toEqual(await viaService.readJson('trust/static.acme.io.json'));
    expect(viaNginx.trusted('timestamp').signed.version).toBe(servedVersion());
    expect(await viaNginx.readJson('index.json')).toEqual(await viaService.readJson('index.json'));
  });

  it('serves the transparency log under /log/ as the service does, and keyshare fetch checks it through nginx (issue 23)', async () => {
    const cache = join(tempDir('keyshare-nginx-cache-'), 'cache');
    const get = async (base: string, path: string) => {
      const res = await fetch(`${base}/log/${path}`);
      expect(res.status, `${base}/log/${path}`).toBe(200);
      return Buffer.from(await res.arrayBuffer());
    };
    for (let round = 0; round < 2; round++) {
      expect((await api('POST', '/scopes', { scope: `logged${round}.acme.io` })).status).toBe(201);
      await caughtUp();
      const note = await get(nginx.url, 'checkpoint');
      expect(note).toEqual(await get(server.url, 'checkpoint'));
      expect(await get(nginx.url, 'key')).toEqual(await get(server.url, 'key'));
      const { size } = parseCheckpoint(note.toString().slice(0, note.indexOf('\n\n') + 1));
      for (const t of tilesOfTree(size)) expect(await get(nginx.url, tilePath(t))).toEqual(await get(server.url, tilePath(t)));
      // The client verifies inclusion (and, the second time, consistency with the checkpoint it kept) from nginx alone.
      await fetchTrust({ server: nginx.url, root: pinnedRoot, cache, requireLog: true });
      expect(readFileSync(join(cache, 'log', 'checkpoint'))).toEqual(note);
    }
  });

  it('never shows a client a version it cannot verify while publishes happen', async () => {
    const client = new TufClient(nginx.url, pinnedRoot);
    const writes = 8;
    let writing = true;
    const outcomes = { ok: 0, retriable: 0 };
    const seen: number[] = [];
    const failures: string[] = [];

    const writer = (async () => {
      try {
        for (let i = 0; i < writes; i++) {
          const refreshes = outcomes.ok + outcomes.retriable + failures.length;
          const res = await api('POST', '/scopes', { scope: `busy${i}.acme.io`, level: i % 2 ? 'audit' : 'strict' });
          expect(res.status).toBe(201);
          // No fixed timing: the next write waits until the client has refreshed at least once
          // more, so refreshes and publishes (with their static copies) overlap on any machine.
          while (outcomes.ok + outcomes.retriable + failures.length === refreshes) await new Promise((r) => setTimeout(r, 10));
        }
      } finally {
        writing = false;
      }
    })();
    const reader = (async () => {
      // Refresh again and again while the writer runs: each one succeeds, or fails only with a
      // download error a client would retry, never with a verification error.
      while (writing) {
        try {
          const index = await client.readJson<{ shards: string[] }>('index.json');
          expect(index).not.toBeNull();
          seen.push(client.trusted('timestamp').signed.version);
          outcomes.ok++;
        } catch (e) {
          if (isRetriable(e)) outcomes.retriable++;
          else failures.push(`${(e as Error).constructor.name}: ${(e as Error).message}`);
        }
      }
    })();
    await Promise.all([writer, reader]);
    expect(failures).toEqual([]);
    expect(outcomes.ok).toBeGreaterThanOrEqual(writes / 2);
    // TUF spec 5.4.3: versions a client accepts never go down.
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);

    // After the last publish reaches the static dir, the client sees every write.
    await caughtUp();
    const index = await client.readIndex();
    for (let i = 0; i < writes; i++) expect(index.scopes.map((s) => s.scope)).toContain(`busy${i}.acme.io`);
    expect(client.trusted('timestamp').signed.version).toBe(servedVersion());
    expect(nginx.errorLog()).not.toMatch(/\[(crit|alert|emerg)\]/);
  });
});
