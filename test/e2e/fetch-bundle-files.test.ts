/**
 * Issue 25 (start-up): `keyshare fetch` from the built CLI (bin/keyshare.js → dist/bundle/fetch.cjs
 * with its code cache) loads nothing from node_modules on a cold, a warm or an offline fetch: each
 * file Node resolves, reads and compiles there costs the start (docs/BENCHMARKS.md, issue 25, eighth
 * round: minimatch, which tuf-js matches the `shards` role's `paths` with, was required from
 * node_modules by every full refresh). Nor does it load node:http (a plain-http server is asked
 * over node:net, shared/http-plain.ts: ninth round), and `--offline` loads no network module.
 */
import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFixtureText } from '../../fixtures/index.js';
import { cleanupTempDirs, scopePath, startTestService, tempDir, type TestService } from '../support/service.js';

const execFileAsync = promisify(execFile);
const BIN = join(process.cwd(), 'bin', 'keyshare.js');
const SCOPE = 'registry.acme.io';

let svc: TestService;
let preload: string;

beforeAll(async () => {
  expect(existsSync(join(process.cwd(), 'dist/bundle/fetch.cjs')), 'dist/bundle/ is missing: run `npm run build`').toBe(true);
  svc = await startTestService();
  for (const [method, path, body] of [
    ['POST', '/scopes', { scope: SCOPE }],
    ['POST', `${scopePath(SCOPE)}/anchors`, { publicKey: readFixtureText('keys/ec-p256.pub.pem'), name: 'k' }],
  ] as const) {
    const r = await svc.api(method, path, body);
    expect(r.status, JSON.stringify(r.body)).toBeLessThan(300);
  }
  // Names, on stderr at exit, every file required from node_modules, and the network built-ins loaded.
  preload = join(tempDir('keyshare-preload-'), 'modules.cjs');
  writeFileSync(
    preload,
    "process.on('exit', () => process._rawDebug('MODULES ' + JSON.stringify({ files: Object.keys(require('module')._cache).filter((f) => f.includes('/node_modules/')), " +
      "network: process.moduleLoadList.filter((m) => /^NativeModule (net|http|https|_http_\\w+)$/.test(m)).map((m) => m.slice(13)) })));\n",
  );
});

afterAll(async () => {
  await svc?.close();
  cleanupTempDirs();
});

describe('keyshare fetch from the bundle', () => {
  it('requires nothing from node_modules, cold, warm and offline, nor node:http', async () => {
    const cache = tempDir('keyshare-cache-');
    const fetch = async (...extra: string[]) => {
      const r = await execFileAsync(process.execPath, ['-r', preload, BIN, 'fetch', '--server', svc.url, '--root', join(svc.dataDir, 'root.json'), '--cache', cache, '--scope', SCOPE, '--format', 'json', '--out', tempDir('keyshare-out-'), ...extra]);
      const line = r.stderr.split('\n').find((l) => l.startsWith('MODULES '));
      return JSON.parse(line!.slice('MODULES '.length)) as { files: string[]; network: string[] };
    };
    expect(await fetch()).toEqual({ files: [], network: ['net'] });
    expect(await fetch()).toEqual({ files: [], network: ['net'] });
    expect(await fetch('--offline')).toEqual({ files: [], network: [] });
  });
});
