/**
 * shared/http-plain.ts, the plain-http transport of shared/http.ts (issue 25): each answer below,
 * sent byte for byte by a scripted server (in pieces, as a network may split it), reads the same
 * through it as through node:http (status, headers, body), and what node:http refuses it refuses.
 */
import { request as nodeRequest, type IncomingHttpHeaders } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { plainTransport } from '../../shared/http-plain.js';
import { httpRequest } from '../../shared/http.js';

const plainRequest = await plainTransport();
let server: Server | undefined;
/** The server's connections: kept-alive ones stay open until closed here. */
const open = new Set<Socket>();

afterEach(async () => {
  for (const socket of open) socket.destroy();
  open.clear();
  await new Promise<void>((done) => (server ? server.close(() => done()) : done()));
  server = undefined;
});

interface Script {
  /** The answer's bytes, in the pieces the server writes them (a pause between pieces). */
  pieces: string[];
  /** Closes the connection after the answer. */
  close?: boolean;
}

/** A server that answers each request with `script(n)` (n: the request's number, from 1). */
async function scripted(script: (n: number) => Script): Promise<{ url: string; connections: () => number; requests: () => string[] }> {
  let connections = 0;
  const requests: string[] = [];
  server = createServer((socket: Socket) => {
    connections++;
    open.add(socket);
    socket.on('error', () => {});
    let pending = '';
    socket.on('data', async (chunk) => {
      pending += chunk.toString('latin1');
      const end = pending.indexOf('\r\n\r\n');
      if (end < 0) return;
      const length = Number(/\r\ncontent-length: (\d+)/i.exec(pending.slice(0, end))?.[1] ?? 0);
      if (pending.length < end + 4 + length) return;
      requests.push(pending.slice(0, end + 4 + length));
      pending = '';
      const { pieces, close } = script(requests.length);
      for (const piece of pieces) {
        socket.write(Buffer.from(piece, 'latin1'));
        await new Promise((r) => setTimeout(r, 5));
      }
      if (close) socket.end();
    });
  });
  await new Promise<void>((ok) => server!.listen(0, '127.0.0.1', ok));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { url: `http://127.0.0.1:${port}/x?y=1`, connections: () => connections, requests: () => requests };
}

type Read = { status: number; headers: IncomingHttpHeaders; body: string } | { error: string };

/** One request through `via`, read whole: what a caller of either transport sees. */
function readVia(via: 'plain' | 'node', url: string, method = 'GET', body?: string): Promise<Read> {
  return new Promise((resolve) => {
    const fail = (e: Error) => resolve({ error: e.message });
    const onAnswer = (res: { statusCode?: number; headers: IncomingHttpHeaders; on: (e: string, f: (c: Buffer) => void) => unknown; once: (e: string, f: (x?: unknown) => void) => unknown }) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, headers: withoutDate(res.headers), body: Buffer.concat(chunks).toString('latin1') }));
      res.once('error', (e) => fail(e as Error));
    };
    const options = { method, agent: false as const, headers: { 'content-type': 'text/plain' } };
    const r = via === 'plain' ? plainRequest(new URL(url), options, onAnswer) : nodeRequest(url, options, onAnswer);
    r.once('error', fail);
    r.end(body);
  });
}

const withoutDate = (h: IncomingHttpHeaders) => Object.fromEntries(Object.entries(h).filter(([k]) => k !== 'date'));

