/**
 * `keyshare check`, `keyshare crl add` and `keyshare revoke` through the real CLI
 * (`node bin/keyshare.js`, the compiled dist/) against a running service.
 */
import { execFile } from 'node:child_process';
import { X509Certificate, createHash, createPublicKey } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixturePath, readFixtureText } from '../../fixtures/index.js';
import { packageRoot } from '../../service/util/paths.js';
import { cleanupTempDirs, scopePath, startTestService, tempDir, type TestService } from '../support/service.js';
import { mintCrl } from '../support/crl-mint.js';

const BIN = join(packageRoot(), 'bin', 'keyshare.js');
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const spkiId = (file: string) => `sha256:${sha256(createPublicKey(readFixtureText(file)).export({ type: 'spki', format: 'der' }))}`;
const COSIGN = spkiId('keys/ec-p256.pub.pem');
const OTHER = spkiId('keys/ec-p384.pub.pem');
const SIGNATURE = `sha256:${'5e'.repeat(32)}`;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let svc: TestService;
let dir: string;

function keyshare(args: string[]): Promise<Run> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KEYSHARE_')));
  return new Promise((done) =>
    execFile(process.execPath, [BIN, ...args], { cwd: dir, env, timeout: 30_000 }, (error, stdout, stderr) =>
      done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout: String(stdout), stderr: String(stderr) }),
    ),
  );
}
const admin = () => ['--server', svc.url, '--token', svc.token];
const check = (repository: string, ...args: string[]) =>
  keyshare(['check', repository, '--server', svc.url, '--root', join(svc.dataDir, 'root.json'), '--cache', join(dir, 'cache'), ...args]);

/** Exit 1 and one line `keyshare: CODE: message`. */
function expectFailure(run: Run, code: string): void {
  expect(run.stderr, run.stdout).toMatch(new RegExp(`^keyshare: ${code}: \\S.*\\n$`));
  expect(run.code).toBe(1);
}

beforeAll(async () => {
  expect(existsSync(join(packageRoot(), 'dist', 'cli', 'main.js')), 'dist/ is missing: run `npm run build`').toBe(true);
  dir = tempDir('keyshare-check-');
  svc = await startTestService();
  for (const scope of ['registry.acme.io', 'registry.acme.io/team-a', 'registry.acme.io/team-b']) {
    expect((await svc.api('POST', '/scopes', { scope })).status).toBe(201);
  }
  for (const cert of ['root-ca', 'intermediate-ca']) {
    expect((await svc.api('POST', `${scopePath('registry.acme.io')}/anchors`, { certificate: readFixtureText(`certs/${cert}.pem`) })).status).toBe(201);
  }
  expect((await svc.api('POST', `${scopePath('registry.acme.io/team-a')}/anchors`, { publicKey: readFixtureText('keys/ec-p256.pub.pem') })).status).toBe(201);
  writeFileSync(join(dir, 'leaf-chain.pem'), readFixtureText('certs/leaf.pem') + readFixtureText('certs/intermediate-ca.pem'));
  writeFileSync(join(dir, 'leaf.der'), new X509Certificate(readFixtureText('certs/leaf.pem')).raw);
});
afterAll(async () => {
  await svc?.close();
  cleanupTempDirs();
});

describe('keyshare crl add', () => {
  it('adds a CRL of a CA anchor, and refuses it a second time with ROLLBACK', async () => {
    const ok = await keyshare(['crl', 'add', fixturePath('crls', 'intermediate-ca.crl.pem'), ...admin()]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/added CRL number 2/);
    expectFailure(await keyshare(['crl', 'add', fixturePath('crls', 'intermediate-ca.crl'), ...admin()]), 'ROLLBACK');
    expectFailure(await keyshare(['crl', 'add', fixturePath('crls', 'bad-signature.crl'), ...admin()]), 'CRL_BAD_SIGNATURE');
  });

  it('shows CRL numbers in decimal, as openssl does, and in hex only as crlNumberHex', async () => {
    writeFileSync(join(dir, 'crl-4096.crl'), await mintCrl(4096, ['0dead0']));
    const add = await keyshare(['crl', 'add', join(dir, 'crl-4096.crl'), ...admin()]);
    expect(add.stdout, add.stderr).toMatch(/added CRL number 4096 /);
    const ls = await keyshare(['crl', 'ls', ...admin()]);
    expect(ls.stdout).toMatch(/ number 4096 /);
    const json = JSON.parse((await keyshare(['crl', 'ls', '--json', ...admin()])).stdout);
    expect(json.crls).toEqual([expect.objectContaining({ crlNumber: '4096', crlNumberHex: '1000' })]);
  });
});

