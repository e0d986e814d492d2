import { describe, expect, it } from 'vitest';
import { detectMaterial } from '../../../service/crypto/index.js';
import { readFixture, readFixtureText } from '../../../fixtures/index.js';

describe('detectMaterial', () => {
  it.each([
    ['certs/root-ca.pem', 'certificate'],
    ['certs/root-ca.der', 'certificate'],
    ['certs/chain.pem', 'certificate'],
    ['keys/ec-p256.pub.pem', 'publicKey'],
    ['keys/ec-p256.pub.der', 'publicKey'],
    ['keys/rsa-2048.pkcs1.pem', 'publicKey'],
    ['keys/ec-secp256k1.pub.pem', 'publicKey'],
    ['pgp/release.pub.asc', 'pgp'],
    ['pgp/release.pub.gpg', 'pgp'],
    ['pgp/v6.pub.asc', 'pgp'],
    ['keys/ec-p256.key.pem', 'privateKey'],
    ['certs/root-ca.key.pem', 'privateKey'],
    ['pgp/release.key.asc', 'privateKey'],
    ['garbage/random.bin', 'unknown'],
    ['garbage/empty.bin', 'unknown'],
    ['certs/garbage.der', 'unknown'],
  ])('detects %s as %s', (file, kind) => {
    expect(detectMaterial(readFixture(file))).toBe(kind);
  });

  it('detects text input the same as bytes', () => {
    expect(detectMaterial(readFixtureText('certs/root-ca.pem'))).toBe('certificate');
    expect(detectMaterial(readFixtureText('keys/ed25519.pub.pem'))).toBe('publicKey');
    expect(detectMaterial(readFixtureText('pgp/second.pub.asc'))).toBe('pgp');
    expect(detectMaterial('not a key')).toBe('unknown');
  });

  it('detects an OpenPGP secret key packet in binary as privateKey', () => {
    // RFC 4880 6.2: drop the armor lines, the blank line and the "=" checksum line.
    const body = readFixtureText('pgp/release.key.asc')
      .split(/\r?\n/)
      .filter((l) => l && !l.startsWith('-----') && !l.startsWith('=') && !l.includes(': '))
      .join('');
    expect(detectMaterial(Buffer.from(body, 'base64'))).toBe('privateKey');
  });
});
