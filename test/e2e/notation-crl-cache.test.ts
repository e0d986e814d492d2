/**
 * `keyshare fetch --format notation --notation-crl-cache DIR` through the real CLI against a
 * running service (issue 4): notation's CRL cache gets the CRL of each CA anchor under every
 * URL a certificate may name, in the format notation-go v1.3.0 reads
 * (test/support/notation-crl-cache.ts), holding exactly the DER the service serves, which
 * `openssl crl` parses.
 */
import { requireTool } from '../support/system-tools.js';
import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCertificate } from '../../service/crypto/index.js';
import { trustTargetPath } from '../../service/domain/scope.js';
import { runCli, errorCode } from '../sync/client/support.js';
import { CRL_CA_PEM, mintCrl } from '../support/crl-mint.js';
import { NOTATION_CRL_CACHE_FORMAT } from '../support/notation-crl-cache.js';
import { TufClient, cleanupTempDirs, scopePath, startTestService, tempDir, type TestService } from '../support/service.js';

// Never skipped: a missing openssl fails the file (test/support/system-tools.ts).
const HAVE_OPENSSL = requireTool('openssl') !== '';
const SCOPE = 'registry.acme.io';
const PUBLIC_BASE = 'https://keyshare.acme.io';
const ca = parseCertificate(CRL_CA_PEM());
const hex = ca.id.slice('sha256:'.length);

let svc: TestService;
let pki: Server;
/** What the CA's own CRL URL serves. */
let published: Buffer;
let caUrl: string;
let cache: string;
let client: TufClient;

/** The URLs a certificate of the CA may name, and so the cache must answer for. */
const urls = () => [`${svc.url}/crl/${hex}.crl`, `${PUBLIC_BASE}/crl/${hex}.crl`, caUrl];

const fetchNotation = (crlCache: string | null, ...extra: string[]) =>
  runCli([
    'fetch', '--server', svc.url, '--root', join(svc.dataDir, 'root.json'), '--out', join(tempDir('keyshare-out-'), 'notation'),
    '--format', 'notation', '--repository', `${SCOPE}/app`, '--cache', cache,
    ...(crlCache ? ['--notation-crl-cache', crlCache, '--crl-url-base', PUBLIC_BASE] : []), ...extra,
  ]);

/** Each entry of `{root}/crl`, by file name, decoded as notation decodes it. */
function entries(root: string): Map<string, Buffer> {
  const dir = join(root, NOTATION_CRL_CACHE_FORMAT.subdir);
  return new Map(readdirSync(dir).map((name) => {
    expect(lstatSync(join(dir, name)).isFile(), name).toBe(true);
    return [name, NOTATION_CRL_CACHE_FORMAT.baseCrl(readFileSync(join(dir, name), 'utf8'))];
  }));
}

/** The trust document once it lists the CA's CRL as `want` says (publication is asynchronous). */
async function untilPublished(want: (crl: { issuer: string; urls?: string[] } | undefined) => boolean): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const doc = await client.readJson(trustTargetPath(SCOPE));
    if (want(doc?.crls?.find((c: { issuer: string }) => c.issuer === ca.id))) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the trust document did not change within 10 s');
}

async function servedCrl(): Promise<Buffer> {
  const res = await fetch(`${svc.url}/crl/${hex}.crl`);
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

beforeAll(async () => {
  pki = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/pkix-crl', 'content-length': String(published.length) });
    res.end(published);
  });
  await new Promise<void>((r) => pki.listen(0, '127.0.0.1', () => r()));
  caUrl = `http://127.0.0.1:${(pki.address() as AddressInfo).port}/acme-intermediate.crl`;
  svc = await startTestService();
  client = TufClient.pinnedTo(svc.url, svc.dataDir);
  cache = tempDir('keyshare-cache-');
  expect((await svc.api('POST', '/scopes', { scope: SCOPE })).status).toBe(201);
  expect((await svc.api('POST', `${scopePath(SCOPE)}/anchors`, { certificate: CRL_CA_PEM() })).status).toBe(201);
  // The CRL first by file, then the CA's URL serving the same CRL: only the URL is recorded,
  // and the trust documents must list it all the same.
  published = await mintCrl(100);
  expect((await svc.api('POST', '/crls', { crl: published.toString('base64'), encoding: 'base64' })).status).toBe(201);
  const r = await svc.api('POST', '/crls', { url: caUrl, issuer: ca.id });
  expect(r.status, JSON.stringify(r.body)).toBeLessThan(300);
  await untilPublished((c) => c?.urls?.[0] === caUrl);
});

afterAll(async () => {
  await svc?.close();
  pki?.closeAllConnections();
  await new Promise<void>((r) => (pki ? pki.close(() => r()) : r()));
  cleanupTempDirs();
});

