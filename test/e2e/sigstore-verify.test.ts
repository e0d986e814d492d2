/**
 * Issue 19: sigstore-js (@sigstore/verify, with transparency-log and CT thresholds of 0)
 * builds its trust material from the trusted_root.json that `keyshare fetch --format sigstore`
 * writes, and verifies a bundle signed by a leaf of a keyshare CA and timestamped by a keyshare
 * TSA (an RFC 3161 response from `openssl ts`); once the CA is revoked in keyshare and the
 * client fetches again, it refuses the same bundle.
 *
 * The same with keyshare as the client's TUF mirror (`serve --sigstore-scope`): @sigstore/tuf,
 * pinned to keyshare's root.json, fetches the top-level target trusted_root.json from the
 * running service on 127.0.0.1 (sigstore-js `tufMirrorURL` = `{server}/tuf`, `tufRootPath`).
 */
import { execFile, spawnSync } from 'node:child_process';
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

/** A message-signature bundle (v0.3) over ARTIFACT by the fixture leaf, with an RFC 3161 timestamp of the signature. */
function makeBundle(dir: string, tsa: { cert: string; key: string }) {
  const signature = createSign('sha256').update(ARTIFACT).sign(readFixtureText('certs/leaf.key.pem'));
  const [sig, query, reply, config] = ['sig.bin', 'req.tsq', 'reply.tsr', 'ts.cnf'].map((f) => join(dir, f)) as [string, string, string, string];
  writeFileSync(sig, signature);
  writeFileSync(join(dir, 'serial'), '01\n');
  writeFileSync(config, `[ tsa ]\ndefault_tsa = tsa1\n[ tsa1 ]\nserial = ${join(dir, 'serial')}\nsigner_digest = sha256\ndefault_policy = 1.2.3.4.1\ndigests = sha256\ness_cert_id_alg = sha256\n`);
  openssl(['ts', '-query', '-data', sig, '-sha256', '-cert', '-no_nonce', '-out', query]);
  openssl(['ts', '-reply', '-queryfile', query, '-signer', tsa.cert, '-inkey', tsa.key, '-config', config, '-out', reply]);
  return bundleFromJSON({
    mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    verificationMaterial: {
      certificate: { rawBytes: new X509Certificate(readFixtureText('certs/leaf.pem')).raw.toString('base64') },
      tlogEntries: [],
      // protobuf-specs RFC3161SignedTimestamp: the DER TimeStampResp.
      timestampVerificationData: { rfc3161Timestamps: [{ signedTimestamp: readFileSync(reply).toString('base64') }] },
    },
    messageSignature: { messageDigest: { algorithm: 'SHA2_256', digest: createHash('sha256').update(ARTIFACT).digest('base64') }, signature: signature.toString('base64') },
  });
}

describe('when sigstore-js verifies with the trusted root keyshare fetch writes', () => {
  let svc: TestService;
  let dir: string;
  let bundle: ReturnType<typeof bundleFromJSON>;
  const intermediate = readFixtureText('certs/intermediate-ca.pem');

  /** `keyshare fetch --format sigstore` through the CLI, then sigstore-js over what it wrote. */
  async function fetchAndVerify(): Promise<() => unknown> {
    const out = join(dir, 'out');
    const run = await new Promise<{ code: number; stderr: string }>((done) =>
      execFile(
        process.execPath,
        [BIN, 'fetch', '--server', svc.url, '--root', join(svc.dataDir, 'root.json'), '--out', out, '--format', 'sigstore', '--cache', join(dir, 'cache')],
        { timeout: 30_000 },
        (error, _stdout, stderr) => done({ code: error ? Number(error.code ?? -1) : 0, stderr: String(stderr) }),
      ),
    );
    expect(run.code, run.stderr).toBe(0);
    const root = TrustedRoot.fromJSON(JSON.parse(readFileSync(join(out, SCOPE, 'trusted_root.json'), 'utf8')));
    const verifier = new Verifier(toTrustMaterial(root), { tlogThreshold: 0, ctlogThreshold: 0 });
    return () => verifier.verify(toSignedEntity(bundle, ARTIFACT));
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
    const tsa = makeTsa(dir);
    bundle = makeBundle(dir, tsa);
    // As `serve --sigstore-scope registry.acme.io` wires it (cli/commands/serve.ts).
    svc = await startTestService({ open: { sigstoreRoot: { scope: SCOPE, build: trustedRootBytes() } } });
    expect((await svc.api('POST', '/scopes', { scope: SCOPE })).status).toBe(201);
    const anchors = [
      { certificate: readFixtureText('certs/root-ca.pem'), type: 'ca' },
      { certificate: intermediate, type: 'ca' },
      { certificate: readFixtureText('certs/tsa-ca.pem'), type: 'tsa' },
      { certificate: readFileSync(tsa.cert, 'utf8'), type: 'tsa' },
    ];
    for (const a of anchors) {
      const r = await svc.api('POST', `${scopePath(SCOPE)}/anchors`, a);
      expect(r.status, JSON.stringify(r.body)).toBe(201);
    }
  });
  afterAll(async () => {
    await svc?.close();
    cleanupTempDirs();
  });

  it('verifies the bundle signed below the keyshare CA, with the keyshare TSA timestamp', async () => {
    const verify = await fetchAndVerify();
    expect(verify()).toMatchObject({ key: expect.anything() });
  });

  it('verifies it with the trusted root @sigstore/tuf fetches from keyshare as its TUF mirror', async () => {
    const verify = await mirrorVerify();
    expect(verify()).toMatchObject({ key: expect.anything() });
  });

  it('refuses it once the CA is revoked in keyshare and the client fetches again', async () => {
    const id = `sha256:${createHash('sha256').update(new X509Certificate(intermediate).raw).digest('hex')}`;
    const r = await svc.api('POST', '/revocations', { kind: 'key', id, reason: 'keyCompromise' });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    await svc.instance.publisher.flush();
    const verify = await fetchAndVerify();
    expect(verify).toThrow(/certificate chain/);
  });

  it('refuses it through the mirror too, once @sigstore/tuf refreshes', async () => {
    const verify = await mirrorVerify();
    expect(verify).toThrow(/certificate chain/);
  });
});
