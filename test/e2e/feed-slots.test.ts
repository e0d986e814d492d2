/**
 * Issue 16, finding 3: clients without a token held every long-poll slot of the change feed, so
 * that every follower's poll was answered at once and a downstream polled 630 times a second.
 * The feed now keeps slots for requests with a token and caps anonymous slots per client
 * address, answering a client over its share 429 with Retry-After; the follower backs off.
 *
 * U's feed has 10 slots, 2 of them reserved, at most 2 anonymous per address; U believes
 * X-Forwarded-For from 127.0.0.1, so that the holders can be "many addresses" while every byte
 * stays on 127.0.0.1 (the forwarded addresses are only header text).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFixtureText } from '../../fixtures/index.js';
import { TrustedProxies } from '../../service/http/client.js';
import { cleanupTempDirs, eventually, startTestService, type TestService } from '../support/service.js';

const POLL_MS = 3_000;
let U: TestService;
let D: TestService;
const holders: AbortController[] = [];
let anchorId: string;

beforeAll(async () => {
  [U, D] = await Promise.all([
    startTestService({ init: { binBits: 4 }, server: { trustedProxies: TrustedProxies.parse(['127.0.0.1']), feedLimits: { maxWaiters: 10, reserved: 2, perAddress: 2 } } }),
    startTestService({ init: { binBits: 4 }, server: { upstreams: { pollMs: POLL_MS } } }),
  ]);
  expect((await U.api('POST', '/scopes', { scope: 'registry.acme.io' })).status).toBe(201);
  const anchor = await U.api('POST', '/scopes/registry.acme.io/anchors', { publicKey: readFixtureText('keys/ed25519.pub.pem'), name: 'ed' });
  expect(anchor.status).toBe(201);
  anchorId = anchor.body.anchor.id;
});
afterAll(async () => {
  for (const h of holders) h.abort();
  await Promise.all([U?.close(), D?.close()]);
  cleanupTempDirs();
});

/** Read in process: a request to the feed would count as one. */
const timestampVersion = async (s: TestService) => s.instance.publisher.latestMetadata('timestamp')?.version ?? 0;

/**
 * A long-poll that waits for a version far ahead (so that U's publishing does not answer it): its
 * status once answered, or 'waiting' after `ms`.
 */
async function longPoll(headers: Record<string, string>, ms = 400, hold = false): Promise<number | 'waiting'> {
  const controller = new AbortController();
  const answer = fetch(`${U.url}/tuf/feed?after=999999999&wait=60`, { headers, signal: controller.signal }).then(
    async (r) => (await r.body?.cancel(), r.status),
    () => 0,
  );
  const status = await Promise.race([answer, new Promise<'waiting'>((r) => setTimeout(() => r('waiting'), ms))]);
  if (status === 'waiting' && hold) holders.push(controller);
  else controller.abort();
  return status;
}

/** U's count of answered feed requests (keyshare_http_requests_total, every status). */
async function feedRequests(): Promise<number> {
  const text = await (await fetch(`${U.url}/metrics`)).text();
  return [...text.matchAll(/^keyshare_http_requests_total\{[^}]*route="\/tuf\/feed"[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
}

describe('when clients without a token hold every anonymous long-poll slot', () => {
  it('caps each address, keeps the reserved slots for a token, and answers the rest 429 with Retry-After', async () => {
    const from = (n: number) => ({ 'x-forwarded-for': `198.51.100.${n}` });
    expect(await longPoll(from(1), 400, true)).toBe('waiting');
    expect(await longPoll(from(1), 400, true)).toBe('waiting');
    expect(await longPoll(from(1))).toBe(429); // its per-address share
    for (const n of [2, 2, 3, 3, 4, 4]) expect(await longPoll(from(n), 400, true)).toBe('waiting');
    // Eight anonymous slots held: the ninth, from a fresh address, is refused at once.
    const res = await fetch(`${U.url}/tuf/feed?after=${await timestampVersion(U)}&wait=60`, { headers: from(5) });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(await res.json()).toMatchObject({ code: 'RATE_LIMITED', timestampVersion: expect.any(Number) });
    // A follower with a token (any role) still gets a slot.
    const reader = (await U.api('POST', '/tokens', { role: 'reader' })).body.token as string;
    expect(await longPoll({ ...from(5), authorization: `Bearer ${reader}` })).toBe('waiting');
    expect(await longPoll({ ...from(5), authorization: 'Bearer ks_not_a_token' })).toBe(429);
  });

  it('a downstream makes at most 2 feed requests a second and still sees a revocation within its poll interval', async () => {
    const root = readFileSync(join(U.dataDir, 'root.json'), 'utf8');
    const added = await D.api('POST', '/upstreams', { name: 'u', url: U.url, root });
    expect(added.status, JSON.stringify(added.body)).toBe(201);
    const start = Date.now();
    const before = await feedRequests();

    const revoked = await U.api('POST', '/revocations', { kind: 'key', id: anchorId, reason: 'keyCompromise' });
    expect(revoked.status, JSON.stringify(revoked.body)).toBe(201);
    const revokedAt = Date.now();
    const target = await eventually(() => timestampVersion(U), (v) => v > added.body.upstream.version);
    const seen = await eventually(
      async () => (await D.api('GET', '/upstreams/u')).body.upstream.version as number,
      (v) => v >= target,
      POLL_MS * 1.2 + 5_000,
    );
    expect(seen).toBeGreaterThanOrEqual(target);
    // The poll interval with its jitter, plus a sync's time on a busy machine.
    expect(Date.now() - revokedAt).toBeLessThan(POLL_MS * 1.2 + 4_000);

    await new Promise((r) => setTimeout(r, 2_000));
    const seconds = (Date.now() - start) / 1000;
    const requests = (await feedRequests()) - before;
    expect(requests / seconds, `${requests} feed requests in ${seconds.toFixed(1)} s`).toBeLessThanOrEqual(2);
  });
});
