import { describe, expect, it } from 'vitest';
import { parsePgpPublicKey, pgpKeyring } from '../../../service/crypto/index.js';
import { readFixture, readFixtureText } from '../../../fixtures/index.js';
import { expectCode, expectedPgpFingerprint } from './helpers.js';

describe('parsePgpPublicKey', () => {
  describe('when given an armored v4 ed25519 public key', () => {
    it('uses pgp:<v4 fingerprint> as the ID', async () => {
      const key = await parsePgpPublicKey(readFixtureText('pgp/release.pub.asc'));
      const fpr = expectedPgpFingerprint(readFixture('pgp/release.pub.gpg'));
      expect(key.fingerprint).toBe(fpr);
      expect(key.id).toBe(`pgp:${fpr}`);
      expect(key.id).toMatch(/^pgp:[0-9a-f]{40}$/);
    });

    it('reads the user IDs, creation time and no expiry', async () => {
      const key = await parsePgpPublicKey(readFixtureText('pgp/release.pub.asc'));
      expect(key.userIds).toEqual(['Keyshare Release <release@keyshare.test>']);
      expect(key.created.toISOString()).toBe('2025-01-01T00:00:00.000Z');
      expect(key.expires).toBeNull();
    });

    it('re-armors it as a public key and gives its binary form', async () => {
      const key = await parsePgpPublicKey(readFixtureText('pgp/release.pub.asc'));
      expect(key.armored).toMatch(/^-----BEGIN PGP PUBLIC KEY BLOCK-----/);
      expect(Buffer.from(key.binary).equals(readFixture('pgp/release.pub.gpg'))).toBe(true);
    });
  });

  describe('when the key expires', () => {
    it('reports the expiry', async () => {
      const key = await parsePgpPublicKey(readFixtureText('pgp/second.pub.asc'));
      expect(key.expires?.toISOString()).toBe('2044-12-27T00:00:00.000Z');
    });
  });

  describe('when the same key is given in binary', () => {
    it('gives the same ID as the armored form', async () => {
      const binary = await parsePgpPublicKey(readFixture('pgp/second.pub.gpg'));
      const armored = await parsePgpPublicKey(readFixtureText('pgp/second.pub.asc'));
      expect(binary.id).toBe(armored.id);
      expect(binary.id).toBe(`pgp:${expectedPgpFingerprint(readFixture('pgp/second.pub.gpg'))}`);
    });

    it('accepts armored text given as bytes', async () => {
      const key = await parsePgpPublicKey(readFixture('pgp/second.pub.asc'));
      expect(key.userIds).toEqual(['Keyshare Second <second@keyshare.test>']);
    });
  });

  describe('when the key is a v6 key', () => {
    it('refuses it with UNSUPPORTED_KEY', async () => {
      await expectCode(() => parsePgpPublicKey(readFixtureText('pgp/v6.pub.asc')), 'UNSUPPORTED_KEY');
    });
  });

  describe('when the input is not exactly one OpenPGP public key', () => {
    it.each([
      ['a private key', 'pgp/release.key.asc'],
      ['two keys', 'pgp/two-keys.pub.gpg'],
      ['garbage armor', 'pgp/garbage.asc'],
      ['random bytes', 'garbage/random.bin'],
      ['nothing', 'garbage/empty.bin'],
      ['a PEM public key', 'keys/ec-p256.pub.pem'],
    ])('refuses %s with BAD_PGP_KEY', async (_what, file) => {
      await expectCode(() => parsePgpPublicKey(readFixture(file)), 'BAD_PGP_KEY');
    });
  });
});

describe('pgpKeyring', () => {
  describe('when given two armored keys', () => {
    it('writes one binary keyring with both keys in order', async () => {
      const ring = await pgpKeyring([readFixtureText('pgp/release.pub.asc'), readFixtureText('pgp/second.pub.asc')]);
      expect(Buffer.from(ring).equals(readFixture('pgp/two-keys.pub.gpg'))).toBe(true);
    });
  });

  describe('when a key is given twice', () => {
    it('writes it once', async () => {
      const release = readFixtureText('pgp/release.pub.asc');
      const ring = await pgpKeyring([release, release]);
      expect(Buffer.from(ring).equals(readFixture('pgp/release.pub.gpg'))).toBe(true);
    });
  });

  describe('when one of the keys is bad', () => {
    it('refuses the keyring with BAD_PGP_KEY', async () => {
      await expectCode(
        () => pgpKeyring([readFixtureText('pgp/release.pub.asc'), readFixtureText('pgp/garbage.asc')]),
        'BAD_PGP_KEY',
      );
    });
  });
});