const ANSWERS: Record<string, Script> = {
  'Content-Length, head and body split': { pieces: ['HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nContent-Len', 'gth: 11\r\n\r\n{"a":', '"bcd"}'] },
  'chunked, with an extension and a trailer': { pieces: ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n', 'A;x=1\r\n0123456789\r', '\n0\r\nx-trailer: 1\r\n\r\n'] },
  'chunked, each byte apart': { pieces: [...'HTTP/1.1 201 Created\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n'] },
  'a body up to the close': { pieces: ['HTTP/1.1 200 OK\r\nx-a: 1\r\n\r\nsome', ' bytes'], close: true },
  'HTTP/1.0 without a length': { pieces: ['HTTP/1.0 200 OK\r\n\r\nold'], close: true },
  'an interim 100 answer first': { pieces: ['HTTP/1.1 100 Continue\r\n\r\n', 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok'] },
  '204 with no body': { pieces: ['HTTP/1.1 204 No Content\r\nx-b: 2\r\n\r\n'] },
  '404 with a JSON error': { pieces: ['HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: 17\r\n\r\n{"code":"NOPE"}\r\n'] },
  'repeated headers': { pieces: ['HTTP/1.1 200 OK\r\nset-cookie: a=1\r\nSet-Cookie: b=2\r\nx-list: 1\r\nx-list: 2\r\ncontent-type: a/b\r\ncontent-type: c/d\r\nlocation: /one\r\nlocation: /two\r\nwarning:   199 - "w"  \r\ncontent-length: 0\r\n\r\n'] },
  'a reason phrase left out': { pieces: ['HTTP/1.1 200\r\ncontent-length: 1\r\n\r\nx'] },
};

const REFUSED: Record<string, Script> = {
  'not HTTP': { pieces: ['SSH-2.0-OpenSSH\r\n\r\n'], close: true },
  'a head over 16 KiB': { pieces: [`HTTP/1.1 200 OK\r\nx-big: ${'a'.repeat(17 * 1024)}\r\n\r\n`] },
  'a bad chunk size': { pieces: ['HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n'] },
  'Content-Length and Transfer-Encoding': { pieces: ['HTTP/1.1 200 OK\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n'] },
  'a bad Content-Length': { pieces: ['HTTP/1.1 200 OK\r\ncontent-length: 1x\r\n\r\nx'] },
  'a header name with a space': { pieces: ['HTTP/1.1 200 OK\r\nbad name: 1\r\ncontent-length: 0\r\n\r\n'] },
  'closed before the whole body': { pieces: ['HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc'], close: true },
  'closed before any answer': { pieces: [], close: true },
};

describe('plain http reads an answer as node:http does', () => {
  for (const [name, script] of Object.entries(ANSWERS)) {
    it(name, async () => {
      const s = await scripted(() => script);
      const plain = await readVia('plain', s.url);
      expect(plain).not.toHaveProperty('error');
      expect(plain).toEqual(await readVia('node', s.url));
    });
  }

  for (const [name, script] of Object.entries(REFUSED)) {
    it(`refuses ${name}, as node:http does`, async () => {
      const s = await scripted(() => script);
      expect(await readVia('node', s.url)).toHaveProperty('error');
      expect(await readVia('plain', s.url)).toHaveProperty('error');
    });
  }

  it('sends the request node:http sends: method, path and query, Host, headers, body length', async () => {
    const s = await scripted(() => ({ pieces: ['HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n'] }));
    await readVia('plain', s.url, 'POST', '{"é":1}');
    await readVia('node', s.url, 'POST', '{"é":1}');
    await readVia('plain', s.url, 'DELETE');
    const [plainPost, nodePost, plainDelete] = s.requests();
    const port = new URL(s.url).port;
    expect(plainPost).toBe(`POST /x?y=1 HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\ncontent-type: text/plain\r\nContent-Length: 8\r\nConnection: close\r\n\r\n{"é":1}`.replace('é', '\xc3\xa9'));
    // node:http sends the same (its header order differs).
    expect(nodePost).toContain('POST /x?y=1 HTTP/1.1\r\n');
    expect(nodePost).toMatch(/\r\nContent-Length: 8\r\n/);
    expect(nodePost).toMatch(/\r\nConnection: close\r\n/);
    expect(nodePost).toMatch(/\r\nHost: 127\.0\.0\.1:\d+\r\n/);
    expect(plainDelete).toContain('\r\nContent-Length: 0\r\n');
  });

  it('refuses a header value with a line break before sending, with node:http’s error', () => {
    const headers = { authorization: 'Bearer a\r\nx: y' };
    const plain = (() => { try { plainRequest(new URL('http://127.0.0.1:1/'), { headers }, () => {}); } catch (e) { return e; } })() as NodeJS.ErrnoException;
    const node = (() => { try { nodeRequest('http://127.0.0.1:1/', { headers }); } catch (e) { return e; } })() as NodeJS.ErrnoException;
    expect([plain.name, plain.code, plain.message]).toEqual([node.name, node.code, node.message]);
  });
});

describe('through httpRequest (shared/http.ts)', () => {
  it('keeps a connection alive between requests, and opens another after `connection: close`', async () => {
    const s = await scripted((n) => ({ pieces: [`HTTP/1.1 200 OK\r\ncontent-length: 1\r\n${n === 2 ? 'connection: close\r\n' : ''}\r\n${n}`] }));
    const bodies = [];
    for (let i = 0; i < 3; i++) bodies.push((await httpRequest(s.url, { timeoutMs: 5_000 })).body.toString());
    expect(bodies).toEqual(['1', '2', '3']);
    expect(s.connections()).toBe(2);
  });

  it('refuses a body over the cap, announced or sent, and reads an error answer without its body', async () => {
    const s = await scripted((n) => ({ pieces: n === 1 ? ['HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n', 'x'.repeat(100)] : n === 2 ? ['HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n64\r\n', `${'x'.repeat(100)}\r\n0\r\n\r\n`] : ['HTTP/1.1 500 Oops\r\ncontent-length: 70000\r\n\r\n', 'e'.repeat(70000)] }));
    await expect(httpRequest(s.url, { timeoutMs: 5_000, maxBytes: 10 })).rejects.toThrow('a body over 10 bytes');
    await expect(httpRequest(s.url, { timeoutMs: 5_000, maxBytes: 10 })).rejects.toThrow('a body over 10 bytes');
    const error = await httpRequest(s.url, { timeoutMs: 5_000, maxBytes: 10 });
    expect([error.status, error.body.length]).toEqual([500, 0]);
  });

  it('gives up at the time limit, and says an unreachable server is unreachable', async () => {
    const s = await scripted(() => ({ pieces: ['HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nab'] }));
    await expect(httpRequest(s.url, { timeoutMs: 300 })).rejects.toMatchObject({ message: expect.stringContaining('no complete answer within 300 ms'), unreachable: false });
    const closed = s.url.replace(/:\d+/, ':1');
    await expect(httpRequest(closed, { timeoutMs: 5_000 })).rejects.toMatchObject({ unreachable: true, cause: { code: 'ECONNREFUSED' } });
  });

  it('follows a redirect of a GET, as before', async () => {
    const s = await scripted((n) => ({ pieces: [n === 1 ? 'HTTP/1.1 302 Found\r\nlocation: /next\r\ncontent-length: 0\r\n\r\n' : 'HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nhere'] }));
    expect((await httpRequest(s.url, { timeoutMs: 5_000 })).body.toString()).toBe('here');
    expect(s.requests()[1]).toMatch(/^GET \/next HTTP\/1\.1\r\n/);
  });
});
