/**
 * openssl agrees with keyshare (issue 4): the CRLs keyshare serves parse with `openssl crl`,
 * and `openssl verify -crl_check` with the CRL fetched from /crl/{issuer-hex}.crl rejects the
 * revoked leaf and accepts the others. Also the `fetch --format pem` output, bundle plus
 * `{store}.crl.pem`, through the real CLI.
 */
import { requireTool } from '../support/system-tools.js';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixturePath, readFixture, readFixtureText } from '../../fixtures/index.js';
import { parseCertificate } from '../../service/crypto/index.js';
import { packageRoot } from '../../service/util/paths.js';
import { TufClient, cleanupTempDirs, scopePath, startTestService, tempDir, type TestService } from '../support/service.js';

// Never skipped: a missing openssl fails the file (test/support/system-tools.ts).
const HAVE_OPENSSL = requireTool('openssl') !== '';
const BIN = join(packageRoot(), 'bin', 'keyshare.js');

function openssl(args: string[]): { code: number; out: string } {
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

const root = parseCertificate(readFixtureText('certs/root-ca.pem'));
const intermediate = parseCertificate(readFixtureText('certs/intermediate-ca.pem'));
const hex = (id: string) => id.slice('sha256:'.length);

it('has openssl (required when CI is set)', () => {
  if (process.env.CI) expect(HAVE_OPENSSL, 'openssl is required for the e2e tests: install it (.ci/run does)').toBe(true);
});

describe.skipIf(!HAVE_OPENSSL && !process.env.CI)('when openssl checks the CRLs keyshare distributes', () => {
  let svc: TestService;
  let dir: string;
  const served = new Map<string, Buffer>();

  beforeAll(async () => {
    svc = await startTestService();
    dir = tempDir('keyshare-openssl-');
    expect((await svc.api('POST', '/scopes', { scope: 'registry.acme.io' })).status).toBe(201);
    for (const cert of [root, intermediate]) {
      expect((await svc.api('POST', `${scopePath('registry.acme.io')}/anchors`, { certificate: cert.pem })).status).toBe(201);
    }
    for (const file of ['intermediate-ca.crl', 'root-ca.crl']) {
      const r = await svc.api('POST', '/crls', { crl: readFixture(`crls/${file}`).toString('base64'), encoding: 'base64' });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
    }
    for (const cert of [root, intermediate]) {
      const res = await fetch(`${svc.url}/crl/${hex(cert.id)}.crl`);
      expect(res.status).toBe(200);
      served.set(cert.id, Buffer.from(await res.arrayBuffer()));
    }
    writeFileSync(join(dir, 'ca.pem'), root.pem + intermediate.pem);
  });
  afterAll(async () => {
    await svc?.close();
    cleanupTempDirs();
  });

  it('openssl crl parses every CRL keyshare serves, at /crl/ and as TUF targets', async () => {
    const client = TufClient.pinnedTo(svc.url, svc.dataDir);
    for (const [id, der] of served) {
      const file = join(dir, `${hex(id)}.crl`);
      writeFileSync(file, der);
      const r = openssl(['crl', '-inform', 'DER', '-in', file, '-noout']);
      expect(r.code, r.out).toBe(0);
      const target = await client.readTarget(`crl/${hex(id)}.crl`);
      expect(target?.equals(der)).toBe(true);
    }
  });

  it('openssl verify -crl_check rejects the revoked leaf and accepts the others', () => {
    const crl = join(dir, 'intermediate.crl');
    writeFileSync(crl, served.get(intermediate.id)!);
    const pemCrl = join(dir, 'intermediate.crl.pem');
    const conv = openssl(['crl', '-inform', 'DER', '-in', crl, '-out', pemCrl]);
    expect(conv.code, conv.out).toBe(0);
    const verify = (leaf: string) => openssl(['verify', '-crl_check', '-CAfile', join(dir, 'ca.pem'), '-CRLfile', pemCrl, fixturePath('certs', leaf)]);
    const revoked = verify('leaf-revoked.pem');
    expect(revoked.code).not.toBe(0);
    expect(revoked.out).toMatch(/certificate revoked/);
    const good = verify('leaf.pem');
    expect(good.code, good.out).toBe(0);
    expect(good.out).toMatch(/: OK/);
  });

  it('openssl verify -crl_check_all accepts the fetch --format pem output ({store}.pem and {store}.crl.pem)', async () => {
    expect(existsSync(join(packageRoot(), 'dist', 'cli', 'main.js')), 'dist/ is missing: run `npm run build`').toBe(true);
    const out = join(dir, 'pem');
    const run = await new Promise<{ code: number; stderr: string }>((done) =>
      execFile(
        process.execPath,
        [BIN, 'fetch', '--server', svc.url, '--root', join(svc.dataDir, 'root.json'), '--out', out, '--format', 'pem', '--cache', join(dir, 'cache')],
        { timeout: 30_000 },
        (error, _stdout, stderr) => done({ code: error ? Number(error.code ?? -1) : 0, stderr: String(stderr) }),
      ),
    );
    expect(run.code, run.stderr).toBe(0);
    const bundle = join(out, 'registry.acme.io.pem');
    const crls = join(out, 'registry.acme.io.crl.pem');
    expect(readFileSync(crls, 'utf8').match(/BEGIN X509 CRL/g)).toHaveLength(2);
    const verify = (leaf: string) => openssl(['verify', '-crl_check_all', '-CAfile', bundle, '-CRLfile', crls, fixturePath('certs', leaf)]);
    const good = verify('leaf.pem');
    expect(good.code, good.out).toBe(0);
    const revoked = verify('leaf-revoked.pem');
    expect(revoked.code).not.toBe(0);
    expect(revoked.out).toMatch(/certificate revoked/);
  });
});
