/**
 * Issue 15 through the real CLI against a running service: fetch replaces only what it wrote
 * (containers with --lookaside, a user's file stops the refresh), and says what a format
 * cannot enforce (warnings, --json unenforced, --strict UNENFORCEABLE writing nothing).
 */
import { X509Certificate, createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { readFixture, readFixtureText } from '../../../fixtures/index.js';
import { cleanupTempDirs, scopePath, startTestService, tempDir, type TestService } from '../../support/service.js';
import { errorCode, runCli, treeSnapshot } from './support.js';

let svc: TestService;
const INTERMEDIATE = `sha256:${createHash('sha256').update(new X509Certificate(readFixtureText('certs/intermediate-ca.pem')).raw).digest('hex')}`;

async function ok(method: string, path: string, body?: unknown): Promise<void> {
  const r = await svc.api(method, path, body);
  expect(r.status, JSON.stringify(r.body)).toBeLessThan(300);
}

const fetchArgs = (out: string, format: string, ...more: string[]) => [
  'fetch', '--server', svc.url, '--root', join(svc.dataDir, 'root.json'), '--out', out, '--format', format, '--cache', tempDir('keyshare-cache-'), ...more,
];

beforeAll(async () => {
  svc = await startTestService();
  // registry.acme.io trusts the intermediate CA, whose CRL lists 0dead0; team-b signs with OpenPGP.
  await ok('POST', '/scopes', { scope: 'registry.acme.io' });
  await ok('POST', `${scopePath('registry.acme.io')}/anchors`, { certificate: readFixtureText('certs/intermediate-ca.pem'), name: 'acme-intermediate' });
  await ok('POST', '/crls', { crl: readFixture('crls/intermediate-ca.crl').toString('base64'), encoding: 'base64' });
  await ok('POST', '/scopes', { scope: 'registry.acme.io/team-b', inherit: false });
  await ok('POST', `${scopePath('registry.acme.io/team-b')}/anchors`, { publicKey: readFixtureText('pgp/release.pub.asc'), name: 'release' });
  // Revoked below the CA: 0dead0 is on its CRL (enforced), 8badf00d (fixtures/certs/leaf.pem) is not.
  await ok('POST', '/revocations', { kind: 'certificate', issuer: INTERMEDIATE, serial: '0dead0', scope: 'registry.acme.io' });
  await ok('POST', '/revocations', { kind: 'certificate', issuer: INTERMEDIATE, serial: '8badf00d', scope: 'registry.acme.io' });
});

afterAll(async () => {
  await svc?.close();
  cleanupTempDirs();
});

describe('when the format cannot enforce a revocation', () => {
  it('warns once per item, and lists it in --json as unenforced', async () => {
    const out = join(tempDir(), 'notation');
    const r = await runCli(fetchArgs(out, 'notation', '--repository', 'registry.acme.io/team-a/app', '--json'));
    expect(r.code, r.stderr).toBe(0);
    const unenforced = JSON.parse(r.stdout).unenforced;
    // 8badf00d only: the CA's CRL carries 0dead0, which notation reads through it.
    expect(unenforced).toEqual([
      { scope: 'registry.acme.io', kind: 'certificate', id: `${INTERMEDIATE}/8badf00d`, reason: expect.stringContaining('does not list this serial') },
    ]);
    expect(r.stderr.match(/^keyshare: warning: not enforced by --format notation: /gm)).toHaveLength(1);
    expect(r.stderr).toContain(`certificate ${INTERMEDIATE}/8badf00d (scope registry.acme.io)`);
  });

  it('with --strict exits 1 with UNENFORCEABLE and writes nothing', async () => {
    const out = join(tempDir(), 'pem');
    const r = await runCli(fetchArgs(out, 'pem', '--scope', 'registry.acme.io', '--strict'));
    expect(r.code).toBe(1);
    expect(errorCode(r)).toBe('UNENFORCEABLE');
    expect(r.stderr).toMatch(/^keyshare: warning: not enforced by --format pem: certificate /m);
    expect(existsSync(out)).toBe(false);
  });

  it('with --strict and nothing unenforced, writes as usual', async () => {
    const out = join(tempDir(), 'containers');
    const r = await runCli(fetchArgs(out, 'containers', '--scope', 'registry.acme.io/team-b', '--strict', '--lookaside', 'https://sigs.acme.io'));
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(out, 'policy.json'))).toBe(true);
  });
});

describe('when containers output is refreshed', () => {
  let out: string;

  beforeAll(async () => {
    out = join(tempDir(), 'containers');
    const r = await runCli(fetchArgs(out, 'containers', '--scope', 'registry.acme.io/team-b', '--lookaside', 'https://sigs.acme.io', '--lookaside-staging', 'file:///var/lib/containers/sigstore'));
    expect(r.code, r.stderr).toBe(0);
  });

  it('writes the lookaside entries into registries.d itself', () => {
    expect(parseYaml(readFileSync(join(out, 'registries.d', 'keyshare.yaml'), 'utf8'))).toEqual({
      'default-docker': { lookaside: 'https://sigs.acme.io', 'lookaside-staging': 'file:///var/lib/containers/sigstore' },
    });
  });

  it("stops with OUT_INVALID naming a user's registries.d file, changing nothing, and refreshes once it is gone", async () => {
    const mine = join(out, 'registries.d', 'lookaside.yaml');
    writeFileSync(mine, 'docker:\n  registry.acme.io:\n    lookaside: https://sigs.acme.io\n');
    const before = treeSnapshot(out);
    const refused = await runCli(fetchArgs(out, 'containers', '--scope', 'registry.acme.io/team-b'));
    expect(errorCode(refused)).toBe('OUT_INVALID');
    expect(refused.stderr).toContain('registries.d/lookaside.yaml');
    expect(treeSnapshot(out)).toEqual(before);
    rmSync(mine);
    mkdirSync(join(out, 'keys', 'mine'));
    expect(errorCode(await runCli(fetchArgs(out, 'containers', '--scope', 'registry.acme.io/team-b')))).toBe('OUT_INVALID');
    rmSync(join(out, 'keys', 'mine'), { recursive: true });
    const again = await runCli(fetchArgs(out, 'containers', '--scope', 'registry.acme.io/team-b', '--lookaside', 'https://sigs.acme.io'));
    expect(again.code, again.stderr).toBe(0);
  });

  it('refuses --lookaside with another format, or a URL containers cannot use (exit 2)', async () => {
    expect((await runCli(fetchArgs(join(tempDir(), 'x'), 'pem', '--lookaside', 'https://sigs.acme.io'))).code).toBe(2);
    expect((await runCli(fetchArgs(join(tempDir(), 'x'), 'containers', '--lookaside', 'sigs.acme.io'))).code).toBe(2);
  });
});

describe('fetch --help', () => {
  it('has examples without runs of stray spaces, each continued line ending in a backslash', async () => {
    const r = await runCli(['fetch', '--help']);
    expect(r.code).toBe(0);
    const examples = r.stdout.slice(r.stdout.indexOf('Examples:'));
    expect(examples.split('\n').filter((line) => /\S {2,}\S/.test(line))).toEqual([]);
    expect(examples).toContain('--lookaside https://sigs.acme.io');
  });
});
