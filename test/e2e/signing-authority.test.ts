/**
 * keyshare as the code-signing CA (issue 18), with real openssl and the real CLI: a signer
 * token and an openssl CSR give a certificate that `openssl cms -verify` accepts against the
 * `fetch --format pem` bundle; `revoke cert` re-signs the CA's CRL and the next fetch gives an
 * `-crl_check` refusal (error 23); keyshare's TSA answers `openssl ts -query`, and `openssl ts
 * -verify` accepts the reply against the fetched notation `tsa` store, which keeps a signature
 * of an expired certificate verifiable; and the certificate meets notation's requirements,
 * field by field.
 */
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTool } from '../support/system-tools.js';
import { packageRoot } from '../../service/util/paths.js';
import { TrustedProxies } from '../../service/http/client.js';
import { cleanupTempDirs, startTestService, tempDir, type TestService } from '../support/service.js';
import { NOTATION_CRL_CACHE_FORMAT } from '../support/notation-crl-cache.js';

const run = promisify(execFile);
// openssl is required: missing, the file fails naming the package (never a silent skip).
requireTool('openssl');
const BIN = join(packageRoot(), 'bin', 'keyshare.js');
const SCOPE = 'registry.acme.io/team-a';
const STORE = 'registry.acme.io_team-a';

