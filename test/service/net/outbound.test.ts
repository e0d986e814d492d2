/**
 * Issue 16, finding 9: `upstream add` and `crl add --url` (and their refreshers) fetch only from
 * public addresses, after DNS resolution and on every redirect, unless the service runs with
 * --allow-private-upstreams; a failure to connect has one text whatever its cause.
 *
 * Everything here is on 127.0.0.1. "A public host" is simulated by a test-only policy that
 * allows one loopback port, so that a redirect from it to another loopback port can be refused
 * for real; resolutions of other names use a resolver stub and send nothing.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFixture, readFixtureText } from '../../../fixtures/index.js';
import { fetchCrl } from '../../../service/crl/refresh.js';
import { openInstance, type Instance } from '../../../service/instance.js';
import { ANY_ADDRESS, PUBLIC_ONLY, checkUrlAddress, isPrivateAddress, type AddressPolicy, type Resolve } from '../../../service/net/outbound.js';
import { loadConfig } from '../../../service/config.js';
import { UpstreamManager } from '../../../service/federation/upstream/manager.js';
import { federationClient } from '../../support/federation.js';
import { appApi, cleanupTempDirs, newDataDir, tempDir } from '../../support/service.js';

const CRL = readFixture('crls/intermediate-ca.crl');

/** A loopback server counting its requests; `redirectTo` makes it answer 302 to that base URL. */
function countingServer(redirectTo?: () => string): Promise<{ server: Server; base: string; port: number; hits: () => number }> {
  let hits = 0;
  const server = createServer((req, res) => {
    hits++;
    if (redirectTo) res.writeHead(302, { location: `${redirectTo()}${req.url}` }).end();
    else res.writeHead(200, { 'content-type': 'application/pkix-crl', 'content-length': String(CRL.length) }).end(CRL);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as AddressInfo).port;
      resolve({ server, base: `http://127.0.0.1:${port}`, port, hits: () => hits });
    }),
  );
}

let target: Awaited<ReturnType<typeof countingServer>>;
let redirector: Awaited<ReturnType<typeof countingServer>>;
let instance: Instance;
let upstreamRoot: string;
/** The test's stand-in for "a public host": only the redirector's port. */
let onlyRedirector: AddressPolicy;

beforeAll(async () => {
  target = await countingServer();
  redirector = await countingServer(() => target.base);
  onlyRedirector = (_address, url) => url.port === String(redirector.port);
  const { dataDir } = await newDataDir({ binBits: 4 });
  instance = await openInstance({ dataDir }); // the default policy: public addresses only
  // The CRL's CA, so that a fetched CRL is accepted.
  await instance.service.createScope({ scope: 'acme.io' });
  for (const ca of ['root-ca', 'intermediate-ca']) await instance.service.addAnchor('acme.io', { certificate: readFixtureText(`certs/${ca}.pem`) });
  upstreamRoot = readFileSync(join((await newDataDir({ binBits: 4 })).dataDir, 'root.json'), 'utf8');
});
afterAll(async () => {
  for (const s of [target, redirector]) {
    s?.server.closeAllConnections();
    await new Promise((r) => s?.server.close(r));
  }
  await instance?.close();
  cleanupTempDirs();
});

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
  return 'no error';
}

describe('the address check', () => {
  it('refuses loopback, link-local, private and special addresses, IPv4-mapped ones too', () => {
    for (const a of ['127.0.0.1', '127.9.9.9', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '224.0.0.1', '255.255.255.255', '::1', '::', 'fe80::1', 'fd00::1', 'fc00::5', '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:a9fe:a9fe', 'not-an-address']) {
      expect(isPrivateAddress(a), a).toBe(true);
    }
    for (const a of ['93.184.216.34', '8.8.8.8', '172.32.0.1', '2606:4700::1111', '::ffff:8.8.8.8']) expect(isPrivateAddress(a), a).toBe(false);
  });

  it('checks every address a name resolves to (resolver stub: nothing is sent)', async () => {
    const stub = (map: Record<string, string[]>): Resolve => async (host) => (map[host] ?? []).map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    const resolve = stub({ 'pki.example': ['93.184.216.34'], 'inside.example': ['10.0.0.5'], 'mixed.example': ['93.184.216.34', '127.0.0.1'], 'v6.example': ['fd12::1'] });
    await expect(checkUrlAddress(new URL('http://pki.example/ca.crl'), PUBLIC_ONLY, resolve)).resolves.toBeUndefined();
    for (const host of ['inside.example', 'mixed.example', 'v6.example']) {
      expect(await codeOf(checkUrlAddress(new URL(`https://${host}/x`), PUBLIC_ONLY, resolve)), host).toBe('ADDRESS_NOT_ALLOWED');
    }
    expect(await codeOf(checkUrlAddress(new URL('http://[::1]:8080/'), PUBLIC_ONLY, resolve))).toBe('ADDRESS_NOT_ALLOWED');
    await expect(checkUrlAddress(new URL('http://inside.example/'), ANY_ADDRESS, resolve)).resolves.toBeUndefined();
  });
});

