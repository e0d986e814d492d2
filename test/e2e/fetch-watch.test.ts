/**
 * Issue 19: `keyshare fetch --watch` against `keyshare serve` (both the built CLI, on
 * 127.0.0.1). A revocation reaches the watched --out within 2 s through the change feed; --exec
 * runs after each write; a reader looping over --out never sees a torn set; the watch survives
 * the server restarting; with --max-stale it exits 1 with TRUST_STALE once the server is gone;
 * SIGTERM ends it with 0. The same `serve --sigstore-scope` answers @sigstore/tuf as its TUF
 * mirror (the flag's wiring; sigstore-verify.test.ts verifies bundles with that root).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getTrustedRoot } from '@sigstore/tuf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFixtureText } from '../../fixtures/index.js';
import { packageRoot } from '../../service/util/paths.js';
import { MANIFEST } from '../../sync/client/out-dir.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { cleanupTempDirs, httpApi, newDataDir, scopePath, tempDir, type Api } from '../support/service.js';

const BIN = join(packageRoot(), 'bin', 'keyshare.js');
const SCOPE = 'registry.acme.io';

interface Proc {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
}

function run(args: string[]): Proc {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, KEYSHARE_DATA: '', KEYSHARE_LISTEN: '', KEYSHARE_CONFIG: '', KEYSHARE_LOG_LEVEL: 'warn', KEYSHARE_SIGSTORE_SCOPE: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exit };
}

async function waitFor<T>(f: () => T | undefined | null | false, what: string, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** `keyshare serve` on the data dir; port 0 picks a free port, a restart reuses it. */
async function serve(dataDir: string, port = 0): Promise<{ proc: Proc; url: string }> {
  const proc = run(['serve', '--data', dataDir, '--listen', `127.0.0.1:${port}`, '--sigstore-scope', SCOPE]);
  const url = await waitFor(() => /keyshare serving (http:\/\/[^/\s]+)\//.exec(proc.stderr())?.[1], `keyshare serve to start: ${proc.stderr()}`);
  return { proc, url };
}

/** The document --format json wrote for SCOPE, or null while --out is being swapped. */
function writtenDoc(out: string): { anchors: { id: string; name?: string }[]; revoked: { keys: { id: string }[] } } | null {
  try {
    return JSON.parse(readFileSync(join(out, `${SCOPE}.json`), 'utf8'));
  } catch {
    return null;
  }
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let dataDir: string;
let work: string;
let root: string;
let server: { proc: Proc; url: string };
let api: Api;
const anchorIds: string[] = [];

beforeAll(async () => {
  expect(existsSync(join(packageRoot(), 'dist', 'cli', 'main.js')), 'dist/ is missing: run `npm run build`').toBe(true);
  const made = await newDataDir();
  dataDir = made.dataDir;
  work = tempDir('keyshare-watch-');
  root = join(work, 'root.json');
  copyFileSync(join(dataDir, 'root.json'), root);
  server = await serve(dataDir);
  api = httpApi(server.url, made.token);
  expect((await api('POST', '/scopes', { scope: SCOPE })).status).toBe(201);
  for (const anchor of [
    { publicKey: readFixtureText('keys/ed25519.pub.pem'), name: 'one' },
    { publicKey: readFixtureText('keys/ec-p256.pub.pem'), name: 'two' },
    { publicKey: readFixtureText('keys/ec-p384.pub.pem'), name: 'three' },
    { certificate: readFixtureText('certs/root-ca.pem'), type: 'ca' },
  ]) {
    const r = await api('POST', `${scopePath(SCOPE)}/anchors`, anchor);
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    anchorIds.push(r.body.anchor.id);
  }
});

afterAll(async () => {
  server?.proc.child.kill('SIGTERM');
  await server?.proc.exit;
  cleanupTempDirs();
});

describe('when serve runs with --sigstore-scope', () => {
  it('gives @sigstore/tuf, with keyshare as its TUF mirror, the scope as trusted_root.json', async () => {
    const trusted = await getTrustedRoot({ mirrorURL: `${server.url}/tuf`, rootPath: root, cachePath: join(work, 'sigstore-tuf'), retry: { retries: 0 }, timeout: 10_000 });
    expect(trusted.certificateAuthorities).toHaveLength(1);
    expect(Buffer.from(trusted.certificateAuthorities[0]!.certChain!.certificates[0]!.rawBytes).toString('base64')).toBe(
      readFixtureText('certs/root-ca.pem').replace(/-----[A-Z ]+-----|\s/g, ''),
    );
  });
});

describe('when fetch --watch is misused', () => {
  it('refuses its options without --watch, and --watch with --offline (usage, exit 2); ends at once on an --out it may not replace (OUT_INVALID)', async () => {
    const base = ['fetch', '--server', server.url, '--root', root, '--format', 'json', '--cache', join(work, 'cache-misuse')];
    const foreign = join(work, 'foreign');
    mkdirSync(foreign);
    writeFileSync(join(foreign, 'mine.txt'), 'a file of the user\n');
    const cases: [string[], number, RegExp][] = [
      [[...base, '--out', join(work, 'o1'), '--exec', 'true'], 2, /^keyshare: --exec, --max-stale and --interval go with --watch$/],
      [[...base, '--out', join(work, 'o2'), '--watch', '--offline'], 2, /^keyshare: --watch follows the server: it does not go with --offline$/],
      [[...base, '--out', join(work, 'o3'), '--watch', '--max-stale', 'soon'], 2, /^keyshare: --max-stale: invalid duration "soon"/],
      [[...base, '--out', foreign, '--watch'], 1, /^keyshare: OUT_INVALID: refusing to replace .*mine\.txt/],
    ];
    await Promise.all(
      cases.map(async ([args, code, message]) => {
        const p = run(args);
        expect(await p.exit, p.stderr()).toBe(code);
        expect(p.stderr().trim().split('\n').at(-1)).toMatch(message);
      }),
    );
    expect(readdirSync(foreign)).toEqual(['mine.txt']);
  });
});

describe('when fetch --watch follows the server', () => {
  const out = () => join(work, 'out');
  const execLog = () => join(work, 'exec.log');
  const execLines = () => (existsSync(execLog()) ? readFileSync(execLog(), 'utf8').trim().split('\n').filter(Boolean) : []);
  let watcher: Proc;
  let reader: { stop: boolean; consistent: number; torn: string[]; done: Promise<void> };

  /** Reads --out over and over; a pass that saw one directory (same inode before and after) must be one whole set. */
  function startReader(): typeof reader {
    const state = { stop: false, consistent: 0, torn: [] as string[], done: Promise.resolve() };
    state.done = (async () => {
      while (!state.stop) {
        try {
          const before = statSync(out()).ino;
          const manifest = JSON.parse(readFileSync(join(out(), MANIFEST), 'utf8')) as { files: { path: string; sha256: string }[] };
          const names = readdirSync(out()).filter((n) => n !== MANIFEST).sort();
          const bad = manifest.files.filter((f) => sha256(readFileSync(join(out(), f.path))) !== f.sha256).map((f) => f.path);
          const same = statSync(out()).ino === before;
          if (same && (bad.length > 0 || names.join() !== manifest.files.map((f) => f.path).sort().join())) state.torn.push(`${bad.join()} | ${names.join()}`);
          else if (same) state.consistent++;
        } catch {
          // between the two renames --out is briefly absent (out-dir.ts): never a mix
        }
        // A few hundred passes a second, leaving the CPU to the watcher and the server.
        await new Promise((r) => setTimeout(r, 3));
      }
    })();
    return state;
  }

  beforeAll(async () => {
    watcher = run([
      'fetch', '--server', server.url, '--root', root, '--out', out(), '--format', 'json', '--cache', join(work, 'cache'),
      '--watch', '--interval', '5s', '--json', '--exec', `echo "$KEYSHARE_TIMESTAMP_VERSION $KEYSHARE_OUT" >> ${execLog()}`,
    ]);
    await waitFor(() => execLines().length === 1, `the first write and --exec: ${watcher.stderr()}`);
    reader = startReader();
  });
  afterAll(async () => {
    if (reader) reader.stop = true;
    await reader?.done;
    if (watcher && watcher.child.exitCode === null) watcher.child.kill('SIGKILL');
  });

  it('writes --out and runs --exec with the version and the directory', () => {
    expect(writtenDoc(out())?.anchors.map((a) => a.id).sort()).toEqual([...anchorIds].sort());
    const [version, dir] = execLines()[0]!.split(' ');
    expect(Number(version)).toBeGreaterThan(1);
    expect(dir).toBe(out());
    // --json: one object per write.
    expect(JSON.parse(watcher.stdout().trim().split('\n')[0]!)).toMatchObject({ out: out(), format: 'json' });
  });

  it('sees a revocation within 2 s, rewrites --out atomically, and runs --exec again', async () => {
    const r = await api('POST', '/revocations', { kind: 'key', id: anchorIds[0], reason: 'keyCompromise' });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    const published = Date.now();
    await waitFor(() => writtenDoc(out())?.revoked.keys.some((k) => k.id === anchorIds[0]), 'the revocation in --out', 10_000);
    expect(Date.now() - published, 'ms from the revocation to --out').toBeLessThan(2000);
    expect(writtenDoc(out())!.anchors.map((a) => a.id)).not.toContain(anchorIds[0]);
    await waitFor(() => execLines().length === 2, '--exec after the change', 5000);
    expect(Number(execLines()[1]!.split(' ')[0])).toBeGreaterThan(Number(execLines()[0]!.split(' ')[0]));
    expect(reader.torn).toEqual([]);
    expect(reader.consistent).toBeGreaterThan(0);
  });

  it('survives the server restarting, and follows it afterwards', async () => {
    const port = new URL(server.url).port;
    server.proc.child.kill('SIGTERM');
    expect(await server.proc.exit).toBe(0);
    await waitFor(() => /DOWNLOAD_FAILED/.test(watcher.stderr()), 'a failed fetch while the server is down', 15_000);
    expect(watcher.child.exitCode).toBeNull();
    server = await serve(dataDir, Number(port));
    const r = await api('POST', '/revocations', { kind: 'key', id: anchorIds[1], reason: 'superseded' });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    await waitFor(() => writtenDoc(out())?.revoked.keys.some((k) => k.id === anchorIds[1]), 'the revocation after the restart', 15_000);
    await waitFor(() => execLines().length === 3, '--exec after the restart', 5000);
    expect(reader.torn).toEqual([]);
  });

  it('never writes a tampered document; with --max-stale, exits 1 with TRUST_STALE once the server is gone; without, SIGTERM ends it with 0', async () => {
    // A second watcher, through a proxy that can tamper with what the server sends.
    const proxy = await new FaultProxy(server.url).start();
    const staleOut = join(work, 'stale-out');
    const stale = run(['fetch', '--server', proxy.url, '--root', root, '--out', staleOut, '--format', 'json', '--cache', join(work, 'cache-2'), '--watch', '--max-stale', '4s']);
    await waitFor(() => existsSync(join(staleOut, MANIFEST)), `the --max-stale watcher's first write: ${stale.stderr()}`);
    // The next version's document, as the proxy sends it, names an anchor of the attacker's.
    const tampered = JSON.parse(readFileSync(join(staleOut, `${SCOPE}.json`), 'utf8'));
    tampered.anchors.push({ ...tampered.anchors[0], id: 'sha256:' + 'a'.repeat(64), name: 'attacker' });
    proxy.mode = { kind: 'replay', path: new RegExp(`/tuf/targets/trust/[0-9a-f]+\\.${SCOPE.replace(/\./g, '\\.')}\\.json$`), bytes: Buffer.from(JSON.stringify(tampered)) };
    expect((await api('POST', '/revocations', { kind: 'key', id: anchorIds[2], reason: 'keyCompromise' })).status).toBe(201);
    await waitFor(() => /HASH_MISMATCH/.test(stale.stderr()), `the tampered document refused: ${stale.stderr()}`, 10_000);
    expect(writtenDoc(staleOut)!.anchors.map((a) => a.name ?? '')).not.toContain('attacker');
    expect(writtenDoc(staleOut)!.revoked.keys.map((k) => k.id)).not.toContain(anchorIds[2]);
    // The real document gets through again: written at the next try.
    proxy.mode = { kind: 'pass' };
    await waitFor(() => writtenDoc(staleOut)?.revoked.keys.some((k) => k.id === anchorIds[2]), 'the revocation once the proxy passes it', 10_000);
    expect(writtenDoc(staleOut)!.anchors.map((a) => a.name ?? '')).not.toContain('attacker');

    server.proc.child.kill('SIGTERM');
    expect(await server.proc.exit).toBe(0);
    const started = Date.now();
    expect(await stale.exit).toBe(1);
    expect(Date.now() - started).toBeLessThan(10_000);
    const last = stale.stderr().trim().split('\n').at(-1)!;
    expect(last).toMatch(/^keyshare: TRUST_STALE: no verified fetch for [\d.]+s, longer than --max-stale 4s; .*Last failure: DOWNLOAD_FAILED/);
    await proxy.close();
    // The files written before stay.
    expect(existsSync(join(staleOut, MANIFEST))).toBe(true);

    // The first watcher has no --max-stale: still running, until SIGTERM.
    expect(watcher.child.exitCode).toBeNull();
    watcher.child.kill('SIGTERM');
    expect(await watcher.exit).toBe(0);
    expect(writtenDoc(out())?.revoked.keys.map((k) => k.id)).toEqual(expect.arrayContaining(anchorIds.slice(0, 2)));
  });
});
