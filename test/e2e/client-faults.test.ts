/**
 * Issue 24 rows 12 and 13: `keyshare fetch` under client-side faults, with the built CLI
 * against one running service. A read-only cache (the CLI runs as an unprivileged user, since
 * root writes through permissions), a cache path that is a file, a damaged cached file, and a
 * client clock ahead of the server's (libfaketime).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cleanupTempDirs, startTestService, tempDir, type TestService } from '../support/service.js';
import { requireTool } from '../support/system-tools.js';

const execFileAsync = promisify(execFile);
const BIN = join(process.cwd(), 'bin', 'keyshare.js');
const FAKETIME_LIB = requireTool('libfaketime');
const NOBODY = 65534;
const asRoot = process.getuid?.() === 0;


interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The CLI, as this user or (when this is root) as nobody, so that file permissions apply. */
function keyshare(args: string[], options: { unprivileged?: boolean; env?: Record<string, string> } = {}): Promise<Run> {
  const unprivileged = options.unprivileged && asRoot;
  const [cmd, argv] = unprivileged ? ['setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath, BIN, ...args]] : [process.execPath, [BIN, ...args]];
  return execFileAsync(cmd as string, argv as string[], { env: { ...process.env, KEYSHARE_DATA: '', HOME: '/nonexistent', ...options.env } }).then(
    (r) => ({ code: 0, ...r }),
    (e: Run) => e,
  );
}

/** A directory the unprivileged user owns. */
function ownDir(): string {
  const dir = tempDir('keyshare-client-');
  chmodSync(dir, 0o755);
  if (asRoot) chownSync(dir, NOBODY, NOBODY);
  return dir;
}

/** chmod/chown a tree. */
async function tree(dir: string, mode: string): Promise<void> {
  if (asRoot) await execFileAsync('chown', ['-R', `${NOBODY}:${NOBODY}`, dir]);
  await execFileAsync('chmod', ['-R', mode, dir]);
}

let svc: TestService;
let work: string;
let root: string;
const fetchArgs = (cache: string, out: string, ...more: string[]) => ['fetch', '--server', svc.url, '--root', root, '--out', out, '--format', 'json', '--cache', cache, ...more];

beforeAll(async () => {
  svc = await startTestService();
  expect((await svc.api('POST', '/scopes', { scope: 'client.example' })).status).toBe(201);
  await svc.instance.publisher.flush();
  work = ownDir();
  root = join(work, 'root.json');
  copyFileSync(join(svc.dataDir, 'root.json'), root);
  chmodSync(root, 0o644);
});
afterAll(async () => {
  await svc?.close();
  cleanupTempDirs();
});

describe('when the client cache is read-only or unusable (issue 24 row 12)', () => {
  it('reads a read-only cache with --offline, and names the cache with CACHE_UNUSABLE online', async () => {
    const cache = join(work, 'ro-cache');
    const first = await keyshare(fetchArgs(cache, join(work, 'out-1')), { unprivileged: true });
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    await tree(cache, 'a-w');
    const offline = await keyshare(fetchArgs(cache, join(work, 'out-2'), '--offline'), { unprivileged: true });
    expect(offline.stderr).toBe('');
    expect(offline.code).toBe(0);
    expect(JSON.parse(readFileSync(join(work, 'out-2', 'client.example.json'), 'utf8')).scope).toBe('client.example');

    const online = await keyshare(fetchArgs(cache, join(work, 'out-3')), { unprivileged: true });
    expect(online.code).toBe(1);
    expect(online.stderr).toMatch(/^keyshare: CACHE_UNUSABLE: the cache cannot be used: (EACCES|EROFS|EPERM) on /);
    expect(online.stderr).toContain(cache);
    await tree(cache, 'u+w');
  });

  it('names a cache path that is a regular file', async () => {
    const file = join(work, 'not-a-dir');
    writeFileSync(file, 'x');
    const r = await keyshare(fetchArgs(file, join(work, 'out-4')));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^keyshare: CACHE_UNUSABLE: .*not-a-dir/);
  });

  it('names a damaged cached file offline', async () => {
    const cache = join(tempDir(), 'cache');
    expect((await keyshare(fetchArgs(cache, join(work, 'out-5')))).code).toBe(0);
    const snapshot = join(cache, 'metadata', 'snapshot.json');
    const bytes = readFileSync(snapshot, 'utf8');
    writeFileSync(snapshot, bytes.replace(/"sig":"(.)/, (_m, c: string) => `"sig":"${c === 'a' ? 'b' : 'a'}`));
    const r = await keyshare(fetchArgs(cache, join(work, 'out-6'), '--offline'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`the cached file ${snapshot} is damaged`);
  });
});

describe('when the client clock is ahead (issue 24 row 13)', () => {
  it('says when the metadata expired and what the local time is, and suggests checking the local clock', async () => {
    const r = await keyshare(fetchArgs(join(tempDir(), 'cache'), join(work, 'out-7')), {
      env: { LD_PRELOAD: FAKETIME_LIB, FAKETIME: '+3d', FAKETIME_DONT_FAKE_MONOTONIC: '1', FAKETIME_NO_CACHE: '1' },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^keyshare: EXPIRED_METADATA: timestamp\.json expired at \d{4}-\d\d-\d\dT[\d:.]+Z, and the local time is \d{4}-.*check the local clock/);
  });
});
