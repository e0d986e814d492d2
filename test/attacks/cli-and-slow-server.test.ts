/**
 * The attack suite's consumers as users run them (the built CLI as a child process: exit 1, one
 * `keyshare: CODE: message` line, the last good state kept), and a server that answers too
 * slowly or never (an indefinite freeze by stalling): the client gives up with DOWNLOAD_FAILED
 * after its timeout instead of hanging.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchTrust, HttpFetcher } from '../../sync/client/index.js';
import { isKeyshareError } from '../../service/errors.js';
import { openStore } from '../../service/store/index.js';
import { dumpTable } from '../support/store.js';
import { cleanupTempDirs, newDataDir, tempDir } from '../support/service.js';
import { errorCode, runCli } from '../sync/client/support.js';
import { bundleFrom, tree } from './support/consumers.js';
import { TestKey, TestRepository } from './support/repository.js';
import { EvilServer } from './support/server.js';

let server: EvilServer;

beforeAll(async () => {
  server = await EvilServer.start();
});

afterAll(async () => {
  await server?.close();
  cleanupTempDirs();
});

function pin(repo: TestRepository): string {
  const file = join(tempDir('keyshare-attack-root-'), 'root.json');
  writeFileSync(file, repo.root(1));
  return file;
}

describe('keyshare check under attack (the built CLI)', () => {
  it('exits 1 with EXPIRED_METADATA on one line for a frozen repository, and keeps its cache', async () => {
    const repo = TestRepository.create();
    server.serve(repo.files);
    const cache = tempDir('keyshare-attack-cache-');
    const args = ['check', 'registry.test/app', '--server', server.url, '--root', pin(repo), '--key', repo.anchors('registry.test')[0]!.id, '--cache', cache];
    const good = await runCli(args);
    expect(good.code, good.stderr).toBe(0);
    const before = tree(cache);

    repo.publish({ expires: { timestamp: new Date(Date.now() - 60_000) } });
    const r = await runCli(args);
    expect(r.code).toBe(1);
    expect(errorCode(r)).toBe('EXPIRED_METADATA');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(tree(cache)).toEqual(before);
  });
});

describe('keyshare bundle import under attack (the built CLI)', () => {
  it('exits 1 with BAD_SIGNATURE on one line for a bundle signed by another key, and changes nothing', async () => {
    const repo = TestRepository.create();
    const { dataDir } = await newDataDir();
    const dir = tempDir('keyshare-attack-bundle-');
    const good = join(dir, 'good.tar');
    writeFileSync(good, bundleFrom(repo.files));
    const ok = await runCli(['bundle', 'import', good, '--root', pin(repo), '--data', dataDir]);
    expect(ok.code, ok.stderr).toBe(0);
    const dump = async () => {
      const store = await openStore({ dataDir });
      try {
        return await Promise.all(['scopes', 'anchors', 'upstreams', 'upstream_files', 'dirty'].map((t) => dumpTable(store, t)));
      } finally {
        await store.close();
      }
    };
    const before = await dump();

    repo.publish({ signers: { snapshot: [TestKey.generate()] } });
    const bad = join(dir, 'bad.tar');
    writeFileSync(bad, bundleFrom(repo.files));
    const r = await runCli(['bundle', 'import', bad, '--root', pin(repo), '--data', dataDir]);
    expect(r.code).toBe(1);
    expect(errorCode(r)).toBe('BAD_SIGNATURE');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(await dump()).toEqual(before);
  });
});

describe('when the server stalls', () => {
  async function codeAgainst(misbehave: 'hang' | 'drip'): Promise<{ code: string; ms: number; cacheKept: boolean }> {
    const repo = TestRepository.create();
    server.serve(repo.files);
    const cache = tempDir('keyshare-attack-cache-');
    await fetchTrust({ server: server.url, root: repo.root(1), cache });
    const before = tree(cache);
    repo.publish();
    server.serve(repo.files);
    server.misbehave = (p) => (p === 'timestamp.json' ? (misbehave === 'hang' ? { hang: true } : { drip: 50 }) : undefined);
    const started = Date.now();
    try {
      await fetchTrust({ server: server.url, root: repo.root(1), cache, fetcher: new HttpFetcher({ timeoutMs: 1500 }) });
      throw new Error('expected a refusal');
    } catch (e) {
      if (!isKeyshareError(e)) throw e;
      return { code: e.code, ms: Date.now() - started, cacheKept: JSON.stringify(tree(cache)) === JSON.stringify(before) };
    } finally {
      server.misbehave = undefined;
    }
  }

  it('gives up on a server that never answers with DOWNLOAD_FAILED after the timeout, keeping the cache', async () => {
    const r = await codeAgainst('hang');
    expect(r).toMatchObject({ code: 'DOWNLOAD_FAILED', cacheKept: true });
    expect(r.ms).toBeLessThan(20_000);
  });

  it('gives up on a server that drips one byte at a time with DOWNLOAD_FAILED after the timeout (the timeout covers the body)', async () => {
    const r = await codeAgainst('drip');
    expect(r).toMatchObject({ code: 'DOWNLOAD_FAILED', cacheKept: true });
    expect(r.ms).toBeLessThan(20_000);
  });
});
