/**
 * The real CLI (`node bin/keyshare.js`, the dist/ that `npm test` builds first) for upstreams:
 * `upstream add|ls|rm`, `sync [NAME]`, `anchor block|unblock` (CONTRACT.md "CLI").
 */
import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { readFixtureText } from '../../fixtures/index.js';
import { packageRoot } from '../../service/util/paths.js';
import { expectedSpkiId } from '../service/crypto/helpers.js';
import { cleanupTempDirs, scopePath, startTestService, tempDir, type TestService } from '../support/service.js';

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