describe('a CRL fetch', () => {
  it('is refused by default for a loopback address or a name resolving to one, before any request', async () => {
    const before = target.hits();
    expect(await codeOf(fetchCrl(`${target.base}/ca.crl`))).toBe('ADDRESS_NOT_ALLOWED');
    expect(await codeOf(fetchCrl(`http://localhost:${target.port}/ca.crl`))).toBe('ADDRESS_NOT_ALLOWED');
    expect(target.hits()).toBe(before);
  });

  it('is allowed with --allow-private-upstreams', async () => {
    expect(Buffer.from(await fetchCrl(`${target.base}/ca.crl`, { outbound: ANY_ADDRESS })).equals(CRL)).toBe(true);
  });

  it('refuses a redirect from an allowed host to 127.0.0.1', async () => {
    const [r, t] = [redirector.hits(), target.hits()];
    expect(await codeOf(fetchCrl(`${target.base}/ca.crl`, { outbound: onlyRedirector }))).toBe('ADDRESS_NOT_ALLOWED');
    // The allowed host is fetched...
    const e = await fetchCrl(`${redirector.base}/ca.crl`, { outbound: onlyRedirector }).catch((x: Error & { code: string }) => x);
    expect((e as { code: string }).code).toBe('ADDRESS_NOT_ALLOWED');
    expect((e as Error).message).toContain(`127.0.0.1:${target.port}`);
    // ...and answered with the redirect, which is never followed.
    expect(redirector.hits()).toBe(r + 1);
    expect(target.hits()).toBe(t);
  });

  it('says the same thing for a closed port and a server that does not answer (no port-scanner oracle)', async () => {
    const closed = await countingServer();
    await new Promise((r) => closed.server.close(r));
    const silent = createServer(() => {}); // accepts, never answers
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    try {
      const messageOf = (url: string) => fetchCrl(url, { outbound: ANY_ADDRESS, timeoutMs: 300 }).then(() => 'fetched', (e: Error & { code: string }) => `${e.code}: ${e.message.replace(url, 'URL')}`);
      const refused = await messageOf(`${closed.base}/ca.crl`);
      const timedOut = await messageOf(`http://127.0.0.1:${(silent.address() as AddressInfo).port}/ca.crl`);
      expect(refused).toBe('CRL_FETCH_FAILED: cannot fetch the CRL from URL: no answer (the connection failed or timed out)');
      expect(timedOut).toBe(refused);
    } finally {
      silent.closeAllConnections();
      await new Promise((r) => silent.close(r));
    }
  });
});

describe('the admin API', () => {
  const api: ReturnType<typeof appApi>['api'] = (...a) => appApi(instance, readFileSync(join(instance.dataDir, 'admin.token'), 'utf8').trim()).api(...a);

  it('refuses `crl add --url` and `upstream add` to a loopback URL by default, and stores nothing', async () => {
    instance.outbound = PUBLIC_ONLY;
    const crl = await api('POST', '/crls', { url: `${target.base}/ca.crl` });
    expect([crl.status, crl.body.code]).toEqual([400, 'ADDRESS_NOT_ALLOWED']);
    const up = await api('POST', '/upstreams', { name: 'hq', url: target.base, root: upstreamRoot });
    expect([up.status, up.body.code]).toEqual([400, 'ADDRESS_NOT_ALLOWED']);
    expect((await api('GET', '/upstreams')).body.upstreams).toEqual([]);
  });

  it('refuses an upstream whose allowed host redirects to 127.0.0.1: every request of a sync is checked', async () => {
    instance.outbound = onlyRedirector;
    const t = target.hits();
    const upstreams = new UpstreamManager(instance, federationClient);
    const r = await upstreams.add({ name: 'redirected', url: redirector.base, root: upstreamRoot });
    expect(r.sync.ok).toBe(false);
    expect(r.sync.error?.code).toBe('ADDRESS_NOT_ALLOWED');
    expect(target.hits()).toBe(t);
    await upstreams.remove('redirected');
  });

  it('fetches a CRL URL on 127.0.0.1 with --allow-private-upstreams', async () => {
    instance.outbound = ANY_ADDRESS;
    const crl = await api('POST', '/crls', { url: `${target.base}/ca.crl` });
    expect([crl.status, crl.body.code]).toEqual([201, undefined]);
  });
});

describe('--allow-private-upstreams', () => {
  const cwd = tempDir();
  it('is off by default, and set by the flag, KEYSHARE_ALLOW_PRIVATE_UPSTREAMS or keyshare.yaml', async () => {
    const { writeFileSync } = await import('node:fs');
    expect(loadConfig({ flags: {}, env: {}, cwd }).allowPrivateUpstreams).toBe(false);
    expect(loadConfig({ flags: { allowPrivateUpstreams: true }, env: {}, cwd }).allowPrivateUpstreams).toBe(true);
    expect(loadConfig({ flags: {}, env: { KEYSHARE_ALLOW_PRIVATE_UPSTREAMS: '1' }, cwd }).allowPrivateUpstreams).toBe(true);
    const file = join(cwd, 'k.yaml');
    writeFileSync(file, 'allow-private-upstreams: true\n', { mode: 0o600 });
    expect(loadConfig({ flags: { config: file }, env: {}, cwd }).allowPrivateUpstreams).toBe(true);
    expect(() => loadConfig({ flags: {}, env: { KEYSHARE_ALLOW_PRIVATE_UPSTREAMS: 'maybe' }, cwd })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });
});
