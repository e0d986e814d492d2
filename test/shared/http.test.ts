/**
 * shared/http.ts against a server that resets a kept-alive connection when it is reused: the
 * request that finds it dead is sent again, once, on a new connection (Node's http docs).
 */
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { httpRequest } from '../../shared/http.js';

let server: Server | undefined;

afterEach(async () => {
  await new Promise<void>((done) => (server ? server.close(() => done()) : done()));
  server = undefined;
});

/**
 * Answers the first request of every connection, keeping it open; resets the connection (RST)
 * when a second request comes on it, as a server whose idle timeout just closed it would.
 */
async function resettingServer(): Promise<{ url: string; connections: () => number }> {
  let connections = 0;
  server = createServer((socket) => {
    connections++;
    let requests = 0;
    socket.on('error', () => {});
    socket.on('data', (chunk) => {
      // A request starts with its request line (the chunks of a streamed body that follow do not).
      if (!/^[A-Z]+ \S+ HTTP\/1\.1\r\n/.test(chunk.toString('latin1'))) return;
      if (++requests > 1) return socket.resetAndDestroy();
      socket.write('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\nok');
    });
  });
  await new Promise<void>((ok) => server!.listen(0, '127.0.0.1', ok));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { url: `http://127.0.0.1:${port}/x`, connections: () => connections };
}

describe('a kept-alive connection the server reset while idle', () => {
  it('is replaced by a new one, and the request answered', async () => {
    const s = await resettingServer();
    const first = await httpRequest(s.url, { timeoutMs: 5_000 });
    expect(first.body.toString()).toBe('ok');
    const second = await httpRequest(s.url, { timeoutMs: 5_000 });
    expect(second.status).toBe(200);
    expect(second.body.toString()).toBe('ok');
    expect(s.connections()).toBe(2);
  });

  it('is not retried for a streamed body, which cannot be sent again', async () => {
    const s = await resettingServer();
    // A streamed body goes over node:http (a whole one over shared/http-plain.ts): its connection is the one reused.
    await httpRequest(s.url, { method: 'POST', body: ['a', 'b'][Symbol.iterator]() as Iterable<string>, timeoutMs: 5_000 });
    await expect(httpRequest(s.url, { method: 'POST', body: ['a', 'b'][Symbol.iterator]() as Iterable<string>, timeoutMs: 5_000 })).rejects.toThrow();
    expect(s.connections()).toBe(1);
  });
});
