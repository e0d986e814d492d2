/**
 * Issue 16, finding 1: one editor request must not freeze the service. OpenPGP keys with
 * attacker-sized parameters (a DSA key with 12,288-bit p and q, RSA-16384) are refused within
 * 100 ms, before any signature check, while /healthz keeps answering within 50 ms for a
 * parallel client; and whatever is parsed runs in a worker with a time limit. X.509 bombs inside
 * the size cap (thousands of extensions, values nested thousands deep, an unrecognised critical
 * extension) are refused the same way, by the DER screen before the ASN.1 parser.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFixtureText } from '../../fixtures/index.js';
import { parsePgpPublicKey } from '../../service/crypto/index.js';
import { pgpFactsInWorker } from '../../service/crypto/sandbox.js';
import { armorPublicKey, craftPgpKey, DSA_BOMB, RSA_16384, type CraftedKey } from '../support/pgp-craft.js';
import { certificatePem, craftCertificate, craftCertificateForKey, dsaSpki, HEAVIEST_ADMISSIBLE_ITEMS, manyNamesCertificate, nestedDer, rsaSpki, slowCertificate } from '../support/x509-craft.js';
import { certificateParseStats } from '../../service/crypto/x509.js';
import { caAnchors } from '../../service/domain/crl.js';
import { PARSE_TIME_LIMIT_MS, warmParsePool } from '../../service/crypto/untrusted.js';
import { createHash, createPublicKey } from 'node:crypto';
import { parseCertificateChain } from '../../service/crypto/index.js';
import { KeyshareError } from '../../service/errors.js';
import { AnchorParser } from '../../service/federation/federate.js';
import { cleanupTempDirs, scopePath, startTestService, type TestService } from '../support/service.js';

let service: TestService;

beforeAll(async () => {
  service = await startTestService();
  expect((await service.api('POST', '/scopes', { scope: 'registry.acme.io' })).status).toBe(201);
  // Warm up (the first request compiles routes and starts the OpenPGP worker).
  expect((await service.api('POST', `${scopePath('registry.acme.io')}/anchors`, { publicKey: readFixtureText('pgp/release.pub.asc') })).status).toBe(201);
});
afterAll(async () => {
  await service?.close();
  cleanupTempDirs();
});

/** Polls /healthz from a parallel client while `work` runs; returns the slowest answer (ms). */
async function slowestHealthzDuring(work: () => Promise<unknown>): Promise<number> {
  let done = false;
  let slowest = 0;
  const poll = (async () => {
    while (!done) {
      const t = performance.now();
      await (await fetch(`${service.url}/healthz`)).text();
      slowest = Math.max(slowest, performance.now() - t);
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  await work();
  done = true;
  await poll;
  return slowest;
}

/**
 * Uploads `body` as an anchor and expects a 400 with `code` within 100 ms, while /healthz answers
 * a parallel client within 50 ms, each over what the machine costs at the moment. Up to five
 * tries, each refused: the limits must hold in one of them. Other test files share the 2 cores, so one try can lose the CPU; a bomb that is
 * parsed (7.7 s before the fix, /healthz 6.9 s) fails every try.
 */
async function expectRefusedQuickly(body: Record<string, string> | (() => Promise<Record<string, string>>), code: string | string[], withinMs = 100): Promise<void> {
  const codes = Array.isArray(code) ? code : [code];
  const tries: { took: number; slowest: number; noise: number }[] = [];
  // Five tries: one quiet spell is enough to show the bounds; a busy 2-core machine has few.
  for (let i = 0; i < 5; i++) {
    // Encoded before the clock starts: this test's client shares the event loop with the service.
    const encoded = new TextEncoder().encode(JSON.stringify(typeof body === 'function' ? await body() : body));
    // A worker terminated at its time limit by the last try has been replaced (its start-up,
    // from the sources with tsx here, is CPU this 2-core machine's other work shares).
    await warmParsePool();
    let res!: Response;
    let took = 0;
    const slowest = await slowestHealthzDuring(async () => {
      const t = performance.now();
      res = await fetch(`${service.url}/api/v1${scopePath('registry.acme.io')}/anchors`, {
        method: 'POST',
        headers: { authorization: `Bearer ${service.token}`, 'content-type': 'application/json' },
        body: encoded,
      });
      took = performance.now() - t;
    });
    expect(res.status).toBe(400);
    expect(codes).toContain(((await res.json()) as { code: string }).code);
    // The limits hold over what this (shared, busy) machine costs anyway: the slowest /healthz
    // of an idle spell of the same service, or an upload of the same size that is refused
    // before any parse (text that is no PEM), whichever is slower now.
    const idle = await slowestHealthzDuring(() => new Promise((r) => setTimeout(r, 150)));
    const noise = Math.max(idle, await plainRefusalMs(encoded.length));
    tries.push({ took, slowest, noise });
    if (took < withinMs + noise && slowest < 50 + noise) break;
  }
  expect(tries.some((t) => t.took < withinMs + t.noise && t.slowest < 50 + t.noise), JSON.stringify(tries)).toBe(true);
}

/** How long an upload of `size` bytes takes to be refused when it is not PEM at all (no parse). */
async function plainRefusalMs(size: number): Promise<number> {
  const encoded = new TextEncoder().encode(JSON.stringify({ certificate: 'x'.repeat(Math.max(0, size - 20)) }));
  const t = performance.now();
  const res = await fetch(`${service.url}/api/v1${scopePath('registry.acme.io')}/anchors`, {
    method: 'POST',
    headers: { authorization: `Bearer ${service.token}`, 'content-type': 'application/json' },
    body: encoded,
  });
  await res.text();
  expect(res.status).toBe(400);
  return performance.now() - t;
}

const bombs: [string, CraftedKey][] = [
  ['a DSA key with 12,288-bit p and q and four self-signatures', DSA_BOMB],
  ['an RSA-16384 key', RSA_16384],
  ['an ElGamal key', { algorithm: 16, mpiBits: [12_288, 8, 12_288] }],
  ['ECDSA on secp256k1', { algorithm: 19, curveOid: [0x2b, 0x81, 0x04, 0x00, 0x0a] }],
];

describe('when an editor uploads an OpenPGP parameter bomb', () => {
  for (const [what, crafted] of bombs) {
    it(`refuses ${what} with UNSUPPORTED_KEY within 100 ms, /healthz under 50 ms meanwhile`, async () => {
      await expectRefusedQuickly({ publicKey: armorPublicKey(craftPgpKey(crafted)) }, 'UNSUPPORTED_KEY');
    });
  }

  it('refuses keys with too many user IDs, subkeys or signatures before parsing them', async () => {
    for (const crafted of [
      { algorithm: 22, curveOid: [0x2b, 0x06, 0x01, 0x04, 0x01, 0xda, 0x47, 0x0f, 0x01], userIds: 33 },
      { algorithm: 1, mpiBits: [2048, 17], subkeys: 17 },
      { algorithm: 1, mpiBits: [2048, 17], signatures: 129 },
    ]) {
      await expect(parsePgpPublicKey(craftPgpKey(crafted))).rejects.toMatchObject({ code: 'BAD_PGP_KEY' });
    }
  });
});

describe('when an editor uploads an X.509 parameter bomb within the size cap', () => {
  const tiny = (n: number) => Array.from({ length: n }, (_, i) => ({ oid: `1.3.6.1.4.1.99999.${i}`, critical: false, value: new Uint8Array([5, 0]) }));
  const certBombs: [string, () => Promise<Uint8Array>][] = [
    // 0.6 s of event loop in the ASN.1 parser before the screen.
    ['a certificate with 6,000 extensions', () => craftCertificate(tiny(6000))],
    ['a certificate with an extension value nested 40,000 deep', () => craftCertificate([{ oid: '2.5.29.30', critical: true, value: nestedDer(40_000) }])],
    ['a certificate with an unrecognised critical extension', () => craftCertificate([{ oid: '1.3.6.1.4.1.99999.7', critical: true, value: new Uint8Array([5, 0]) }])],
  ];
  for (const [what, craft] of certBombs) {
    it(`refuses ${what} with BAD_CERTIFICATE within 100 ms, /healthz under 50 ms meanwhile`, async () => {
      await expectRefusedQuickly({ certificate: certificatePem(await craft()) }, 'BAD_CERTIFICATE');
    });
  }
});

describe("when a certificate's key is outside the key allow-list (RSA 2048-8192, Ed25519, ECDSA P-256/384/521)", () => {
  const outside: [string, () => Uint8Array][] = [
    ['an RSA-16384 key', () => rsaSpki(16_384)],
    ['an RSA-1024 key', () => rsaSpki(1024)],
    ['a DSA key with a 12,288-bit p and q', () => dsaSpki(12_288, 12_287)],
    ['a DSA-2048 key', () => new Uint8Array(createPublicKey(readFixtureText('keys/dsa-2048.pub.pem')).export({ type: 'spki', format: 'der' }))],
  ];
  for (const [what, spki] of outside) {
    it(`refuses a CA anchor with ${what} with UNSUPPORTED_KEY within 100 ms, /healthz under 50 ms meanwhile`, async () => {
      await expectRefusedQuickly({ certificate: certificatePem(await craftCertificateForKey(spki())) }, 'UNSUPPORTED_KEY');
    });
  }

  it('refuses such a key as a member of a chain (revoke cert, ca import, check) before any signature is checked', async () => {
    const leaf = certificatePem(await craftCertificate([]));
    const member = certificatePem(await craftCertificateForKey(rsaSpki(16_384)));
    expect(() => parseCertificateChain(leaf + member)).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_KEY' }));
    const revoke = await service.api('POST', '/revocations', { kind: 'certificate', certificate: leaf + member });
    expect(revoke.status, JSON.stringify(revoke.body)).toBe(400);
    expect(revoke.body.code).toBe('UNSUPPORTED_KEY');
  });

  it('refuses such a key in an anchor from an upstream or a bundle, with UNSUPPORTED_KEY', async () => {
    const der = await craftCertificateForKey(dsaSpki(12_288, 12_287));
    const parser = new AnchorParser((m) => new KeyshareError('BUNDLE_INVALID', m));
    const parse = parser.parse('scope registry.acme.io', { id: `sha256:${createHash('sha256').update(der).digest('hex')}`, type: 'ca', certificate: certificatePem(der) }, 'registry.acme.io', null);
    await expect(parse).rejects.toMatchObject({ code: 'UNSUPPORTED_KEY' });
  });

  it('accepts a CA whose key is on the list (ECDSA P-521, RSA-8192 in size)', async () => {
    const p521 = new Uint8Array(createPublicKey(readFixtureText('keys/ec-p521.pub.pem')).export({ type: 'spki', format: 'der' }));
    for (const [name, spki] of [['CN=P-521 CA', p521], ['CN=RSA-8192 CA', rsaSpki(8192)]] as const) {
      const res = await service.api('POST', `${scopePath('registry.acme.io')}/anchors`, { certificate: certificatePem(await craftCertificateForKey(spki, name)) });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
    }
  });
});

describe('when an editor uploads a certificate the parser takes long over (issue 16, finding 1)', () => {
  // 60 extensions, about 2,900 ASN.1 elements, 165 KiB: hundreds of ms of parsing on a busy
  // machine, and accepted it would be parsed again on the event loop by every later read.
  const slow = async () => certificatePem(await slowCertificate(false));
  const overCap = { code: 'BAD_CERTIFICATE', message: expect.stringContaining('ASN.1 elements') };

  it('refuses it BAD_CERTIFICATE before any parse, within 100 ms, /healthz under 50 ms meanwhile', async () => {
    await expectRefusedQuickly(async () => ({ certificate: await slow() }), 'BAD_CERTIFICATE');
  });

  it('refuses it the same way in apply, and from an upstream or a bundle', async () => {
    const pem = await slow();
    const applied = await service.api('POST', '/apply', { scopes: [{ scope: 'registry.acme.io', anchors: [{ certificate: pem }] }] });
    expect(applied.status, JSON.stringify(applied.body)).toBe(400);
    expect(applied.body).toMatchObject({ ...overCap, code: 'APPLY_INVALID' });
    const der = await slowCertificate(false);
    const parser = new AnchorParser((m) => new KeyshareError('BUNDLE_INVALID', m));
    const parse = parser.parse('scope registry.acme.io', { id: `sha256:${createHash('sha256').update(der).digest('hex')}`, type: 'ca', certificate: pem }, 'registry.acme.io', null);
    await expect(parse).rejects.toMatchObject({ code: 'BUNDLE_INVALID', message: expect.stringContaining('ASN.1 elements') });
  });

  it('parses the heaviest certificate within the caps in the worker: refused within its time limit, /healthz under 50 ms meanwhile', async () => {
    // Each try a new certificate (untrusted.ts remembers recent outcomes). Parsed within the
    // limit it is refused for its critical extension; past it, PARSE_TIMEOUT.
    const body = async () => ({ certificate: certificatePem(await slowCertificate(true, HEAVIEST_ADMISSIBLE_ITEMS)) });
    await expectRefusedQuickly(body, ['BAD_CERTIFICATE', 'PARSE_TIMEOUT'], PARSE_TIME_LIMIT_MS + 250);
  });

  it('accepts a CA naming 500 hosts, and later reads of the stored anchor decode nothing on the event loop', async () => {
    const der = await manyNamesCertificate(500);
    const before = certificateParseStats();
    const res = await service.api('POST', `${scopePath('registry.acme.io')}/anchors`, { certificate: certificatePem(der) });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    // The upload was parsed in the worker, whose result the memo of x509.ts took in: the CRL
    // checks' reading of the stored anchors (caAnchors) finds it there.
    const anchors = await service.instance.records.trust.listAnchors();
    expect(caAnchors(anchors).map((a) => a.id)).toContain(res.body.anchor.id);
    const after = certificateParseStats();
    expect(after.decoded).toBe(before.decoded);
    expect(after.reused).toBeGreaterThan(before.reused);
  });
});
