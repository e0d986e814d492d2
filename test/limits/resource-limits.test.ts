/**
 * Resource limits against hostile peers:
 *  - slow clients: headers and whole requests have deadlines on the service's socket
 *    (service/server.ts, headersTimeout / requestTimeout), so a slowloris client cannot hold
 *    connections for ever;
 *  - request bodies: an endless body to the admin API is cut at the limit, not buffered;
 *  - bounded memory: a decompression bomb through bundle import, and endless metadata from a
 *    server through fetch, are stopped at their caps without the process growing with them.
 */
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { createGzip } from 'node:zlib';
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openInstance } from '../../service/instance.js';
import { startServer, type RunningServer } from '../../service/server.js';
import { SqliteStore } from '../../service/store/index.js';
import { importBundle } from '../support/federation.js';
import { fetchTrust } from '../../sync/client/index.js';
import { isKeyshareError } from '../../service/errors.js';
import { Header } from 'tar';
import { cleanupTempDirs, newDataDir, tempDir } from '../support/service.js';
import { TestRepository } from '../attacks/support/repository.js';
import { EvilServer } from '../attacks/support/server.js';

let server: RunningServer;
let token: string;
let host: string;
let port: number;

beforeAll(async () => {
  const made = await newDataDir();
  token = made.token;
  server = await startServer(await openInstance({ dataDir: made.dataDir }), '127.0.0.1:0', () => {}, { headersTimeoutMs: 1000, requestTimeoutMs: 2000 });
  const u = new URL(server.url);
  host = u.hostname;
  port = Number(u.port);
});

afterAll(async () => {
  await server?.close();
  cleanupTempDirs();
});

/** Opens a socket, runs `feed` on it, and resolves with how long the server kept it open and what it answered. */
function heldFor(feed: (s: Socket) => NodeJS.Timeout): Promise<{ ms: number; answer: string }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const s = connect(port, host);
    let answer = '';
    let timer: NodeJS.Timeout | undefined;
    s.on('connect', () => (timer = feed(s)));
    s.on('data', (d) => (answer += d));
    s.on('error', () => {});
    s.on('close', () => {
      clearInterval(timer);
      resolve({ ms: Date.now() - started, answer });
    });
    // A guard so that the test ends even if the server never cuts the socket.
    setTimeout(() => s.destroy(), 30_000).unref();
  });
}

describe('when a client sends its headers slowly (slowloris)', () => {
  it('cuts the connection once the headers deadline passes', async () => {
    const r = await heldFor((s) => {
      s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
      return setInterval(() => s.write('X-Slow: a\r\n'), 200);
    });
    expect(r.ms).toBeLessThan(10_000);
    expect(r.answer === '' || /^HTTP\/1\.1 408/.test(r.answer)).toBe(true);
  });
});

describe('when a client connects and sends nothing', () => {
  it('cuts the connection too', async () => {
    const r = await heldFor(() => setInterval(() => {}, 1000));
    expect(r.ms).toBeLessThan(10_000);
  });
});

describe('when a client sends its body slowly', () => {
  it('cuts the request once the request deadline passes', async () => {
    const r = await heldFor((s) => {
      s.write(`POST /api/v1/scopes HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"scope":"`);
      return setInterval(() => s.write('a'), 200);
    });
    expect(r.ms).toBeLessThan(12_000);
    expect(r.answer === '' || /^HTTP\/1\.1 (408|400)/.test(r.answer)).toBe(true);
  });

  it('still serves a well-behaved client', async () => {
    const res = await fetch(`${server.url}/healthz`);
    expect(res.status).toBe(200);
  });
});

describe('when a client sends an endless body to the admin API', () => {
  it('answers 413 BODY_TOO_LARGE at the limit, long before the body ends', async () => {
    // A raw socket: the service answers at the limit and closes while the body is still coming, so
    // a write may fail (EPIPE, ECONNRESET) before the answer is read; an HTTP client reports that
    // failure in place of the answer, a socket keeps reading what the service sent.
    const send = () => new Promise<{ status: number; bytes: number }>((resolve, reject) => {
      let bytes = 0;
      let answer = '';
      let done = false;
      const socket = connect(port, host);
      const finish = () => {
        if (done) return;
        done = true;
        socket.destroy();
        resolve({ status: Number(/^HTTP\/1\.1 (\d{3}) /.exec(answer)?.[1] ?? 0), bytes });
      };
      socket.on('data', (b: Buffer) => {
        answer += b.toString('latin1');
        if (answer.includes('\r\n')) finish();
      });
      socket.on('close', finish);
      socket.on('error', (e: NodeJS.ErrnoException) => (e.code === 'EPIPE' || e.code === 'ECONNRESET' ? undefined : reject(e)));
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const framed = Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]);
      const pump = () => {
        while (!done && !socket.destroyed && bytes < 256 * 1024 * 1024) {
          bytes += chunk.length;
          if (!socket.write(framed)) return void socket.once('drain', pump);
        }
        if (!done && !socket.destroyed) socket.end('0\r\n\r\n');
      };
      const start = '{"scopes":[';
      socket.write(
        `POST /api/v1/apply HTTP/1.1\r\nhost: ${host}:${port}\r\nauthorization: Bearer ${token}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n` +
          `${start.length.toString(16)}\r\n${start}\r\n`,
      );
      pump();
    });
    // This file's service cuts a request at 2 s (requestTimeoutMs, beforeAll): a test process
    // starved of CPU that long by the suite's other files sees the connection closed with no
    // answer (status 0). Up to three tries; a service that buffers the body never answers 413.
    let sent = await send();
    for (let i = 0; i < 2 && sent.status === 0; i++) sent = await send();
    expect(sent.status).toBe(413);
    // The default limit is 4 MiB: the answer comes long before 256 MiB were sent.
    expect(sent.bytes).toBeLessThan(64 * 1024 * 1024);
  });
});

