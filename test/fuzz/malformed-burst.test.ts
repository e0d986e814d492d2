/**
 * Issue 16, "5xx on a malformed request": in a burst of admin requests that mixed 413s and junk
 * bodies, one GET /api/v1/scopes got a 5xx or a dropped connection. This runs the same mix
 * concurrently over kept-alive connections against a real socket (N requests in `npm test`,
 * N x KEYSHARE_FUZZ_SCALE in `npm run soak`): every request gets an answer, and none is a 5xx.
 */
import { Agent, request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTempDirs, startTestService, type TestService } from '../support/service.js';

const SCALE = Math.max(1, Number(process.env.KEYSHARE_FUZZ_SCALE ?? '1') || 1);
const REQUESTS = 240 * SCALE;
const CONCURRENCY = 24;
const MAX_BODY = 64 * 1024;

let svc: TestService;
beforeAll(async () => {
  svc = await startTestService({ server: { maxBodyBytes: MAX_BODY } });
  await svc.api('POST', '/scopes', { scope: 'registry.acme.io' });
});
afterAll(async () => {
  await svc?.close();
  cleanupTempDirs();
});

interface Shot {
  name: string;
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: Buffer | Buffer[];
}

/** The mix: valid reads among bodies over the limit (announced or chunked), junk JSON, wrong types. */
function shot(i: number, token: string): Shot {
  const auth = { authorization: `Bearer ${token}` };
  const json = { ...auth, 'content-type': 'application/json' };
  switch (i % 8) {
    case 0:
    case 4:
      return { name: 'GET /api/v1/scopes', method: 'GET', path: '/api/v1/scopes', headers: auth };
    case 1:
      return { name: '413 announced', method: 'POST', path: '/api/v1/scopes', headers: json, body: Buffer.alloc(MAX_BODY * 3, 0x61) };
    case 2:
      return { name: '413 chunked', method: 'POST', path: '/api/v1/scopes', headers: json, body: [Buffer.alloc(MAX_BODY, 0x7b), Buffer.alloc(MAX_BODY, 0x7b), Buffer.alloc(MAX_BODY, 0x7b)] };
    case 3:
      return { name: 'junk JSON', method: 'POST', path: '/api/v1/scopes', headers: json, body: Buffer.from(`{"scope": ${'['.repeat(i % 50)}\u0000\xff`, 'latin1') };
    case 5:
      return { name: 'wrong content type', method: 'POST', path: '/api/v1/revocations', headers: { ...auth, 'content-type': 'text/plain' }, body: Buffer.from('kind=key') };
    case 6:
      return { name: 'invalid UTF-8', method: 'POST', path: '/api/v1/scopes', headers: json, body: Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x3a, 0xff, 0x7d]) };
    default:
      return { name: 'no token, over the limit', method: 'POST', path: '/api/v1/tokens', headers: { 'content-type': 'application/json' }, body: Buffer.alloc(MAX_BODY * 2, 0x20) };
  }
}

function send(agent: Agent, base: URL, s: Shot): Promise<{ status: number } | { error: string }> {
  return new Promise((resolve) => {
    const chunked = Array.isArray(s.body);
    const headers = { ...s.headers, ...(s.body && !chunked ? { 'content-length': String((s.body as Buffer).length) } : {}) };
    const req = request({ host: base.hostname, port: base.port, method: s.method, path: s.path, headers, agent, timeout: 30_000 }, (res) => {
      res.resume();
      res.once('end', () => resolve({ status: res.statusCode ?? 0 }));
      res.once('error', (e) => resolve({ error: `response: ${e.message}` }));
    });
    req.once('error', (e) => resolve({ error: (e as NodeJS.ErrnoException).code ?? e.message }));
    req.once('timeout', () => req.destroy(new Error('no answer in 30 s')));
    if (chunked) for (const part of s.body as Buffer[]) req.write(part);
    req.end(chunked ? undefined : s.body);
  });
}

describe('a burst of malformed admin requests among valid ones', () => {
  it(`answers all ${REQUESTS}, over kept-alive connections, and never with a 5xx`, async () => {
    const base = new URL(svc.url);
    const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const problems: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < REQUESTS) {
        const s = shot(next++, svc.token);
        const r = await send(agent, base, s);
        if ('error' in r) problems.push(`${s.name}: dropped (${r.error})`);
        else if (r.status >= 500) problems.push(`${s.name}: ${r.status}`);
        else if (s.name === 'GET /api/v1/scopes' && r.status !== 200) problems.push(`${s.name}: ${r.status}`);
      }
    };
    try {
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    } finally {
      agent.destroy();
    }
    expect(problems).toEqual([]);
  }, 120_000 * SCALE);
});
