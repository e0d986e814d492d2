/**
 * A real `keyshare fetch --format notation` from a running service, checked against notation's
 * published rules (trust-store-trust-policy.md) by the independent validator.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFixtureText } from '../../../fixtures/index.js';
import type { OutputFile } from '../../../sync/formats/index.js';
import { nonRegularEntries, notationViolations } from '../formats/notation-rules.js';
import { cleanupTempDirs, scopePath, startTestService, tempDir, type TestService } from '../../support/service.js';
import { runCli, treeSnapshot } from './support.js';
import { MANIFEST } from '../../../sync/client/index.js';

const SIGNER = 'x509.subject: CN=Keyshare Test Signer, O=Keyshare Fixtures, ST=WA, C=US';
let svc: TestService;

async function ok(method: string, path: string, body?: unknown): Promise<void> {
  const r = await svc.api(method, path, body);
  expect(r.status, JSON.stringify(r.body)).toBeLessThan(300);
}

/** The files under `dir`, as the validator takes them: notation's, without fetch's own manifest (notation ignores it). */
function readTree(dir: string): OutputFile[] {
  return Object.entries(treeSnapshot(dir))
    .filter(([path, kind]) => kind !== 'dir' && path !== MANIFEST)
    .map(([path]) => ({ path: path.split('\\').join('/'), content: readFileSync(join(dir, path), 'utf8') }));
}

beforeAll(async () => {
  svc = await startTestService();
  await ok('POST', '/scopes', { scope: '*' });
  await ok('POST', `${scopePath('*')}/anchors`, { certificate: readFixtureText('certs/root-ca.pem'), name: 'acme-root' });
  await ok('POST', '/scopes', { scope: 'registry.acme.io' });
  await ok('POST', `${scopePath('registry.acme.io')}/anchors`, { certificate: readFixtureText('certs/tsa-ca.pem'), type: 'tsa', name: 'acme-tsa' });
  await ok('POST', '/scopes', { scope: 'registry.acme.io/team-a', level: 'permissive' });
  await ok('POST', `${scopePath('registry.acme.io/team-a')}/anchors`, {
    certificate: readFixtureText('certs/intermediate-ca.pem'),
    type: 'signingAuthority',
    name: 'team-a sa',
    trustedIdentities: [SIGNER],
  });
  await ok('POST', `${scopePath('registry.acme.io/team-a')}/anchors`, { publicKey: readFixtureText('keys/ec-p256.pub.pem'), name: 'cosign' });
});

afterAll(async () => {
  await svc?.close();
  cleanupTempDirs();
});

describe('when notation output is fetched for two repositories', () => {
  let out: string;
  let stderr: string;

  beforeAll(async () => {
    out = join(tempDir('keyshare-out-'), 'notation');
    const r = await runCli([
      'fetch', '--server', svc.url, '--root', join(svc.dataDir, 'root.json'), '--out', out, '--format', 'notation',
      '--cache', tempDir('keyshare-cache-'), '--repository', 'registry.acme.io/team-a/app', '--repository', 'registry.acme.io/web/site',
    ]);
    expect(r.code, r.stderr).toBe(0);
    stderr = r.stderr;
  });

  it('follows notation rules: store layout and names, version 1.0, scopes, stores, identities', () => {
    expect(notationViolations(readTree(out))).toEqual([]);
  });

  it('writes regular files and directories only (no symlinks)', () => {
    expect(nonRegularEntries(out)).toEqual([]);
  });

  it('writes trustpolicy.json and trustpolicy.oci.json alike, with one exact policy per repository and a * policy', () => {
    const policy = readFileSync(join(out, 'trustpolicy.json'), 'utf8');
    expect(readFileSync(join(out, 'trustpolicy.oci.json'), 'utf8')).toBe(policy);
    const doc = JSON.parse(policy);
    expect(doc.version).toBe('1.0');
    const byScope = Object.fromEntries(doc.trustPolicies.flatMap((p: any) => p.registryScopes.map((s: string) => [s, p])));
    expect(Object.keys(byScope).sort()).toEqual(['*', 'registry.acme.io/team-a/app', 'registry.acme.io/web/site']);
    // team-a: its own level and identities, its signingAuthority store plus the inherited ca store.
    expect(byScope['registry.acme.io/team-a/app'].signatureVerification.level).toBe('permissive');
    expect(byScope['registry.acme.io/team-a/app'].trustedIdentities).toEqual(['*']);
    expect(byScope['registry.acme.io/team-a/app'].trustStores).toEqual(
      expect.arrayContaining(['ca:registry.acme.io_team-a', 'signingAuthority:registry.acme.io_team-a']),
    );
    expect(byScope['registry.acme.io/web/site'].signatureVerification.level).toBe('strict');
    expect(byScope['registry.acme.io/web/site'].trustStores).toEqual(expect.arrayContaining(['ca:registry.acme.io', 'tsa:registry.acme.io']));
  });

  it('says on stderr what notation cannot use', () => {
    expect(stderr).toMatch(/^keyshare: warning: not enforced by --format notation: anchor sha256:[0-9a-f]{64} \(scope registry\.acme\.io\/team-a\): notation cannot carry publicKey anchor "cosign"/m);
  });
});
