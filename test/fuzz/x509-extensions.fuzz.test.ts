/**
 * Issue 16, the fuzz harness: X.509 extensions and sizes. Certificates that are validly signed
 * but carry odd extensions (many, huge, deeply nested, unknown critical ones, junk in the known
 * ones: basicConstraints, keyUsage, subjectAltName, nameConstraints, CRL distribution points,
 * certificate policies) reach the certificate parser and the anchor checks. Property: each is
 * parsed or refused with a coded error (never a TypeError or an asn1js exception); one over the
 * size cap is refused before any parsing. Runs `runs(n)` times, x KEYSHARE_FUZZ_SCALE in the soak.
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import fc from 'fast-check';
import * as x509 from '@peculiar/x509';
import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_MATERIAL_BYTES, parseCertificate } from '../../service/crypto/index.js';
import { buildAnchor } from '../../service/domain/anchor.js';
import { CODE, outcome, runs } from './support.js';

const ECDSA = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
let keys: CryptoKeyPair;
beforeAll(async () => {
  x509.cryptoProvider.set(webcrypto as unknown as Crypto);
  keys = (await webcrypto.subtle.generateKey(ECDSA, false, ['sign', 'verify'])) as CryptoKeyPair;
});

const KNOWN = ['2.5.29.19', '2.5.29.15', '2.5.29.17', '2.5.29.30', '2.5.29.31', '2.5.29.32', '2.5.29.37', '1.3.6.1.5.5.7.1.1', '2.5.29.14', '2.5.29.35'];

/** DER nested `depth` deep (SEQUENCE in SEQUENCE ...), with long-form lengths. */
function nested(depth: number, tag = 0x30): Uint8Array {
  let inner: Buffer = Buffer.from([0x05, 0x00]);
  for (let i = 0; i < depth; i++) {
    const len = inner.length;
    const head = len < 128 ? Buffer.from([tag, len]) : len < 256 ? Buffer.from([tag, 0x81, len]) : len < 65536 ? Buffer.from([tag, 0x82, len >> 8, len & 255]) : Buffer.from([tag, 0x83, len >> 16, (len >> 8) & 255, len & 255]);
    inner = Buffer.concat([head, inner]);
  }
  return new Uint8Array(inner);
}

const value = fc.oneof(
  fc.uint8Array({ maxLength: 64 }),
  fc.integer({ min: 1, max: 5000 }).map((d) => nested(d)),
  fc.integer({ min: 1, max: 2000 }).map((d) => nested(d, 0xa0)),
  fc.integer({ min: 1, max: 120_000 }).map((n) => new Uint8Array(Buffer.concat([Buffer.from([0x04, 0x83, n >> 16, (n >> 8) & 255, n & 255]), Buffer.alloc(n, 0x41)]))),
  // Indefinite and over-long lengths that lie about what follows.
  fc.constantFrom(new Uint8Array([0x30, 0x80, 0x30, 0x80]), new Uint8Array([0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), new Uint8Array([0x30, 0x89, 1, 2, 3, 4, 5, 6, 7, 8, 9])),
);
const oid = fc.oneof(fc.constantFrom(...KNOWN), fc.array(fc.integer({ min: 0, max: 2 ** 31 - 1 }), { minLength: 1, maxLength: 12 }).map((arcs) => `1.3.6.1.4.1.${arcs.join('.')}`));
const extension = fc.record({ oid, critical: fc.boolean(), value });
// Many extensions, each small: 400 of the 120 KB kind would only time the test's own certificate generator.
const smallExtension = fc.record({ oid, critical: fc.boolean(), value: fc.uint8Array({ maxLength: 64 }) });
const extensions = fc.oneof(fc.array(extension, { maxLength: 8 }), fc.tuple(smallExtension, fc.integer({ min: 50, max: 400 })).map(([e, n]) => Array.from({ length: n }, () => e)));

async function certificate(exts: { oid: string; critical: boolean; value: Uint8Array }[]): Promise<Uint8Array> {
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=Keyshare Fuzz CA',
    notBefore: new Date('2025-01-01T00:00:00Z'),
    notAfter: new Date('2045-01-01T00:00:00Z'),
    signingAlgorithm: ECDSA,
    keys,
    extensions: exts.map((e) => new x509.Extension(e.oid, e.critical, new Uint8Array(e.value))),
  });
  return new Uint8Array(cert.rawData);
}

describe('certificates with odd extensions (issue 16)', () => {
  it('are parsed, or refused with a coded error, as certificates and as anchors', async () => {
    const now = new Date('2026-06-01T00:00:00Z');
    await fc.assert(
      fc.asyncProperty(extensions, fc.constantFrom('ca', 'signingAuthority', 'tsa', undefined), async (exts, type) => {
        const der = await certificate(exts);
        const parsed = await outcome(() => parseCertificate(der));
        expect(der.length > MAX_MATERIAL_BYTES ? ['BAD_CERTIFICATE'] : ['ok', 'BAD_CERTIFICATE']).toContain(parsed);
        // outcome() fails the property on anything but a return or a coded KeyshareError.
        const anchor = await outcome(() => buildAnchor({ scope: 'registry.test', certificate: der, type: type as never }, now));
        expect(anchor === 'ok' || CODE.test(anchor)).toBe(true);
      }),
      runs(25),
    );
  }, 120_000);

  it('over the size cap are refused before parsing, as DER and as PEM', async () => {
    const der = await certificate([{ oid: '1.3.6.1.4.1.99999.1', critical: false, value: new Uint8Array(Buffer.concat([Buffer.from([0x04, 0x83, 0x04, 0x10, 0x00]), Buffer.alloc(0x041000, 0x41)])) }]);
    expect(der.length).toBeGreaterThan(MAX_MATERIAL_BYTES);
    expect(await outcome(() => parseCertificate(der))).toBe('BAD_CERTIFICATE');
    const pem = `-----BEGIN CERTIFICATE-----\n${Buffer.from(der).toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
    expect(await outcome(() => parseCertificate(pem))).toBe('BAD_CERTIFICATE');
    expect(await outcome(() => buildAnchor({ scope: 'registry.test', certificate: pem }, new Date()))).toBe('BAD_CERTIFICATE');
  });
});
