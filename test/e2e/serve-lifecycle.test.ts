/**
 * `keyshare serve` as a process: a bad configuration stops it before it starts, and SIGTERM
 * lets an in-flight request finish (and the publish it started complete) before it exits.
 * Runs the built CLI (bin/keyshare.js → dist/, built by `npm test`'s pretest).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupTempDirs, newDataDir, tempDir } from '../support/service.js';

const BIN = join(process.cwd(), 'bin', 'keyshare.js');

interface Proc {
  child: ChildProcess;
  stderr: () => string;
  exit: Promise<number | null>;
}

function run(args: string[], env: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, KEYSHARE_DATA: '', KEYSHARE_LISTEN: '', KEYSHARE_CONFIG: '', KEYSHARE_LOG_LEVEL: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  child.stdout!.resume();
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stderr: () => err, exit };
}

async function waitFor<T>(f: () => T | undefined | null, what: string, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

afterAll(() => cleanupTempDirs());

describe('when the configuration is invalid', () => {
  it('refuses to start, with one line naming the setting and where it came from', async () => {
    const cases: [string[], Record<string, string>, RegExp][] = [
      [['--listen', 'not-an-address'], {}, /^keyshare: CONFIG_INVALID: listen \(from --listen\): must be HOST:PORT/],
      [[], { KEYSHARE_LOG_LEVEL: 'loud' }, /^keyshare: CONFIG_INVALID: log-level \(from KEYSHARE_LOG_LEVEL\): must be one of/],
      [['--expiry-timestamp', 'soon'], {}, /^keyshare: CONFIG_INVALID: expiry\.timestamp \(from --expiry-timestamp\): "soon" is not a duration/],
      [['--config', '/nonexistent/keyshare.yaml'], {}, /^keyshare: CONFIG_INVALID: config \(from --config\): .* does not exist/],
    ];
    // The processes run side by side: each one loads the CLI.
    await Promise.all(
      cases.map(async ([args, env, message]) => {
        const data = join(tempDir(), 'data');
        const p = run(['serve', '--data', data, ...args], env);
        expect(await p.exit).toBe(1);
        const lines = p.stderr().trim().split('\n');
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(message);
      }),
    );
  });

  it('refuses an invalid keyshare.yaml in the data dir, naming the file', async () => {
    const { dataDir } = await newDataDir();
    appendFileSync(join(dataDir, 'keyshare.yaml'), 'listen: 127.0.0.1:0\nmax-body: lots\n');
    const p = run(['serve', '--data', dataDir]);
    expect(await p.exit).toBe(1);
    expect(p.stderr().trim()).toBe(`keyshare: CONFIG_INVALID: max-body (from ${join(dataDir, 'keyshare.yaml')}): "lots" is not a size (e.g. 4MiB, 512KiB, 1000000)`);
  });
});

describe('when the service gets SIGTERM', () => {
  it('lets an in-flight request finish, then exits 0', async () => {
    const { dataDir, token } = await newDataDir();
    // The listen address comes from keyshare.yaml (port 0: any free port).
    appendFileSync(join(dataDir, 'keyshare.yaml'), 'listen: 127.0.0.1:0\nlog-level: info\n');
    const p = run(['serve', '--data', dataDir]);
    const url = await waitFor(() => /keyshare serving (http:\/\/[^/\s]+)\//.exec(p.stderr())?.[1], 'the service to start');
    const { port } = new URL(url);

    // A slow client: headers and half of the body now, the rest after SIGTERM.
    const body = JSON.stringify({ scope: 'registry.acme.io/slow', level: 'audit' });
    const half = Math.floor(body.length / 2);
    const response = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: Number(port),
          method: 'POST',
          path: '/api/v1/scopes',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          let text = '';
          res.on('data', (d) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode!, text }));
        },
      );
      req.on('error', reject);
      req.write(body.slice(0, half));
      (globalThis as { slowRequest?: typeof req }).slowRequest = req;
    });
    await new Promise((r) => setTimeout(r, 300));

    p.child.kill('SIGTERM');
    await waitFor(() => p.stderr().includes('"shutting down"'), 'the shutdown to begin');
    // Still running: it waits for the request.
    await new Promise((r) => setTimeout(r, 500));
    expect(p.child.exitCode).toBeNull();
    // New connections are no longer accepted.
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();

    const req = (globalThis as { slowRequest?: import('node:http').ClientRequest }).slowRequest!;
    req.end(body.slice(half));
    const res = await response;
    expect(res.status).toBe(201);
    const created = JSON.parse(res.text);
    expect(created.scope.scope).toBe('registry.acme.io/slow');
    // The publish it started completed before the exit.
    expect(created.published?.timestampVersion).toBeGreaterThan(1);

    expect(await p.exit).toBe(0);
    const log = p.stderr();
    expect(log).toContain('"msg":"stopped"');
    // The publish is logged with the version it made.
    const published = log.split('\n').filter((l) => l.includes('"msg":"published"')).map((l) => JSON.parse(l));
    expect(published.map((p) => p.timestampVersion)).toContain(created.published.timestampVersion);
    // The request was logged with its request ID and status.
    const line = log.split('\n').find((l) => l.includes('"path":"/api/v1/scopes"'));
    expect(JSON.parse(line!)).toMatchObject({ msg: 'request', method: 'POST', status: 201, reqId: expect.any(String) });
  });
});

describe('when the service stops with followers long-polling and a stalled client (issue 24 row 7)', () => {
  it('answers the long-poll at once telling it to back off, cuts the stalled client at the shutdown timeout, and exits 0', async () => {
    const { dataDir, token } = await newDataDir();
    appendFileSync(join(dataDir, 'keyshare.yaml'), 'listen: 127.0.0.1:0\nlog-level: debug\nshutdown-timeout: 2s\n');
    const p = run(['serve', '--data', dataDir]);
    const url = await waitFor(() => /keyshare serving (http:\/\/[^/\s]+)\//.exec(p.stderr())?.[1], 'the service to start');
    const { port } = new URL(url);

    // The health endpoints are logged at debug (docs/REFERENCE.md "Logs").
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const healthLine = await waitFor(() => p.stderr().split('\n').find((l) => l.includes('"path":"/healthz"')), 'the /healthz request to be logged');
    expect(JSON.parse(healthLine)).toMatchObject({ level: 'debug', msg: 'request', status: 200 });

    const { timestampVersion } = (await (await fetch(`${url}/tuf/feed`)).json()) as { timestampVersion: number };
    const longPoll = fetch(`${url}/tuf/feed?after=${timestampVersion}&wait=60`).then(async (res) => ({ at: Date.now(), status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as { code: string } }));
    // A client that sent half a request and stalls.
    const stalled = new Promise<number>((resolve) => {
      const req = request({ host: '127.0.0.1', port: Number(port), method: 'POST', path: '/api/v1/scopes', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': 100 } });
      req.on('error', () => resolve(Date.now()));
      req.on('response', (res) => res.on('close', () => resolve(Date.now())).resume());
      req.write('{"scope":');
    });
    await new Promise((r) => setTimeout(r, 300));

    const stopAt = Date.now();
    p.child.kill('SIGTERM');
    const answer = await longPoll;
    expect(answer.at - stopAt).toBeLessThan(1_500);
    expect(answer.status).toBe(503);
    expect(answer.body.code).toBe('SHUTTING_DOWN');
    expect(Number(answer.retryAfter)).toBeGreaterThanOrEqual(10);
    // The stalled client holds the shutdown until the shutdown timeout (2 s) cuts it.
    const cutAt = await stalled;
    expect(cutAt - stopAt).toBeGreaterThanOrEqual(1_500);
    expect(cutAt - stopAt).toBeLessThan(10_000);
    expect(await p.exit).toBe(0);
  });
});

describe('when a second serve starts on a data dir in use (issue 24 row 14)', () => {
  it('refuses before writing anything: LISTEN_FAILED on a used address, DATA_DIR_LOCKED on another', async () => {
    const { dataDir } = await newDataDir();
    appendFileSync(join(dataDir, 'keyshare.yaml'), 'listen: 127.0.0.1:0\n');
    const first = run(['serve', '--data', dataDir]);
    const url = await waitFor(() => /keyshare serving (http:\/\/[^/\s]+)\//.exec(first.stderr())?.[1], 'the service to start');
    const served = async () => ((await (await fetch(`${url}/tuf/timestamp.json`)).json()) as { signed: { version: number } }).signed.version;
    const before = await served();

    const sameAddress = run(['serve', '--data', dataDir, '--listen', new URL(url).host]);
    expect(await sameAddress.exit).toBe(1);
    expect(sameAddress.stderr().trim()).toBe(`keyshare: LISTEN_FAILED: ${new URL(url).host} is in use; choose another with --listen`);
    const otherAddress = run(['serve', '--data', dataDir, '--listen', '127.0.0.1:0']);
    expect(await otherAddress.exit).toBe(1);
    expect(otherAddress.stderr().trim()).toMatch(/^keyshare: DATA_DIR_LOCKED: .* is in use by another keyshare serve \(pid \d+\)/);
    // Nothing was published by the refused processes (the first publishes nothing on its own).
    await new Promise((r) => setTimeout(r, 500));
    expect(await served()).toBe(before);

    first.child.kill('SIGTERM');
    expect(await first.exit).toBe(0);
    // The lock goes with its owner: the data dir serves again.
    const again = run(['serve', '--data', dataDir]);
    await waitFor(() => /keyshare serving/.exec(again.stderr()), 'the service to start again');
    again.child.kill('SIGTERM');
    expect(await again.exit).toBe(0);
  });
});