describe('when a keep-alive client sends one request after another', () => {
  it('keeps the connection for the next request after a GET, and closes it after a refusal that left a body unread', async () => {
    // One raw socket, two GETs written at once: both answers come back on it, the first without
    // `connection: close` (service/server.ts hasBody: a GET has no body to drain).
    const answers = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, host);
      let text = '';
      const timer = setTimeout(() => { socket.destroy(); resolve(text); }, 5000);
      socket.on('data', (b: Buffer) => {
        text += b.toString('latin1');
        if ((text.match(/HTTP\/1\.1 200 /g) ?? []).length === 2 && text.endsWith('}')) { clearTimeout(timer); socket.destroy(); resolve(text); }
      });
      socket.on('error', reject);
      const get = `GET /tuf/timestamp.json HTTP/1.1\r\nhost: ${host}:${port}\r\n\r\n`;
      socket.write(get + get);
    });
    expect((answers.match(/HTTP\/1\.1 200 /g) ?? []).length).toBe(2);
    expect(answers.toLowerCase()).not.toContain('connection: close');
    // A refusal before a declared body was read still closes (issue 16).
    const refused = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, host);
      let text = '';
      socket.on('data', (b: Buffer) => (text += b.toString('latin1')));
      socket.on('close', () => resolve(text));
      socket.on('error', (e: NodeJS.ErrnoException) => (e.code === 'EPIPE' || e.code === 'ECONNRESET' ? resolve(text) : reject(e)));
      socket.write(`POST /api/v1/apply HTTP/1.1\r\nhost: ${host}:${port}\r\ncontent-type: application/json\r\ncontent-length: 10\r\n\r\n{`);
      setTimeout(() => socket.destroy(), 5000);
    });
    expect(refused).toMatch(/^HTTP\/1\.1 401 /);
    expect(refused.toLowerCase()).toContain('connection: close');
  });
});

/** The growth of this process's resident memory while `fn` runs (peak, sampled). */
async function peakGrowth(fn: () => Promise<unknown>): Promise<number> {
  global.gc?.();
  const base = process.memoryUsage().rss;
  let peak = base;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  try {
    await fn();
  } finally {
    clearInterval(timer);
  }
  return Math.max(peak, process.memoryUsage().rss) - base;
}

describe('when a bundle is a decompression bomb', () => {
  it('is refused with BUNDLE_TOO_LARGE at the cap, its memory bounded while 512 MiB of zeros stream through', async () => {
    const dir = tempDir('keyshare-limits-');
    const file = join(dir, 'bomb.tar.gz');
    // One tar entry of 512 MiB of zeros, gzip-compressed to about half a megabyte.
    const size = 512 * 1024 * 1024;
    const header = new Header({ path: 'tuf/targets/bomb', size, type: 'File', mode: 0o644, mtime: new Date(0) });
    header.encode();
    async function* tar() {
      yield header.block!;
      const zeros = Buffer.alloc(1024 * 1024);
      for (let i = 0; i < size / zeros.length; i++) yield zeros;
      yield Buffer.alloc(1024);
    }
    await pipeline(Readable.from(tar()), createGzip({ level: 9 }), createWriteStream(file));
    const store = SqliteStore.memory();
    let code = '';
    const growth = await peakGrowth(async () => {
      try {
        await importBundle({ file, root: TestRepository.create().root(1), store, tmpDir: dir, limits: { maxTotalBytes: 256 * 1024 * 1024, maxFileBytes: 1024 * 1024 * 1024 } });
      } catch (e) {
        code = isKeyshareError(e) ? e.code : String(e);
      }
    });
    await store.close();
    expect(code).toBe('BUNDLE_TOO_LARGE');
    expect(growth, `resident memory grew by ${Math.round(growth / 1e6)} MB`).toBeLessThan(96 * 1024 * 1024);
  });
});

describe('when a server sends endless metadata', () => {
  it('stops fetch at the cap, its memory bounded', async () => {
    const evil = await EvilServer.start();
    try {
      const repo = TestRepository.create();
      evil.serve(repo.files);
      evil.misbehave = (p) => (p.endsWith('.targets.json') ? { endless: true } : undefined);
      let code = '';
      const growth = await peakGrowth(async () => {
        try {
          await fetchTrust({ server: evil.url, root: repo.root(1), cache: tempDir() });
        } catch (e) {
          code = isKeyshareError(e) ? e.code : String(e);
        }
      });
      expect(code).toBe('HASH_MISMATCH');
      expect(growth, `resident memory grew by ${Math.round(growth / 1e6)} MB`).toBeLessThan(64 * 1024 * 1024);
    } finally {
      await evil.close();
    }
  });
});