function openssl(args: string[]): { code: number; out: string } {
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

describe('when keyshare is the code-signing CA', () => {
  let svc: TestService;
  let dir: string;
  let signerToken: string;
  const cli = async (args: string[], token?: string) => {
    const r = await run(process.execPath, [BIN, ...args, '--server', svc.url], { env: { ...process.env, KEYSHARE_TOKEN: token ?? svc.token }, encoding: 'utf8' });
    return r.stdout;
  };
  const fetchTrust = async (format: string, out: string) =>
    cli(['fetch', '--root', join(svc.dataDir, 'root.json'), '--out', out, '--format', format, '--cache', join(dir, `cache-${format}`), '--scope', SCOPE, ...(format === 'notation' ? ['--repository', `${SCOPE}/app`] : [])]);

  beforeAll(async () => {
    // The test's own requests come from 127.0.0.1 without forwarded headers, as before.
    svc = await startTestService({ server: { trustedProxies: TrustedProxies.parse(['127.0.0.1']) } });
    dir = tempDir('keyshare-ca-');
    expect((await svc.api('POST', '/scopes', { scope: SCOPE })).status).toBe(201);
    const created = JSON.parse(await cli(['ca', 'create', 'release', '--scopes', SCOPE, '--subject', 'C=US, ST=WA, O=Acme', '--json']));
    expect(created).toMatchObject({ name: 'release', scopes: [SCOPE], trustedIdentity: 'x509.subject: C=US, ST=WA, O=Acme', crl: { crlNumber: '1' } });
    signerToken = JSON.parse(await cli(['token', 'create', '--role', 'signer', '--scopes', SCOPE, '--ca', 'release', '--max-validity', '1h', '--json'])).token;
    writeFileSync(join(dir, 'payload.txt'), 'release artefact\n');
    const req = openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'ci.key'), '-subj', '/CN=ignored', '-out', join(dir, 'ci.csr')]);
    expect(req.code, req.out).toBe(0);
    const issued = await cli(['ca', 'issue', 'release', '--csr', join(dir, 'ci.csr'), '--out', join(dir, 'chain.pem'), '--identity', 'CN=ci:release, OU=team-a', '--validity', '10m'], signerToken);
    expect(issued).toMatch(/^issued [0-9a-f]+ to /);
    const chain = readFileSync(join(dir, 'chain.pem'), 'utf8');
    const leafEnd = chain.indexOf('-----END CERTIFICATE-----') + 26;
    writeFileSync(join(dir, 'ci.crt'), chain.slice(0, leafEnd));
    writeFileSync(join(dir, 'cas.pem'), chain.slice(leafEnd));
    await fetchTrust('pem', join(dir, 'pem'));
  }, 120_000);
  afterAll(async () => {
    await svc?.close();
    cleanupTempDirs();
  });

  it('issues a certificate whose CMS signature openssl verifies against the fetched pem bundle', () => {
    const sig = join(dir, 'payload.p7s');
    const sign = openssl(['cms', '-sign', '-binary', '-in', join(dir, 'payload.txt'), '-signer', join(dir, 'ci.crt'), '-inkey', join(dir, 'ci.key'), '-certfile', join(dir, 'cas.pem'), '-outform', 'DER', '-out', sig]);
    expect(sign.code, sign.out).toBe(0);
    const verify = openssl(['cms', '-verify', '-binary', '-inform', 'DER', '-in', sig, '-content', join(dir, 'payload.txt'), '-CAfile', join(dir, 'pem', `${STORE}.pem`), '-purpose', 'any', '-out', '/dev/null']);
    expect(verify.code, verify.out).toBe(0);
    const plain = openssl(['verify', '-crl_check', '-CAfile', join(dir, 'pem', `${STORE}.pem`), '-CRLfile', join(dir, 'pem', `${STORE}.crl.pem`), join(dir, 'ci.crt')]);
    expect(plain.code, plain.out).toBe(0);
  });

  it('ca issue --generate-key makes a key (0600) and gets a chain for it', async () => {
    const key = join(dir, 'gen.key');
    const r = JSON.parse(await cli(['ca', 'issue', 'release', '--generate-key', key, '--json'], signerToken));
    expect(r.subject).toMatch(/CN=keyshare-signer$/);
    expect((await import('node:fs')).statSync(key).mode & 0o777).toBe(0o600);
    writeFileSync(join(dir, 'gen.crt'), r.certificate);
    const match = openssl(['x509', '-in', join(dir, 'gen.crt'), '-noout', '-pubkey']).out === openssl(['pkey', '-in', key, '-pubout']).out;
    expect(match).toBe(true);
  });

  it("meets notation's certificate requirements, field by field", () => {
    // notaryproject/specifications signature-specification.md, "Certificate Requirements".
    const [leaf, ca, root] = x509.PemConverter.decode(readFileSync(join(dir, 'chain.pem'), 'utf8')).map((der) => new x509.X509Certificate(der));
    const ku = leaf!.getExtension(x509.KeyUsagesExtension)!;
    expect(ku.critical).toBe(true);
    expect(ku.usages).toBe(x509.KeyUsageFlags.digitalSignature); // and so not keyCertSign
    expect(leaf!.getExtension(x509.BasicConstraintsExtension)?.ca ?? false).toBe(false);
    const eku = leaf!.getExtension(x509.ExtendedKeyUsageExtension)!;
    expect(eku.usages).toEqual([x509.ExtendedKeyUsage.codeSigning]);
    expect(leaf!.publicKey.algorithm).toMatchObject({ name: 'ECDSA', namedCurve: 'P-256' });
    expect(leaf!.signatureAlgorithm).toMatchObject({ name: 'ECDSA', hash: { name: 'SHA-256' } });
    expect(leaf!.notAfter.getTime() - leaf!.notBefore.getTime()).toBeLessThanOrEqual(10 * 60_000);
    const dn = Object.assign({}, ...leaf!.subjectName.toJSON()) as Record<string, string[]>;
    expect(dn).toMatchObject({ C: ['US'], ST: ['WA'], O: ['Acme'], OU: ['team-a'], CN: ['ci:release'] });
    const cdp = leaf!.getExtension(x509.CRLDistributionPointsExtension)!;
    const url = cdp.distributionPoints[0]!.distributionPoint!.fullName![0]!.uniformResourceIdentifier!;
    expect(url).toMatch(new RegExp(`^${svc.url}/crl/[0-9a-f]{64}\\.crl$`));
    for (const c of [ca!, root!]) {
      const bc = c.getExtension(x509.BasicConstraintsExtension)!;
      expect([bc.critical, bc.ca]).toEqual([true, true]);
      const cku = c.getExtension(x509.KeyUsagesExtension)!;
      expect(cku.critical).toBe(true);
      expect(cku.usages & x509.KeyUsageFlags.keyCertSign).toBeTruthy();
    }
    expect(root!.subject).toBe(root!.issuer);
    expect(leaf!.issuer).toBe(ca!.subject);
  });

  it('behind a trusted TLS proxy, the CRL distribution point is the public URL clients use', async () => {
    const csr = readFileSync(join(dir, 'ci.csr'), 'utf8');
    const res = await fetch(`${svc.url}/api/v1/ca/release/certificates`, {
      method: 'POST',
      headers: { authorization: `Bearer ${signerToken}`, 'content-type': 'application/json', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'keyshare.acme.io' },
      body: JSON.stringify({ csr, validity: '10m', identity: 'CN=ci:proxy' }),
    });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { chain: string };
    const leaf = new x509.X509Certificate(x509.PemConverter.decode(body.chain)[0]!);
    const url = leaf.getExtension(x509.CRLDistributionPointsExtension)!.distributionPoints[0]!.distributionPoint!.fullName![0]!.uniformResourceIdentifier!;
    expect(url).toMatch(/^https:\/\/keyshare\.acme\.io\/crl\/[0-9a-f]{64}\.crl$/);
  });

  it('a revoked certificate gets an -crl_check refusal (error 23) from the next fetch', async () => {
    const started = Date.now();
    await cli(['revoke', 'cert', '--cert', join(dir, 'ci.crt'), '--reason', 'keyCompromise']);
    const out = join(dir, 'pem-after');
    await fetchTrust('pem', out);
    expect(Date.now() - started).toBeLessThan(30_000);
    const verify = openssl(['verify', '-crl_check', '-CAfile', join(out, `${STORE}.pem`), '-CRLfile', join(out, `${STORE}.crl.pem`), join(dir, 'ci.crt')]);
    expect(verify.code).not.toBe(0);
    expect(verify.out).toMatch(/error 23 at 0 depth lookup: certificate revoked/);
    // The CRL keyshare signed: openssl verifies it against the CA, with a CRL number and the reason.
    // The file holds the root's CRL too; `openssl crl` reads one, so take the issuing CA's.
    const issuingCrl = readFileSync(join(out, `${STORE}.crl.pem`), 'utf8').match(/-----BEGIN X509 CRL-----[^-]+-----END X509 CRL-----\n/g)!.find((pem) => {
      writeFileSync(join(dir, 'one.crl.pem'), pem);
      return /Key Compromise/.test(openssl(['crl', '-in', join(dir, 'one.crl.pem'), '-noout', '-text']).out);
    })!;
    writeFileSync(join(dir, 'issuing.crl.pem'), issuingCrl);
    const crl = openssl(['crl', '-in', join(dir, 'issuing.crl.pem'), '-CAfile', join(out, `${STORE}.pem`), '-noout', '-verify', '-text']);
    expect(crl.code, crl.out).toBe(0);
    expect(crl.out).toMatch(/verify OK/);
    expect(crl.out).toMatch(/X509v3 CRL Number:\s*\n\s*2/);
    expect(crl.out).toMatch(/Key Compromise/);
    // notation's CRL cache: the entry under the leaf's own CRL distribution point lists it.
    const cache = join(dir, 'notation-cache');
    await cli(['fetch', '--root', join(svc.dataDir, 'root.json'), '--out', join(dir, 'notation-crl'), '--format', 'notation', '--cache', join(dir, 'cache-notation-crl'), '--scope', SCOPE, '--repository', `${SCOPE}/app`, '--notation-crl-cache', cache]);
    const leaf = new x509.X509Certificate(readFileSync(join(dir, 'ci.crt'), 'utf8'));
    const cdp = leaf.getExtension(x509.CRLDistributionPointsExtension)!.distributionPoints[0]!.distributionPoint!.fullName![0]!.uniformResourceIdentifier!;
    const entry = readFileSync(join(cache, NOTATION_CRL_CACHE_FORMAT.subdir, NOTATION_CRL_CACHE_FORMAT.fileName(cdp)), 'utf8');
    writeFileSync(join(dir, 'cached.crl'), NOTATION_CRL_CACHE_FORMAT.baseCrl(entry));
    const cached = openssl(['crl', '-inform', 'DER', '-in', join(dir, 'cached.crl'), '-noout', '-text']);
    expect(cached.out).toContain(`Serial Number: ${leaf.serialNumber.toUpperCase()}`);
    expect(cached.out).toMatch(/Key Compromise/);
  });

  it("time-stamps with RFC 3161: openssl ts -verify accepts the reply against the fetched notation tsa store", async () => {
    const data = join(dir, 'payload.txt');
    expect(openssl(['ts', '-query', '-data', data, '-sha384', '-cert', '-out', join(dir, 'q.tsq')]).code).toBe(0);
    const res = await fetch(`${svc.url}/tsa`, { method: 'POST', headers: { 'content-type': 'application/timestamp-query' }, body: readFileSync(join(dir, 'q.tsq')) });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/timestamp-reply');
    writeFileSync(join(dir, 'r.tsr'), Buffer.from(await res.arrayBuffer()));
    await fetchTrust('notation', join(dir, 'notation'));
    const tsaDir = join(dir, 'notation', 'truststore', 'x509', 'tsa', STORE);
    const [tsaRoot] = readdirSync(tsaDir);
    const verify = openssl(['ts', '-verify', '-data', data, '-in', join(dir, 'r.tsr'), '-CAfile', join(tsaDir, tsaRoot!)]);
    expect(verify.code, verify.out).toBe(0);
    expect(verify.out).toMatch(/Verification: OK/);
    // The nonce of the query comes back.
    expect(openssl(['ts', '-reply', '-in', join(dir, 'r.tsr'), '-text']).out).toMatch(/Nonce: 0x[0-9A-F]+/);
    // The notation trust store holds root and CA, and the policy pins what the CA issues.
    expect(readdirSync(join(dir, 'notation', 'truststore', 'x509', 'ca', STORE))).toHaveLength(2);
    const policy = JSON.parse(readFileSync(join(dir, 'notation', 'trustpolicy.json'), 'utf8'));
    expect(JSON.stringify(policy)).toContain('"x509.subject: C=US, ST=WA, O=Acme"');
    expect(JSON.stringify(policy)).toContain(`"tsa:${STORE}"`);
  });

  it('refuses a certificate past its validity, unless a keyshare time-stamp shows it signed in time', async () => {
    const leaf = new x509.X509Certificate(readFileSync(join(dir, 'ci.crt'), 'utf8'));
    const bundle = join(dir, 'pem', `${STORE}.pem`);
    const later = String(Math.floor(leaf.notAfter.getTime() / 1000) + 3600);
    const expired = openssl(['verify', '-attime', later, '-CAfile', bundle, join(dir, 'ci.crt')]);
    expect(expired.out).toMatch(/certificate has expired/);
    // notation's --timestamp-url path: the signing time is the TSA's genTime, when the certificate was valid.
    const sig = join(dir, 'ts-payload.p7s');
    expect(openssl(['cms', '-sign', '-binary', '-in', join(dir, 'payload.txt'), '-signer', join(dir, 'ci.crt'), '-inkey', join(dir, 'ci.key'), '-outform', 'DER', '-out', sig]).code).toBe(0);
    expect(openssl(['ts', '-query', '-data', sig, '-sha256', '-cert', '-out', join(dir, 'sig.tsq')]).code).toBe(0);
    const res = await fetch(`${svc.url}/tsa`, { method: 'POST', headers: { 'content-type': 'application/timestamp-query' }, body: readFileSync(join(dir, 'sig.tsq')) });
    writeFileSync(join(dir, 'sig.tsr'), Buffer.from(await res.arrayBuffer()));
    const tsaRoot = readdirSync(join(dir, 'notation', 'truststore', 'x509', 'tsa', STORE))[0]!;
    const tsVerify = openssl(['ts', '-verify', '-data', sig, '-in', join(dir, 'sig.tsr'), '-CAfile', join(dir, 'notation', 'truststore', 'x509', 'tsa', STORE, tsaRoot)]);
    expect(tsVerify.code, tsVerify.out).toBe(0);
    const genTime = /Time stamp: (.+)/.exec(openssl(['ts', '-reply', '-in', join(dir, 'sig.tsr'), '-text']).out)![1]!;
    const at = String(Math.floor(Date.parse(genTime) / 1000));
    const inTime = openssl(['verify', '-attime', at, '-CAfile', bundle, join(dir, 'ci.crt')]);
    expect(inTime.code, inTime.out).toBe(0);
  });
  it("the root keyshare made signs a CRL too: revoking the issuing CA gets an -crl_check refusal for it", async () => {
    const [intermediate] = x509.PemConverter.decode(readFileSync(join(dir, 'cas.pem'), 'utf8'));
    writeFileSync(join(dir, 'intermediate.crt'), x509.PemConverter.encode(intermediate!, 'CERTIFICATE'));
    const check = (out: string) => openssl(['verify', '-crl_check', '-CAfile', join(out, `${STORE}.pem`), '-CRLfile', join(out, `${STORE}.crl.pem`), join(dir, 'intermediate.crt')]);
    const before = check(join(dir, 'pem'));
    expect(before.code, before.out).toBe(0); // the root's CRL is there (else: unable to get certificate CRL)
    await cli(['revoke', 'cert', '--cert', join(dir, 'intermediate.crt'), '--reason', 'cACompromise']);
    const out = join(dir, 'pem-root-crl');
    await fetchTrust('pem', out);
    const after = check(out);
    expect(after.code).not.toBe(0);
    expect(after.out).toMatch(/error 23 at 0 depth lookup: certificate revoked/);
  });

  it('ca import takes an openssl CA and its key as docs/REFERENCE.md shows, and refuses a key that is not its own', async () => {
    const ca = (name: string) => ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.pem`), '-days', '30', '-subj', `/C=US/ST=WA/O=Acme/CN=${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'];
    for (const name of ['legacy-ca', 'other-ca']) {
      const made = openssl(ca(name));
      expect(made.code, made.out).toBe(0);
    }
    // A key that is not the certificate's: CA_KEY_MISMATCH, and no CA.
    const refused = await cli(['ca', 'import', 'legacy', '--cert', join(dir, 'legacy-ca.pem'), '--key', join(dir, 'other-ca.key'), '--scopes', SCOPE]).then(
      () => null,
      (e: { code?: number; stderr?: string }) => e,
    );
    expect(refused?.code).not.toBe(0);
    expect(refused?.stderr).toMatch(/CA_KEY_MISMATCH/);
    expect(JSON.parse(await cli(['ca', 'ls', '--json'])).cas.map((c: { name: string }) => c.name)).toEqual(['release']);
    // Exactly the --help example, with this test's files and scope.
    const imported = await cli(['ca', 'import', 'legacy', '--cert', join(dir, 'legacy-ca.pem'), '--key', join(dir, 'legacy-ca.key'), '--scopes', SCOPE]);
    expect(imported).toMatch(/legacy/);
    expect(JSON.parse(await cli(['ca', 'ls', '--json'])).cas.map((c: { name: string }) => c.name)).toEqual(['legacy', 'release']);
    const shown = JSON.parse(await cli(['ca', 'show', 'legacy', '--json']));
    expect(shown).toMatchObject({ name: 'legacy', scopes: [SCOPE], root: null, key: 'file', subject: 'C=US, ST=WA, O=Acme, CN=legacy-ca', crl: { crlNumber: '1' } });
    // A leaf it issues verifies against the fetched PEM bundle, with the CRL the imported CA signed.
    const signer = JSON.parse(await cli(['token', 'create', '--role', 'signer', '--scopes', SCOPE, '--ca', 'legacy', '--json'])).token;
    await cli(['ca', 'issue', 'legacy', '--csr', join(dir, 'ci.csr'), '--out', join(dir, 'legacy-chain.pem')], signer);
    const chain = readFileSync(join(dir, 'legacy-chain.pem'), 'utf8');
    writeFileSync(join(dir, 'legacy-leaf.pem'), chain.slice(0, chain.indexOf('-----END CERTIFICATE-----') + 26));
    const leaf = new x509.X509Certificate(readFileSync(join(dir, 'legacy-leaf.pem'), 'utf8'));
    expect(leaf.issuer).toBe(new x509.X509Certificate(readFileSync(join(dir, 'legacy-ca.pem'), 'utf8')).subject);
    const out = join(dir, 'pem-legacy');
    await fetchTrust('pem', out);
    const verify = openssl(['verify', '-crl_check', '-CAfile', join(out, `${STORE}.pem`), '-CRLfile', join(out, `${STORE}.crl.pem`), join(dir, 'legacy-leaf.pem')]);
    expect(verify.code, verify.out).toBe(0);
  });
});
