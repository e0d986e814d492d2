/**
 * Issue 16: an upstream's token goes to that upstream's origin only (service/federation/upstream/token.ts,
 * sync/client/fetcher.ts bearerHeader), and a redirect to another origin drops it
 * (shared/http.ts), as fetch() does.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpFetcher } from '../../../../sync/client/fetcher.js';
import { upstreamBearer, upstreamToken } from '../../../../service/federation/upstream/token.js';

const TOKEN = 'ks_0123456789ab_secretsecretsecretsecretsecret';
/** Two origins on loopback (another port is another origin): A redirects /away to B. */
let A: Server;
let B: Server;
let a: string;
let b: string;
const seen: { server: 'A' | 'B'; path: string; headers: IncomingHttpHeaders }[] = [];

async function listen(name: 'A' | 'B', redirect: () => string): Promise<[Server, string]> {
  const server = createServer((req, res) => {
    seen.push({ server: name, path: req.url ?? '', headers: req.headers });
    if (req.url === '/away') res.writeHead(302, { location: `${redirect()}/landed` }).end();
    else if (req.url === '/here') res.writeHead(302, { location: '/landed' }).end();
    else res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return [server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`];
}

beforeAll(async () => {
  [A, a] = await listen('A', () => b);
  [B, b] = await listen('B', () => a);
});
afterAll(() => {
  for (const s of [A, B]) {
    s.closeAllConnections();
    s.close();
  }
});

const last = (server: 'A' | 'B', path: string) => seen.filter((s) => s.server === server && s.path === path).at(-1)?.headers;

describe("an upstream's token", () => {
  it('is sent to the upstream origin, through a redirect within it', async () => {
    const fetcher = new HttpFetcher({ timeoutMs: 5_000, bearer: upstreamBearer({ url: a, token: TOKEN }) });
    await fetcher.downloadBytes(`${a}/here`, 1024);
    expect(last('A', '/here')?.authorization).toBe(`Bearer ${TOKEN}`);
    expect(last('A', '/landed')?.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it('is never sent to another origin: neither asked for directly nor reached by a redirect', async () => {
    const fetcher = new HttpFetcher({ timeoutMs: 5_000, bearer: upstreamBearer({ url: a, token: TOKEN }) });
    await fetcher.downloadBytes(`${b}/direct`, 1024);
    expect(last('B', '/direct')).toBeDefined();
    expect(last('B', '/direct')?.authorization).toBeUndefined();
    await fetcher.downloadBytes(`${a}/away`, 1024);
    expect(last('A', '/away')?.authorization).toBe(`Bearer ${TOKEN}`);
    expect(last('B', '/landed')).toBeDefined();
    expect(last('B', '/landed')?.authorization).toBeUndefined();
  });

  it('is absent without one', async () => {
    await new HttpFetcher({ timeoutMs: 5_000, bearer: upstreamBearer({ url: a, token: null }) }).downloadBytes(`${a}/none`, 1024);
    expect(last('A', '/none')?.authorization).toBeUndefined();
  });

  it("is one line of visible ASCII: a token file's newline is trimmed, anything that could split a header is refused", () => {
    expect(upstreamToken(`${TOKEN}\n`)).toBe(TOKEN);
    expect(upstreamToken('  \n')).toBeNull();
    expect(upstreamToken(undefined)).toBeNull();
    for (const bad of ['a b', 'a\r\nx-injected: 1', 'a\u0000b', 'tökén', 'x'.repeat(8193)]) {
      expect(() => upstreamToken(bad), JSON.stringify(bad.slice(0, 20))).toThrow(expect.objectContaining({ code: 'UPSTREAM_INVALID' }));
    }
  });
});
