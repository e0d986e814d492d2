/**
 * Issue 19: sigstore-js (@sigstore/verify, with transparency-log and CT thresholds of 0)
 * builds its trust material from the trusted_root.json that `keyshare fetch --format sigstore`
 * writes, and verifies a bundle signed by a leaf of keyshare's own CA (`ca create`, `ca issue`)
 * and timestamped by keyshare's own TSA (`POST /tsa`); once the CA is revoked in keyshare
 * (`revoke cert`) and the client fetches again, it refuses the same bundle. keyshare's TSA root
 * is the scope's `keyshare-tsa` anchor, which carries the TSA's signing certificate
 * (`signingCertificates`): sigstore-js verifies a timestamp with the first certificate of a
 * timestampAuthorities chain, matched by the signer's issuer and serial.
 *
 * The same with keyshare as the client's TUF mirror (`serve --sigstore-scope`): @sigstore/tuf,
 * pinned to keyshare's root.json, fetches the top-level target trusted_root.json from the
 * running service on 127.0.0.1 (sigstore-js `tufMirrorURL` = `{server}/tuf`, `tufRootPath`).
 *
 * And with a third-party TSA (`openssl ts`) whose root and signing certificate an admin adds as
 * `tsa` anchors, below a third-party CA (fixtures), in another scope.
 */
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { createHash, createSign, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { getTrustedRoot } from '@sigstore/tuf';
import { Verifier, toSignedEntity, toTrustMaterial } from '@sigstore/verify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTool } from '../support/system-tools.js';
import { fixturePath, readFixtureText } from '../../fixtures/index.js';
import { packageRoot } from '../../service/util/paths.js';
import { trustedRootBytes } from '../../sync/formats/sigstore.js';
import { cleanupTempDirs, scopePath, startTestService, tempDir, type TestService } from '../support/service.js';

// openssl is required: missing, the file fails naming the package (never a silent skip).
requireTool('openssl');
const BIN = join(packageRoot(), 'bin', 'keyshare.js');
const SCOPE = 'registry.acme.io';
const THIRD_PARTY_SCOPE = 'thirdparty.acme.io';
const run = promisify(execFile);
const ARTIFACT = Buffer.from('an artifact signed by the Keyshare Test Signer\n');

function openssl(args: string[]): void {
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
}

/** A TSA signing certificate below the fixture TSA root: cA (keyshare's tsa anchors are CAs), EKU timeStamping critical (RFC 3161 2.3). */
function makeTsa(dir: string): { cert: string; key: string } {
  const [key, csr, cert, ext] = ['tsa.key', 'tsa.csr', 'tsa.pem', 'tsa.ext'].map((f) => join(dir, f)) as [string, string, string, string];
  writeFileSync(ext, 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=critical,timeStamping\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n');
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key]);
  openssl(['req', '-new', '-key', key, '-subj', '/CN=Keyshare Test TSA/O=Keyshare Fixtures', '-out', csr]);
  openssl(['x509', '-req', '-in', csr, '-CA', fixturePath('certs', 'tsa-ca.pem'), '-CAkey', fixturePath('certs', 'tsa-ca.key.pem'), '-set_serial', '0x0d', '-days', '30', '-extfile', ext, '-out', cert]);
  return { cert, key };
}

/** An RFC 3161 TimeStampReq (DER) over the signature, as a Sigstore client sends it. */
function timeStampQuery(dir: string, signature: Buffer): string {
  const [sig, query] = [join(dir, 'sig.bin'), join(dir, 'req.tsq')];
  writeFileSync(sig, signature);
  openssl(['ts', '-query', '-data', sig, '-sha256', '-cert', '-no_nonce', '-out', query]);
  return query;
}

/** The third-party TSA's reply to the query, made with `openssl ts -reply`. */
function opensslTimeStamp(dir: string, query: string, tsa: { cert: string; key: string }): Buffer {
  const [reply, config] = [join(dir, 'reply.tsr'), join(dir, 'ts.cnf')];
  writeFileSync(join(dir, 'serial'), '01\n');
  writeFileSync(config, `[ tsa ]\ndefault_tsa = tsa1\n[ tsa1 ]\nserial = ${join(dir, 'serial')}\nsigner_digest = sha256\ndefault_policy = 1.2.3.4.1\ndigests = sha256\ness_cert_id_alg = sha256\n`);
  openssl(['ts', '-reply', '-queryfile', query, '-signer', tsa.cert, '-inkey', tsa.key, '-config', config, '-out', reply]);
  return readFileSync(reply);
}

