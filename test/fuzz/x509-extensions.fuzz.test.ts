/**
 * Issue 16, the fuzz harness: X.509 extensions and sizes. Certificates that are validly signed
 * but carry odd extensions (many, huge, deeply nested, unknown critical ones, junk in the known
 * ones: basicConstraints, keyUsage, subjectAltName, nameConstraints, CRL distribution points,
 * certificate policies) reach the certificate parser and the anchor checks. Property: each is
 * parsed or refused with a coded error (never a TypeError or an asn1js exception); one over the
 * size cap, or over the extension, element or depth caps (x509-screen.ts), is refused before any
 * parsing; an anchor with an unrecognised critical extension is refused (RFC 5280 4.2). Runs `runs(n)` times, x KEYSHARE_FUZZ_SCALE in the soak.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_MATERIAL_BYTES, parseCertificate } from '../../service/crypto/index.js';
import { RECOGNISED_EXTENSIONS } from '../../service/crypto/x509.js';
import { X509_LIMITS } from '../../service/crypto/x509-screen.js';
import { buildAnchor } from '../../service/domain/anchor.js';
import { certificatePem, craftCertificate as certificate, nestedDer as nested } from '../support/x509-craft.js';
import { CODE, outcome, runs } from './support.js';

const KNOWN = ['2.5.29.19', '2.5.29.15', '2.5.29.17', '2.5.29.30', '2.5.29.31', '2.5.29.32', '2.5.29.37', '1.3.6.1.5.5.7.1.1', '2.5.29.14', '2.5.29.35'];

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

describe('certificates with odd extensions (issue 16)', () => {
  it('are parsed, or refused with a coded error, as certificates and as anchors', async () => {
    const now = new Date('2026-06-01T00:00:00Z');
    await fc.assert(
      fc.asyncProperty(extensions, fc.constantFrom('ca', 'signingAuthority', 'tsa', undefined), async (exts, type) => {
        const der = await certificate(exts);
        const parsed = await outcome(() => parseCertificate(der));
        // Over the size cap, or over the extension cap (basicConstraints is one more): refused.
        const overCap = der.length > MAX_MATERIAL_BYTES || exts.length + 1 > X509_LIMITS.extensions;
        expect(overCap ? ['BAD_CERTIFICATE'] : ['ok', 'BAD_CERTIFICATE']).toContain(parsed);
        // outcome() fails the property on anything but a return or a coded KeyshareError.
        const anchor = await outcome(() => buildAnchor({ scope: 'registry.test', certificate: der, type: type as never }, now));
        expect(anchor === 'ok' || CODE.test(anchor)).toBe(true);
        // RFC 5280 4.2: an unrecognised critical extension refuses the anchor.
        if (exts.some((e) => e.critical && !RECOGNISED_EXTENSIONS.has(e.oid))) expect(anchor).toBe('BAD_CERTIFICATE');
      }),
      runs(25),
    );
  }, 120_000);

  it('over the size cap are refused before parsing, as DER and as PEM', async () => {
    const der = await certificate([{ oid: '1.3.6.1.4.1.99999.1', critical: false, value: new Uint8Array(Buffer.concat([Buffer.from([0x04, 0x83, 0x04, 0x10, 0x00]), Buffer.alloc(0x041000, 0x41)])) }]);
    expect(der.length).toBeGreaterThan(MAX_MATERIAL_BYTES);
    expect(await outcome(() => parseCertificate(der))).toBe('BAD_CERTIFICATE');
    const pem = certificatePem(der);
    expect(await outcome(() => parseCertificate(pem))).toBe('BAD_CERTIFICATE');
    expect(await outcome(() => buildAnchor({ scope: 'registry.test', certificate: pem }, new Date()))).toBe('BAD_CERTIFICATE');
  });

  it('within the size cap but over the element, depth or extension caps are refused before parsing', async () => {
    const now = new Date('2026-06-01T00:00:00Z');
    for (const [exts, message] of [
      [Array.from({ length: 3000 }, (_, i) => ({ oid: `1.3.6.1.4.1.99999.${i}`, critical: false, value: new Uint8Array([5, 0]) })), 'ASN.1 elements'],
      [Array.from({ length: X509_LIMITS.extensions }, (_, i) => ({ oid: `1.3.6.1.4.1.99999.${i}`, critical: false, value: new Uint8Array([5, 0]) })), 'extensions'],
      [[{ oid: '1.3.6.1.4.1.99999.1', critical: false, value: nested(40_000) }], 'deeper than'],
      [[{ oid: '2.5.29.17', critical: false, value: nested(X509_LIMITS.depth) }], 'deeper than'],
    ] as const) {
      const der = await certificate([...exts]);
      expect(der.length).toBeLessThan(MAX_MATERIAL_BYTES);
      expect(() => parseCertificate(der)).toThrow(message);
      await expect(buildAnchor({ scope: 'registry.test', certificate: der }, now)).rejects.toMatchObject({ code: 'BAD_CERTIFICATE', message: expect.stringContaining(message) });
      await expect(buildAnchor({ scope: 'registry.test', certificate: certificatePem(der) }, now)).rejects.toMatchObject({ code: 'BAD_CERTIFICATE' });
    }
  });

  it('refuse an anchor with an unrecognised critical extension, and accept the recognised ones', async () => {
    const now = new Date('2026-06-01T00:00:00Z');
    const unknown = await certificate([{ oid: '1.3.6.1.4.1.99999.7', critical: true, value: new Uint8Array([5, 0]) }]);
    expect(parseCertificate(unknown).unknownCriticalExtensions).toEqual(['1.3.6.1.4.1.99999.7']);
    await expect(buildAnchor({ scope: 'registry.test', certificate: unknown }, now)).rejects.toMatchObject({ code: 'BAD_CERTIFICATE', message: expect.stringContaining('1.3.6.1.4.1.99999.7') });
    // Not critical: ignored (RFC 5280 4.2).
    const ignored = await certificate([{ oid: '1.3.6.1.4.1.99999.7', critical: false, value: new Uint8Array([5, 0]) }]);
    expect((await buildAnchor({ scope: 'registry.test', certificate: ignored }, now)).type).toBe('ca');
    // A critical keyUsage (keyCertSign, cRLSign) is recognised.
    const ku = await certificate([{ oid: '2.5.29.15', critical: true, value: new Uint8Array([0x03, 0x02, 0x01, 0x06]) }]);
    expect((await buildAnchor({ scope: 'registry.test', certificate: ku }, now)).type).toBe('ca');
  });
});
