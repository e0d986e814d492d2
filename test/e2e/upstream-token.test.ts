/**
 * Issue 16, finding 3: an upstream keeps change-feed slots for requests with a token, so a
 * downstream that sends none is starved when anonymous clients hold every other slot. A token
 * given at `upstream add` is sent, as `Authorization: Bearer`, on the follower's feed long-poll
 * and its repository fetches, to that upstream only (service/federation/upstream/token.ts), and never shown.
 *
 * U's feed has 6 slots, 2 reserved for tokens. Anonymous clients (forwarded addresses, U trusts
 * X-Forwarded-For from 127.0.0.1) hold the other 4. D follows U through a recording relay on
 * loopback, with a reader token of U, and polls only every 120 s: a revocation at U reaches D
 * within seconds only through a reserved feed slot.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { packageRoot } from '../../service/util/paths.js';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFixtureText } from '../../fixtures/index.js';
import { TrustedProxies } from '../../service/http/client.js';
import { cleanupTempDirs, eventually, startTestService, type TestService } from '../support/service.js';

let U: TestService;
let D: TestService;
let relay: Server;
let relayUrl: string;
/** What the relay saw: each request's path and Authorization header. */
const seen: { path: string; authorization: string | undefined }[] = [];
const holders: AbortController[] = [];
let anchorId: string;
let readerToken: string;