describe('when fetch --format notation seeds the notation CRL cache', () => {
  let root: string;

  beforeAll(() => {
    root = join(tempDir('keyshare-notation-cache-'), 'notation');
  });

  it('writes one entry per URL, named as notation names it, holding the served DER', async () => {
    const r = await fetchNotation(root, '--json');
    expect(r.code, r.stderr).toBe(0);
    const got = entries(root);
    expect([...got.keys()].sort()).toEqual(urls().map(NOTATION_CRL_CACHE_FORMAT.fileName).sort());
    const served = await servedCrl();
    for (const der of got.values()) expect(der.equals(served)).toBe(true);
    expect(served.equals(published)).toBe(true);
    const report = JSON.parse(r.stdout).notationCrlCache;
    expect(report.dir).toBe(join(root, 'crl'));
    expect(report.entries.map((e: { url: string; action: string }) => [e.url, e.action]).sort()).toEqual(urls().map((u) => [u, 'written']).sort());
  });

  it.skipIf(!HAVE_OPENSSL && !process.env.CI)('writes CRLs that openssl crl parses', () => {
    const dir = tempDir('keyshare-openssl-');
    for (const [name, der] of entries(root)) {
      writeFileSync(join(dir, name), der);
      const o = spawnSync('openssl', ['crl', '-inform', 'DER', '-in', join(dir, name), '-noout', '-crlnumber'], { encoding: 'utf8' });
      expect(o.status, o.stderr).toBe(0);
      expect(o.stdout).toMatch(/crlNumber=0x64/);
    }
  });

  it('replaces the entries with a newer CRL after the CA publishes one', async () => {
    published = await mintCrl(101);
    expect((await svc.api('POST', '/crls', { url: caUrl, issuer: ca.id })).status).toBeLessThan(300);
    const newer = published;
    for (let i = 0; i < 50 && !(await servedCrl()).equals(newer); i++) await new Promise((r) => setTimeout(r, 100));
    // The TUF target follows the served file; fetch until the cache has it (bounded).
    for (let i = 0; i < 10; i++) {
      const r = await fetchNotation(root);
      expect(r.code, r.stderr).toBe(0);
      if ([...entries(root).values()].every((der) => der.equals(newer))) return;
    }
    throw new Error('the cache never got the newer CRL');
  });

  it('keeps an entry that holds a newer CRL than the one fetched', async () => {
    const file = join(root, 'crl', NOTATION_CRL_CACHE_FORMAT.fileName(caUrl));
    // notation downloaded a newer CRL from the CA than keyshare has yet.
    const fromCa = await mintCrl(150);
    writeFileSync(file, JSON.stringify({ baseCRL: fromCa.toString('base64') }));
    const r = await fetchNotation(root, '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(NOTATION_CRL_CACHE_FORMAT.baseCrl(readFileSync(file, 'utf8')).equals(fromCa)).toBe(true);
    const actions = Object.fromEntries(JSON.parse(r.stdout).notationCrlCache.entries.map((e: { url: string; action: string }) => [e.url, e.action]));
    expect(actions[caUrl]).toBe('kept-newer');
    expect(actions[`${svc.url}/crl/${hex}.crl`]).toBe('unchanged');
  });

  it('seeds the cache offline, from the fetch cache alone', async () => {
    const offline = join(tempDir('keyshare-notation-offline-'), 'notation');
    await svc.close();
    const r = await fetchNotation(offline, '--offline');
    expect(r.code, r.stderr).toBe(0);
    const got = entries(offline);
    expect([...got.keys()].sort()).toEqual(urls().map(NOTATION_CRL_CACHE_FORMAT.fileName).sort());
    for (const der of got.values()) expect(der.equals(published)).toBe(true);
  });
});

describe('when the option is not given, or misused', () => {
  it('writes nothing into any notation cache without --notation-crl-cache', async () => {
    const xdg = tempDir('keyshare-xdg-');
    // The same selection as the online fetches that filled the cache (--repository): offline
    // reads only what they cached. Every scope would need index.json, which they never read.
    const r = await runCli(['fetch', '--server', svc.url, '--root', join(svc.dataDir, 'root.json'), '--out', join(tempDir('keyshare-out-'), 'n'), '--format', 'notation', '--repository', `${SCOPE}/app`, '--cache', cache, '--offline', '--json'], { env: { XDG_CACHE_HOME: xdg } });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).not.toHaveProperty('notationCrlCache');
    expect(existsSync(join(xdg, 'notation'))).toBe(false);
  });

  it('is a usage error with another format, or --crl-url-base alone', async () => {
    const base = ['fetch', '--server', svc.url, '--root', join(svc.dataDir, 'root.json'), '--out', join(tempDir(), 'o'), '--cache', cache, '--offline'];
    expect((await runCli([...base, '--format', 'pem', '--notation-crl-cache', tempDir()])).code).toBe(2);
    expect((await runCli([...base, '--format', 'notation', '--crl-url-base', PUBLIC_BASE])).code).toBe(2);
  });

  it('refuses a CRL cache dir that is a symlink, before writing anything', async () => {
    const root = tempDir('keyshare-notation-link-');
    mkdirSync(join(root, 'elsewhere'));
    symlinkSync(join(root, 'elsewhere'), join(root, 'crl'));
    const r = await fetchNotation(root, '--offline');
    expect(errorCode(r)).toBe('CRL_CACHE_INVALID');
    expect(r.code).toBe(1);
    expect(readdirSync(join(root, 'elsewhere'))).toEqual([]);
    rmSync(join(root, 'crl'));
  });
});