/** A message-signature bundle (v0.3) over ARTIFACT: the signature, the signing certificate and an RFC 3161 timestamp of the signature. */
function makeBundle(signature: Buffer, certificatePem: string, timeStampResp: Buffer) {
  return bundleFromJSON({
    mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    verificationMaterial: {
      certificate: { rawBytes: new X509Certificate(certificatePem).raw.toString('base64') },
      tlogEntries: [],
      // protobuf-specs RFC3161SignedTimestamp: the DER TimeStampResp.
      timestampVerificationData: { rfc3161Timestamps: [{ signedTimestamp: timeStampResp.toString('base64') }] },
    },
    messageSignature: { messageDigest: { algorithm: 'SHA2_256', digest: createHash('sha256').update(ARTIFACT).digest('base64') }, signature: signature.toString('base64') },
  });
}

type Bundle = ReturnType<typeof bundleFromJSON>;

describe('when sigstore-js verifies with the trusted root keyshare fetch writes', () => {
  let svc: TestService;
  let dir: string;
  /** Signed below keyshare's CA, timestamped by keyshare's TSA (scope SCOPE). */
  let bundle: Bundle;
  /** Signed below the fixture CA, timestamped by the openssl TSA (scope THIRD_PARTY_SCOPE). */
  let thirdParty: Bundle;
  let issuingCa: string;
  const intermediate = readFixtureText('certs/intermediate-ca.pem');
  const cli = async (args: string[], token?: string) =>
    (await run(process.execPath, [BIN, ...args, '--server', svc.url], { env: { ...process.env, KEYSHARE_TOKEN: token ?? svc.token }, encoding: 'utf8', timeout: 30_000 })).stdout;

  /** `keyshare fetch --format sigstore` through the CLI, then the trusted root it wrote for a scope. */
  async function fetchRoots(): Promise<(scope: string) => unknown> {
    const out = join(dir, 'out');
    await cli(['fetch', '--root', join(svc.dataDir, 'root.json'), '--out', out, '--format', 'sigstore', '--cache', join(dir, 'cache')]);
    return (scope) => JSON.parse(readFileSync(join(out, scope, 'trusted_root.json'), 'utf8'));
  }

  /** sigstore-js over a trusted root in proto3 JSON. */
  function verifierOf(rootJson: unknown, signed: Bundle): () => unknown {
    const verifier = new Verifier(toTrustMaterial(TrustedRoot.fromJSON(rootJson)), { tlogThreshold: 0, ctlogThreshold: 0 });
    return () => verifier.verify(toSignedEntity(signed, ARTIFACT));
  }

  /** sigstore-js's own TUF client with keyshare as its mirror (one cache: each call refreshes it), then the verifier. */
  async function mirrorVerify(): Promise<() => unknown> {
    const root = await getTrustedRoot({
      mirrorURL: `${svc.url}/tuf`,
      rootPath: join(svc.dataDir, 'root.json'),
      cachePath: join(dir, 'sigstore-tuf-cache'),
      retry: { retries: 0 },
      timeout: 10_000,
    });
    const verifier = new Verifier(toTrustMaterial(root), { tlogThreshold: 0, ctlogThreshold: 0 });
    return () => verifier.verify(toSignedEntity(bundle, ARTIFACT));
  }

  beforeAll(async () => {
    expect(existsSync(join(packageRoot(), 'dist', 'cli', 'main.js')), 'dist/ is missing: run `npm run build`').toBe(true);
    dir = tempDir('keyshare-sigstore-');
    // As `serve --sigstore-scope registry.acme.io` wires it (cli/commands/serve.ts).
    svc = await startTestService({ open: { sigstoreRoot: { scope: SCOPE, build: trustedRootBytes() } } });
    for (const scope of [SCOPE, THIRD_PARTY_SCOPE]) expect((await svc.api('POST', '/scopes', { scope })).status).toBe(201);

    // keyshare's CA and TSA: `ca create` adds the CA's root and issuing certificate, and the TSA root, to SCOPE.
    await cli(['ca', 'create', 'release', '--scopes', SCOPE, '--subject', 'C=US, ST=WA, O=Acme', '--json']);
    const signer = JSON.parse(await cli(['token', 'create', '--role', 'signer', '--scopes', SCOPE, '--ca', 'release', '--max-validity', '1h', '--json'])).token;
    const key = join(dir, 'ci.key');
    const issued = JSON.parse(await cli(['ca', 'issue', 'release', '--generate-key', key, '--out', join(dir, 'chain.pem'), '--json'], signer));
    issuingCa = x509Chain(issued.chain)[1]!;
    const signature = createSign('sha256').update(ARTIFACT).sign(readFileSync(key, 'utf8'));
    const res = await fetch(`${svc.url}/tsa`, { method: 'POST', headers: { 'content-type': 'application/timestamp-query' }, body: readFileSync(timeStampQuery(dir, signature)) });
    expect(res.status).toBe(200);
    bundle = makeBundle(signature, issued.certificate, Buffer.from(await res.arrayBuffer()));

    // A third-party CA and TSA, added as anchors.
    const tsa = makeTsa(dir);
    const thirdPartySignature = createSign('sha256').update(ARTIFACT).sign(readFixtureText('certs/leaf.key.pem'));
    thirdParty = makeBundle(thirdPartySignature, readFixtureText('certs/leaf.pem'), opensslTimeStamp(dir, timeStampQuery(dir, thirdPartySignature), tsa));
    const anchors = [
      { certificate: readFixtureText('certs/root-ca.pem'), type: 'ca' },
      { certificate: intermediate, type: 'ca' },
      { certificate: readFixtureText('certs/tsa-ca.pem'), type: 'tsa' },
      { certificate: readFileSync(tsa.cert, 'utf8'), type: 'tsa' },
    ];
    for (const a of anchors) {
      const r = await svc.api('POST', `${scopePath(THIRD_PARTY_SCOPE)}/anchors`, a);
      expect(r.status, JSON.stringify(r.body)).toBe(201);
    }
    await svc.instance.publisher.flush();
  }, 120_000);
  afterAll(async () => {
    await svc?.close();
    cleanupTempDirs();
  });

  it("verifies the bundle signed below keyshare's CA, with keyshare's TSA timestamp; the third party's too", async () => {
    const rootOf = await fetchRoots();
    const root = rootOf(SCOPE) as { timestampAuthorities: { certChain: { certificates: unknown[] } }[] };
    // The TSA's chain from its signing certificate: [keyshare TSA, keyshare TSA root].
    expect(root.timestampAuthorities.map((t) => t.certChain.certificates.length)).toEqual([2]);
    expect(verifierOf(root, bundle)()).toMatchObject({ key: expect.anything() });
    expect(verifierOf(rootOf(THIRD_PARTY_SCOPE), thirdParty)()).toMatchObject({ key: expect.anything() });
    // Without the signing certificate (the TSA root alone), sigstore-js cannot verify the timestamp.
    for (const t of root.timestampAuthorities) t.certChain.certificates.splice(0, 1);
    expect(verifierOf(root, bundle)).toThrow(/timestamp/);
  });

  it('verifies it with the trusted root @sigstore/tuf fetches from keyshare as its TUF mirror', async () => {
    const verify = await mirrorVerify();
    expect(verify()).toMatchObject({ key: expect.anything() });
  });

  it('refuses it once the CA is revoked in keyshare (revoke cert) and the client fetches again', async () => {
    writeFileSync(join(dir, 'issuing-ca.pem'), issuingCa);
    await cli(['revoke', 'cert', '--cert', join(dir, 'issuing-ca.pem'), '--reason', 'cACompromise']);
    const id = `sha256:${createHash('sha256').update(new X509Certificate(intermediate).raw).digest('hex')}`;
    const r = await svc.api('POST', '/revocations', { kind: 'key', id, reason: 'keyCompromise' });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    await svc.instance.publisher.flush();
    const rootOf = await fetchRoots();
    expect(verifierOf(rootOf(SCOPE), bundle)).toThrow(/certificate chain/);
    expect(verifierOf(rootOf(THIRD_PARTY_SCOPE), thirdParty)).toThrow(/certificate chain/);
  });

  it('refuses it through the mirror too, once @sigstore/tuf refreshes', async () => {
    const verify = await mirrorVerify();
    expect(verify).toThrow(/certificate chain/);
  });
});

/** The PEM certificates of a chain, in order. */
function x509Chain(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----\n?/g) ?? [];
}