beforeAll(async () => {
  [U, D] = await Promise.all([
    startTestService({ init: { binBits: 4 }, server: { trustedProxies: TrustedProxies.parse(['127.0.0.1']), feedLimits: { maxWaiters: 6, reserved: 2, perAddress: 1 } } }),
    startTestService({ init: { binBits: 4 }, server: { upstreams: { pollMs: 120_000 } } }),
  ]);
  const target = new URL(U.url);
  relay = createServer((req, res) => {
    seen.push({ path: req.url ?? '', authorization: req.headers.authorization });
    const out = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    out.on('error', () => res.destroy());
    res.on('close', () => out.destroy());
    req.pipe(out);
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
  relayUrl = `http://127.0.0.1:${(relay.address() as AddressInfo).port}`;

  expect((await U.api('POST', '/scopes', { scope: 'registry.acme.io' })).status).toBe(201);
  const anchor = await U.api('POST', '/scopes/registry.acme.io/anchors', { publicKey: readFixtureText('keys/ed25519.pub.pem'), name: 'ed' });
  expect(anchor.status).toBe(201);
  anchorId = anchor.body.anchor.id;
  readerToken = (await U.api('POST', '/tokens', { role: 'reader' })).body.token as string;
});
afterAll(async () => {
  for (const h of holders) h.abort();
  relay?.closeAllConnections();
  relay?.close();
  await Promise.all([U?.close(), D?.close()]);
  cleanupTempDirs();
});

/** Holds an anonymous long-poll from a forwarded address; its status if answered within 400 ms, else 'waiting'. */
async function hold(address: string): Promise<number | 'waiting'> {
  const controller = new AbortController();
  const answer = fetch(`${U.url}/tuf/feed?after=999999999&wait=60`, { headers: { 'x-forwarded-for': address }, signal: controller.signal }).then(
    async (r) => (await r.body?.cancel(), r.status),
    () => 0,
  );
  const status = await Promise.race([answer, new Promise<'waiting'>((r) => setTimeout(() => r('waiting'), 400))]);
  if (status === 'waiting') holders.push(controller);
  else controller.abort();
  return status;
}

/** U's count of feed requests answered 429. */
async function feedRefusals(): Promise<number> {
  const text = await (await fetch(`${U.url}/metrics`)).text();
  return [...text.matchAll(/^keyshare_http_requests_total\{[^}]*route="\/tuf\/feed"[^}]*status="429"[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
}

describe('when a downstream follows an upstream with a token while anonymous clients hold every anonymous feed slot', () => {
  it('the downstream gets a reserved slot and sees a revocation within seconds, not at its next poll', async () => {
    for (const n of [1, 2, 3, 4]) expect(await hold(`198.51.100.${n}`)).toBe('waiting');
    expect(await hold('198.51.100.5')).toBe(429); // every anonymous slot is held

    const root = readFileSync(join(U.dataDir, 'root.json'), 'utf8');
    const added = await D.api('POST', '/upstreams', { name: 'u', url: relayUrl, root, token: `${readerToken}\n` });
    expect(added.status, JSON.stringify(added.body)).toBe(201);
    expect(added.body.sync.ok, JSON.stringify(added.body.sync)).toBe(true);
    expect(added.body.upstream.authenticated).toBe(true);
    // Its first poll after add (within 2 s), then only every 120 s.
    await new Promise((r) => setTimeout(r, 3_000));
    const refusalsBefore = await feedRefusals();

    const revoked = await U.api('POST', '/revocations', { kind: 'key', id: anchorId, reason: 'keyCompromise' });
    expect(revoked.status, JSON.stringify(revoked.body)).toBe(201);
    const target = await eventually(
      async () => U.instance.publisher.latestMetadata('timestamp')?.version ?? 0,
      (v) => v > added.body.upstream.version,
    );
    const version = await eventually(async () => (await D.api('GET', '/upstreams/u')).body.upstream.version as number, (v) => v >= target, 15_000);
    expect(version).toBeGreaterThanOrEqual(target);
    // None of the downstream's feed requests was refused: it held a reserved slot.
    expect(await feedRefusals()).toBe(refusalsBefore);

    // The feed and the repository were asked with the token; the relay saw nothing without it.
    const feed = seen.filter((s) => s.path.startsWith('/tuf/feed'));
    const repository = seen.filter((s) => !s.path.startsWith('/tuf/feed'));
    expect(feed.length).toBeGreaterThan(0);
    expect(repository.some((s) => s.path.endsWith('timestamp.json'))).toBe(true);
    for (const s of seen) expect(s.authorization, s.path).toBe(`Bearer ${readerToken}`);
  });

  it('the token is never shown: not by the API, not in the audit log', async () => {
    const answers = JSON.stringify([(await D.api('GET', '/upstreams')).body, (await D.api('GET', '/upstreams/u')).body]);
    expect(answers).toContain('"authenticated":true');
    expect(answers).not.toContain(readerToken);
    const audit = await D.instance.audit.list({ limit: 1000 });
    expect(JSON.stringify(audit)).toContain('upstream.add');
    expect(JSON.stringify(audit)).not.toContain(readerToken);
  });

  it('`keyshare upstream add --token-file` (the built CLI) stores it, and neither it nor `upstream ls` prints it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyshare-upstream-token-'));
    writeFileSync(join(dir, 'root.json'), readFileSync(join(U.dataDir, 'root.json')));
    writeFileSync(join(dir, 'u.token'), `${readerToken}\n`, { mode: 0o600 });
    const cli = (args: string[]) =>
      new Promise<{ code: number; out: string }>((done) =>
        execFile(process.execPath, [join(packageRoot(), 'bin/keyshare.js'), ...args, '--server', D.url, '--token', D.token, '--json'], { timeout: 60_000 }, (e, stdout, stderr) =>
          done({ code: e ? Number(e.code ?? 1) : 0, out: stdout + stderr }),
        ),
      );
    const added = await cli(['upstream', 'add', 'viacli', '--url', relayUrl, '--root', join(dir, 'root.json'), '--token-file', join(dir, 'u.token')]);
    expect(added.code, added.out).toBe(0);
    expect(JSON.parse(added.out).upstream.authenticated).toBe(true);
    const listed = await cli(['upstream', 'ls']);
    expect(listed.code, listed.out).toBe(0);
    expect(`${added.out}${listed.out}`).not.toContain(readerToken);
    expect((await D.instance.store.getUpstream('viacli'))?.token).toBe(readerToken);
    rmSync(dir, { recursive: true, force: true });
  });

  it('a token with a line break or control characters is refused (it could split a header)', async () => {
    const root = readFileSync(join(U.dataDir, 'root.json'), 'utf8');
    const bad = await D.api('POST', '/upstreams', { name: 'bad', url: relayUrl, root, token: 'ks_a\r\nx-injected: 1' });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('UPSTREAM_INVALID');
  });
});
