/**
 * Fuzzing the crypto boundary (service/crypto): certificates, public keys, OpenPGP keys and
 * CRLs, as PEM text, DER bytes and armor, from random bytes and from mutated valid fixtures.
 * Property: every parser returns, or throws a KeyshareError with a stable code (never a
 * TypeError, a RangeError or an asn1js exception), and what it returns is self-consistent.
 */
import fc from 'fast-check';
import { armorPublicKey, craftPgpKey } from '../support/pgp-craft.js';
import { PGP_TIME_LIMIT_MS } from '../../service/crypto/sandbox.js';
import { describe, expect, it } from 'vitest';
import { readFixture, readFixtureText } from '../../fixtures/index.js';
import { detectMaterial, encodePem, parseCertificate, parseCertificateChain, parseCrl, parsePgpPublicKey, parsePublicKey, sha256Hex } from '../../service/crypto/index.js';
import { buildAnchor } from '../../service/domain/anchor.js';
import { mutated, mutatedText, outcome, runs } from './support.js';

const certDer = [readFixture('certs/root-ca.der'), Buffer.from(parseCertificate(readFixtureText('certs/leaf.pem')).der)];
const certPem = [readFixtureText('certs/root-ca.pem'), readFixtureText('certs/chain.pem')];
const keyPem = ['ec-p256.pub.pem', 'rsa-2048.pub.pem', 'ed25519.pub.pem', 'ec-p384.pub.pem'].map((f) => readFixtureText(`keys/${f}`));
const keyDer = [readFixture('keys/ec-p256.pub.der')];
const crlDer = [readFixture('crls/intermediate-ca.crl'), readFixture('crls/root-ca.crl')];
const crlPem = [readFixtureText('crls/intermediate-ca.crl.pem')];
const pgpArmor = [readFixtureText('pgp/release.pub.asc')];
const pgpBinary = [readFixture('pgp/release.pub.gpg')];

/** Random bytes, random text, and PEM blocks with random bodies under every label we read. */
const junk = fc.oneof(
  fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.from(b)),
  fc.string({ maxLength: 256 }),
  fc
    .tuple(fc.constantFrom('CERTIFICATE', 'PUBLIC KEY', 'X509 CRL', 'CRL', 'RSA PUBLIC KEY', 'PRIVATE KEY', 'EC PRIVATE KEY', 'PGP PUBLIC KEY BLOCK'), fc.uint8Array({ maxLength: 300 }))
    .map(([label, der]) => encodePem(label, der)),
);

describe('X.509 certificates', () => {
  it('parseCertificate and parseCertificateChain refuse mutated DER and PEM with BAD_CERTIFICATE, or parse it consistently', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(mutated(certDer), mutatedText(certPem), junk), async (input) => {
        const r = await outcome(() => {
          const c = parseCertificate(input);
          // The ID is the hash of exactly the DER that was parsed (CONTRACT.md "Anchor IDs").
          expect(c.id).toBe(`sha256:${sha256Hex(c.der)}`);
          expect(c.serialHex).toMatch(/^[0-9a-f]*$/);
        });
        expect(['ok', 'BAD_CERTIFICATE']).toContain(r);
        // A chain member's key is also held to the allow-list (issue 16, service/crypto/key-policy.ts).
        expect(['ok', 'BAD_CERTIFICATE', 'UNSUPPORTED_KEY']).toContain(await outcome(() => parseCertificateChain(input)));
        detectMaterial(input); // never throws
      }),
      runs(300),
    );
  });

  it('buildAnchor refuses any mutated certificate with a coded error', async () => {
    const now = new Date();
    await fc.assert(
      fc.asyncProperty(fc.oneof(mutated(certDer), mutatedText(certPem)), fc.constantFrom('ca', 'signingAuthority', 'tsa', undefined), async (certificate, type) => {
        await outcome(() => buildAnchor({ scope: 'registry.test', certificate: typeof certificate === 'string' ? certificate : new Uint8Array(certificate), type: type as never }, now));
      }),
      runs(150),
    );
  });
});

describe('public keys', () => {
  it('parsePublicKey refuses mutated SPKI DER and PEM with BAD_PUBLIC_KEY or UNSUPPORTED_KEY', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(mutated(keyDer), mutatedText(keyPem), junk), async (input) => {
        const r = await outcome(() => {
          const k = parsePublicKey(input);
          expect(k.id).toBe(`sha256:${sha256Hex(k.spkiDer)}`);
        });
        expect(['ok', 'BAD_PUBLIC_KEY', 'UNSUPPORTED_KEY']).toContain(r);
      }),
      runs(300),
    );
  });
});

describe('OpenPGP keys', () => {
  it('parsePgpPublicKey refuses mutated armor and packets with BAD_PGP_KEY or UNSUPPORTED_KEY', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(mutated(pgpBinary), mutatedText(pgpArmor), junk), async (input) => {
        const r = await outcome(async () => {
          const k = await parsePgpPublicKey(input);
          expect(k.id).toMatch(/^pgp:[0-9a-f]{40}$/);
        });
        expect(['ok', 'BAD_PGP_KEY', 'UNSUPPORTED_KEY']).toContain(r);
      }),
      runs(100),
    );
  });
});

describe('OpenPGP parameter bombs (issue 16, finding 1)', () => {
  // Any algorithm, any MPI sizes (up to 16,384 bits), any counts of user IDs, signatures and subkeys.
  const crafted = fc.record({
    algorithm: fc.oneof(fc.constantFrom(1, 2, 3, 16, 17, 18, 19, 20, 22, 25, 26, 27, 28), fc.integer({ min: 0, max: 255 })),
    mpiBits: fc.array(fc.integer({ min: 1, max: 16_384 }), { minLength: 1, maxLength: 5 }),
    curveOid: fc.option(fc.oneof(fc.constantFrom([0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07], [0x2b, 0x81, 0x04, 0x00, 0x0a]), fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 12 })), { nil: undefined }),
    userIds: fc.integer({ min: 0, max: 40 }),
    signatures: fc.integer({ min: 0, max: 6 }),
    subkeys: fc.integer({ min: 0, max: 20 }),
  });
  it('refuses each with BAD_PGP_KEY or UNSUPPORTED_KEY, within the worker time limit', async () => {
    await fc.assert(
      fc.asyncProperty(crafted, fc.boolean(), async (k, armored) => {
        const bytes = craftPgpKey(k);
        const t = performance.now();
        const r = await outcome(() => parsePgpPublicKey(armored ? armorPublicKey(bytes) : bytes));
        expect(['BAD_PGP_KEY', 'UNSUPPORTED_KEY']).toContain(r);
        expect(performance.now() - t).toBeLessThan(PGP_TIME_LIMIT_MS + 1_000);
      }),
      runs(60),
    );
  });
});

describe('CRLs', () => {
  it('parseCrl refuses mutated DER and PEM with CRL_INVALID or CRL_TOO_LARGE, or parses it consistently', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(mutated(crlDer), mutatedText(crlPem), junk), async (input) => {
        const r = await outcome(() => {
          const c = parseCrl(input);
          expect(c.digest).toBe(`sha256:${sha256Hex(c.der)}`);
          for (const e of c.entries) expect(e.serialHex).toMatch(/^[0-9a-f]*$/);
        });
        expect(['ok', 'CRL_INVALID', 'CRL_TOO_LARGE']).toContain(r);
      }),
      runs(300),
    );
  });
});