describe('keyshare check', () => {
  it('trusts a certificate chain to a CA anchor of the repository scope (exit 0)', async () => {
    const r = await check('registry.acme.io/team-a/app', '--cert', join(dir, 'leaf-chain.pem'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^trusted: "Keyshare Test Signer" chains/);
  });

  it("says REVOKED for a leaf on its CA's CRL, with the evidence in --json", async () => {
    const r = await check('registry.acme.io/team-a/app', '--cert', fixturePath('certs', 'leaf-revoked.pem'), '--json');
    expectFailure(r, 'REVOKED');
    const decision = JSON.parse(r.stdout);
    expect(decision).toMatchObject({ repository: 'registry.acme.io/team-a/app', trusted: false, code: 'REVOKED' });
    expect(decision.evidence).toMatchObject({ scope: 'registry.acme.io/team-a', revocation: { kind: 'certificate', source: 'crl', serial: '0dead0', crlNumber: '4096' } });
    // The human line says what --json says (issue 15: not "trusted:").
    const human = await check('registry.acme.io/team-a/app', '--cert', fixturePath('certs', 'leaf-revoked.pem'));
    expectFailure(human, 'REVOKED');
    expect(human.stdout).toMatch(/^revoked: .* is on the CRL of .*, number 4096 /);
  });

  it('says UNTRUSTED for a broken chain and for an expired leaf', async () => {
    const forged = await check('registry.acme.io/team-a/app', '--cert', fixturePath('certs', 'leaf-forged.pem'));
    expectFailure(forged, 'UNTRUSTED');
    expect(forged.stdout).toMatch(/^untrusted: /);
    expectFailure(await check('registry.acme.io/team-a/app', '--cert', fixturePath('certs', 'leaf-expired.pem')), 'UNTRUSTED');
  });

  it('trusts a key anchor, and says UNTRUSTED for a key that is not one', async () => {
    const trusted = await check('registry.acme.io/team-a/app', '--key', COSIGN);
    expect(trusted.code, trusted.stderr).toBe(0);
    expectFailure(await check('registry.acme.io/team-b/app', '--key', COSIGN), 'UNTRUSTED');
    expectFailure(await check('registry.acme.io/team-a/app', '--key', OTHER), 'UNTRUSTED');
  });

  it('says REVOKED for a revoked signature, a revoked key and a certificate revoked by file, each where revoked', async () => {
    const sig = await keyshare(['revoke', 'signature', SIGNATURE, '--reason', 'superseded', ...admin()]);
    expect(sig.code, sig.stderr).toBe(0);
    expectFailure(await check('registry.acme.io/team-a/app', '--key', COSIGN, '--signature', SIGNATURE), 'REVOKED');

    // A DER certificate, revoked at one scope only: its sibling scope still trusts it.
    const cert = await keyshare(['revoke', 'cert', '--cert', join(dir, 'leaf.der'), '--scope', 'registry.acme.io/team-b', '--json', ...admin()]);
    expect(cert.code, cert.stderr).toBe(0);
    expect(JSON.parse(cert.stdout).revocation).toMatchObject({ serial: '8badf00d', scope: 'registry.acme.io/team-b' });
    expectFailure(await check('registry.acme.io/team-b/app', '--cert', join(dir, 'leaf-chain.pem')), 'REVOKED');
    const sibling = await check('registry.acme.io/team-a/app', '--cert', join(dir, 'leaf-chain.pem'));
    expect(sibling.code, sibling.stderr).toBe(0);

    const key = await keyshare(['revoke', 'key', COSIGN, '--reason', 'keyCompromise', ...admin()]);
    expect(key.code, key.stderr).toBe(0);
    const r = await check('registry.acme.io/team-a/app', '--key', COSIGN);
    expectFailure(r, 'REVOKED');
    expect(r.stderr).toMatch(/keyCompromise/);
  });

  it("applies the strict rules at a scope of level audit too, and gives the scope's level in --json", async () => {
    expect((await svc.api('POST', '/scopes', { scope: 'registry.acme.io/lenient', level: 'audit' })).status).toBe(201);
    let r = await check('registry.acme.io/lenient/app', '--key', OTHER, '--json');
    // The new scope is published within moments: check again until the repository resolves to it.
    for (let i = 0; i < 20 && JSON.parse(r.stdout).evidence.scope !== 'registry.acme.io/lenient'; i++) {
      await new Promise((done) => setTimeout(done, 250));
      r = await check('registry.acme.io/lenient/app', '--key', OTHER, '--json');
    }
    expectFailure(r, 'UNTRUSTED');
    expect(JSON.parse(r.stdout).evidence).toMatchObject({ scope: 'registry.acme.io/lenient', level: 'audit' });
    const help = await keyshare(['check', '--help']);
    expect(help.stdout).toMatch(/strict rules whatever the scope's level/);
    expect(help.stdout).toMatch(/evidence\.level is the scope's level/);
  });

  it('is a usage error (exit 2) without --key or --cert', async () => {
    expect((await check('registry.acme.io/team-a/app')).code).toBe(2);
  });
});
