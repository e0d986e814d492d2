/**
 * The real CLI (`node bin/keyshare.js`, the dist/ that `npm test` builds first) for upstreams:
 * `upstream add|ls|rm`, `sync [NAME]`, `anchor block|unblock` (CONTRACT.md "CLI"), and
 * `serve --upstream-poll-interval`.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { readFixtureText } from '../../fixtures/index.js';
import { packageRoot } from '../../service/util/paths.js';
import { expectedSpkiId } from '../service/crypto/helpers.js';
import { cleanupTempDirs, eventually, newDataDir, scopePath, startTestService, tempDir, type TestService } from '../support/service.js';

vi.setConfig({ testTimeout: 180_000 });

const BIN = join(packageRoot(), 'bin', 'keyshare.js');
const EC = readFixtureText('keys/ec-p256.pub.pem');
const EC_ID = expectedSpkiId(EC);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function keyshare(args: string[]): Promise<Run> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KEYSHARE_')));
  return new Promise((done) => {
    execFile(process.execPath, [BIN, ...args, '--server', D.url, '--token', D.token], { cwd: scratch, env, timeout: 90_000 }, (error, stdout, stderr) => {
      done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout: stdout.toString(), stderr: stderr.toString() });
    });
  });
}

let U: TestService;
let D: TestService;
let scratch: string;

beforeAll(async () => {
  expect(existsSync(join(packageRoot(), 'dist', 'cli', 'main.js')), 'dist/ is missing: run `npm run build`').toBe(true);
  scratch = tempDir('keyshare-upstream-cli-');
  [U, D] = await Promise.all([startTestService({ init: { binBits: 4 } }), startTestService({ init: { binBits: 4 } })]);
  expect((await U.api('POST', '/scopes', { scope: 'registry.acme.io' })).status).toBe(201);
  expect((await U.api('POST', `${scopePath('registry.acme.io')}/anchors`, { publicKey: EC, name: 'ec' })).status).toBe(201);
  writeFileSync(join(scratch, 'u-root.json'), await (await fetch(`${U.url}/tuf/1.root.json`)).text());
});
afterAll(async () => {
  await Promise.all([U?.close(), D?.close()]);
  cleanupTempDirs();
});

describe('keyshare upstream and sync', () => {
  it('adds, lists (--json), syncs, blocks and removes', async () => {
    const add = await keyshare(['upstream', 'add', 'hq', '--url', U.url, '--root', join(scratch, 'u-root.json'), '--scopes', 'registry.acme.io']);
    expect(add.code, add.stderr).toBe(0);
    expect(add.stdout).toMatch(/added upstream hq/);

    const ls = await keyshare(['upstream', 'ls', '--json']);
    expect(ls.code, ls.stderr).toBe(0);
    const list = JSON.parse(ls.stdout).upstreams;
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ name: 'hq', url: U.url, mode: 'federate', lastError: null, version: expect.any(Number), lastSuccessAt: expect.any(String) });

    const sync = await keyshare(['sync', 'hq']);
    expect(sync.code, sync.stderr).toBe(0);
    expect(sync.stdout).toMatch(/^hq: timestamp version \d+/);

    const block = await keyshare(['anchor', 'block', 'registry.acme.io', EC_ID]);
    expect(block.code, block.stderr).toBe(0);
    expect((await D.instance.store.listAnchorBlocks('registry.acme.io')).map((b) => b.anchorId)).toEqual([EC_ID]);
    // Issue 24: blocks are listed, and scope show marks the blocked anchor.
    const blocks = await keyshare(['anchor', 'blocks']);
    expect(blocks.code, blocks.stderr).toBe(0);
    expect(blocks.stdout).toMatch(new RegExp(`^registry\\.acme\\.io\t${EC_ID}\tblocked `, 'm'));
    const show = await keyshare(['scope', 'show', 'registry.acme.io']);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toMatch(new RegExp(`${EC_ID}\t.*\tBLOCKED \\(not published\\)`));
    expect((await keyshare(['anchor', 'unblock', 'registry.acme.io', EC_ID])).code).toBe(0);

    const refused = await keyshare(['scope', 'rm', 'registry.acme.io']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^keyshare: SCOPE_FEDERATED: /);

    const missing = await keyshare(['sync', 'nosuch']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^keyshare: UPSTREAM_NOT_FOUND: \S.*\n$/);

    const rm = await keyshare(['upstream', 'rm', 'hq']);
    expect(rm.code, rm.stderr).toBe(0);
    expect(await D.instance.store.listScopes()).toEqual([]);
  });
});

describe('keyshare serve --upstream-poll-interval', () => {
  it('polls each upstream at that interval', async () => {
    const { dataDir, token } = await newDataDir({ binBits: 4 });
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KEYSHARE_')));
    const child = spawn(process.execPath, [BIN, 'serve', '--data', dataDir, '--listen', '127.0.0.1:0', '--allow-private-upstreams', '--upstream-poll-interval', '1s', '--log-level', 'silent'], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    try {
      const url = await eventually(async () => /keyshare serving (http:\/\/[^/\s]+)\//.exec(stderr)?.[1], (u) => u !== undefined, 30_000);
      expect(url, stderr).toBeDefined();
      const api = async (method: string, path: string, body?: unknown) =>
        (await fetch(`${url}/api/v1${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) })).json();
      const added = await api('POST', '/upstreams', { name: 'hq', url: U.url, root: await (await fetch(`${U.url}/tuf/1.root.json`)).text() });
      expect(added.sync.ok, JSON.stringify(added)).toBe(true);
      // Nothing changes at U, so its feed stays quiet: only polls sync. Two more syncs within
      // seconds means the 1 s interval is used (the default would be about a minute apart).
      const seen = new Set<string>([added.upstream.lastSuccessAt]);
      await eventually(
        async () => seen.add((await api('GET', '/upstreams/hq')).upstream.lastSuccessAt).size,
        (n) => n >= 3,
        20_000,
      );
      expect(seen.size).toBeGreaterThanOrEqual(3);
    } finally {
      child.kill('SIGTERM');
    }
  });
});
