import { describe, expect, it } from 'vitest';
import { rsaSpki } from '../../support/x509-craft.js';
import { parsePublicKey } from '../../../service/crypto/index.js';
import { readFixture, readFixtureText } from '../../../fixtures/index.js';
import { expectCode, expectedSpkiId, sha256 } from './helpers.js';

describe('parsePublicKey', () => {
  describe.each([
    ['EC P-256', 'ec-p256', 'ecdsa-p256', 256],
    ['EC P-384', 'ec-p384', 'ecdsa-p384', 384],
    ['RSA 2048', 'rsa-2048', 'rsa', 2048],
    ['Ed25519', 'ed25519', 'ed25519', undefined],
  ])('when given an %s public key', (_what, name, algorithm, bits) => {
    const pem = readFixtureText(`keys/${name}.pub.pem`);
    const key = parsePublicKey(pem);

    it('uses sha256 of the SPKI DER as the ID', () => {
      expect(key.id).toBe(expectedSpkiId(pem));
      expect(key.id).toMatch(/^sha256:[0-9a-f]{64}$/);
    });

    it('reports the algorithm and size', () => {
      expect(key.algorithm).toBe(algorithm);
      expect(key.bits).toBe(bits);
    });

    it('normalises the PEM', () => {
      expect(key.pem).toBe(pem.trim() + '\n');
    });
  });

  describe('when the same key is given as DER', () => {
    it('gives the same ID as the PEM form', () => {
      const der = readFixture('keys/ec-p256.pub.der');
      const fromDer = parsePublicKey(der);
      expect(fromDer.id).toBe(parsePublicKey(readFixtureText('keys/ec-p256.pub.pem')).id);
      expect(fromDer.id).toBe(`sha256:${sha256(der)}`);
      expect(fromDer.pem).toBe(readFixtureText('keys/ec-p256.pub.pem'));
    });
  });

  describe('when an RSA key is given as PKCS#1 "RSA PUBLIC KEY"', () => {
    it('gives the same ID as its SPKI form', () => {
      const pkcs1 = parsePublicKey(readFixtureText('keys/rsa-2048.pkcs1.pem'));
      expect(pkcs1.id).toBe(expectedSpkiId(readFixtureText('keys/rsa-2048.pub.pem')));
      expect(pkcs1.pem).toBe(readFixtureText('keys/rsa-2048.pub.pem'));
    });
  });

  describe('when the PEM comes as bytes with surrounding whitespace', () => {
    it('gives the same ID', () => {
      const pem = readFixtureText('keys/ec-p256.pub.pem');
      expect(parsePublicKey(Buffer.from(`\n\n  ${pem}\n  `)).id).toBe(expectedSpkiId(pem));
    });
  });

  describe('when the key algorithm is not supported', () => {
    it.each([
      ['EC secp256k1', 'keys/ec-secp256k1.pub.pem'],
      ['RSA 1024', 'keys/rsa-1024.pub.pem'],
      ['X25519', 'keys/x25519.pub.pem'],
      ['DSA', 'keys/dsa-2048.pub.pem'],
    ])('refuses %s with UNSUPPORTED_KEY', async (_what, file) => {
      await expectCode(() => parsePublicKey(readFixtureText(file)), 'UNSUPPORTED_KEY');
    });

    it('refuses an RSA key over 8,192 bits with UNSUPPORTED_KEY (the one allow-list, service/crypto/key-policy.ts)', async () => {
      await expectCode(() => parsePublicKey(rsaSpki(16_384)), 'UNSUPPORTED_KEY');
    });
  });

  describe('when the key is ECDSA P-521 (on the allow-list of every key kind, issue 16)', () => {
    it('accepts it', () => {
      expect(parsePublicKey(readFixtureText('keys/ec-p521.pub.pem'))).toMatchObject({ algorithm: 'ecdsa-p521', bits: 521 });
    });
  });

  describe('when the input is not a public key', () => {
    it.each([
      ['a truncated PEM', 'keys/truncated.pub.pem'],
      ['a garbage PEM', 'keys/garbage.pub.pem'],
      ['random bytes', 'garbage/random.bin'],
      ['a certificate', 'certs/root-ca.pem'],
      ['nothing', 'garbage/empty.bin'],
    ])('refuses %s with BAD_PUBLIC_KEY', async (_what, file) => {
      await expectCode(() => parsePublicKey(readFixture(file)), 'BAD_PUBLIC_KEY');
    });
  });

  describe('when a private key is given by mistake', () => {
    it.each(['keys/ec-p256.key.pem', 'keys/rsa-2048.key.pem', 'keys/ed25519.key.pem'])(
      'refuses %s with BAD_PUBLIC_KEY and says never to upload private keys',
      async (file) => {
        const err = await expectCode(() => parsePublicKey(readFixtureText(file)), 'BAD_PUBLIC_KEY');
        expect(err.message).toMatch(/never upload private keys/);
      },
    );

    it('refuses a PKCS#8 DER private key with BAD_PUBLIC_KEY', async () => {
      const { createPrivateKey } = await import('node:crypto');
      const der = createPrivateKey(readFixtureText('keys/ec-p256.key.pem')).export({ type: 'pkcs8', format: 'der' });
      await expectCode(() => parsePublicKey(der), 'BAD_PUBLIC_KEY');
    });
  });
});

describe('parsePublicKey of PEM text it has read before (bench B4: a key repeated over many scopes)', () => {
  it('gives the same key again, and still refuses text that is bad each time', async () => {
    const text = readFixtureText('keys/ed25519.pub.pem');
    const first = parsePublicKey(text);
    const again = parsePublicKey(text);
    expect(again).toEqual(first);
    expect(again).not.toBe(first);
    const truncated = text.replace(/\n[^-]+=\n/, (body) => `${body.slice(0, 20)}\n`);
    for (let i = 0; i < 2; i++) await expectCode(() => parsePublicKey(truncated), 'BAD_PUBLIC_KEY');
  });
});
