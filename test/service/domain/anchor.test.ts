import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  anchorBuilder,
  anchorExpiry,
  buildAnchor,
  normalizeAnchorId,
  normalizeIdentities,
} from '../../../service/domain/anchor.js';
import { readFixture, readFixtureText } from '../../../fixtures/index.js';
import { expectCode, expectedCertId, expectedPgpFingerprint, expectedSpkiId } from '../crypto/helpers.js';

const NOW = new Date('2026-01-01T00:00:00Z');
const SCOPE = 'registry.acme.io/team-a';

describe('buildAnchor', () => {
  describe('when given a CA certificate', () => {
    it('makes a ca anchor with the certificate ID, PEM, subject and expiry', async () => {
      const pem = readFixtureText('certs/root-ca.pem');
      const anchor = await buildAnchor({ scope: SCOPE, certificate: pem }, NOW);
      expect(anchor).toEqual({
        scope: SCOPE,
        id: expectedCertId(pem),
        name: 'Keyshare Test Root CA',
        type: 'ca',
        material: pem,
        trustedIdentities: null,
        notAfter: '2045-01-01T00:00:00.000Z',
        subject: 'CN=Keyshare Test Root CA, O=Keyshare Fixtures, ST=WA, C=US',
        // For revocation: the key inside (revoke key by SPKI ID), and the serial with the issuer name.
        keyId: expectedSpkiId(new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'pem' }).toString()),
        serial: '0a1b',
        issuerName: 'CN=Keyshare Test Root CA, O=Keyshare Fixtures, ST=WA, C=US',
      });
    });

    it('gives the same anchor for PEM and DER', async () => {
      const fromPem = await buildAnchor({ scope: SCOPE, certificate: readFixtureText('certs/root-ca.pem') }, NOW);
      const fromDer = await buildAnchor({ scope: SCOPE, certificate: readFixture('certs/root-ca.der') }, NOW);
      expect(fromDer).toEqual(fromPem);
    });

    it('accepts it as a tsa anchor', async () => {
      const anchor = await buildAnchor({ scope: '*', certificate: readFixtureText('certs/tsa-ca.pem'), type: 'tsa' }, NOW);
      expect(anchor.type).toBe('tsa');
      expect(anchor.scope).toBe('*');
    });

    it('keeps the given name and trusted identities', async () => {
      const anchor = await buildAnchor(
        {
          scope: SCOPE,
          certificate: readFixtureText('certs/intermediate-ca.pem'),
          name: 'acme-intermediate',
          trustedIdentities: ['x509.subject: CN=Keyshare Test Signer, O=Keyshare Fixtures, ST=WA, C=US'],
        },
        NOW,
      );
      expect(anchor.name).toBe('acme-intermediate');
      expect(anchor.trustedIdentities).toEqual(['x509.subject: CN=Keyshare Test Signer, O=Keyshare Fixtures, ST=WA, C=US']);
    });
  });

  describe('when the certificate is not a CA', () => {
    it('refuses it as a ca anchor with NOT_A_CA', async () => {
      await expectCode(() => buildAnchor({ scope: SCOPE, certificate: readFixtureText('certs/non-ca.pem') }, NOW), 'NOT_A_CA');
      await expectCode(() => buildAnchor({ scope: SCOPE, certificate: readFixtureText('certs/leaf.pem'), type: 'ca' }, NOW), 'NOT_A_CA');
    });

    it('refuses it as a tsa anchor with NOT_A_CA', async () => {
      await expectCode(
        () => buildAnchor({ scope: SCOPE, certificate: readFixtureText('certs/leaf.pem'), type: 'tsa' }, NOW),
        'NOT_A_CA',
      );
    });

    it('accepts it as a signingAuthority anchor', async () => {
      const pem = readFixtureText('certs/leaf.pem');
      const anchor = await buildAnchor({ scope: SCOPE, certificate: pem, type: 'signingAuthority' }, NOW);
      expect(anchor.type).toBe('signingAuthority');
      expect(anchor.id).toBe(expectedCertId(pem));
      expect(anchor.name).toBe('Keyshare Test Signer');
    });
  });

  describe('when the certificate has expired', () => {
    it('refuses it with CERT_EXPIRED', async () => {
      await expectCode(() => buildAnchor({ scope: SCOPE, certificate: readFixtureText('certs/expired-ca.pem') }, NOW), 'CERT_EXPIRED');
    });

    it('refuses a signingAuthority past its notAfter with CERT_EXPIRED', async () => {
      const later = new Date('2036-01-01T00:00:00Z');
      await expectCode(
        () => buildAnchor({ scope: SCOPE, certificate: readFixtureText('certs/leaf.pem'), type: 'signingAuthority' }, later),
        'CERT_EXPIRED',
      );
    });
  });

  describe('when the certificate is not yet valid', () => {
    it('refuses it with CERT_NOT_YET_VALID', async () => {
      await expectCode(
        () => buildAnchor({ scope: SCOPE, certificate: readFixtureText('certs/not-yet-valid-ca.pem') }, NOW),
        'CERT_NOT_YET_VALID',
      );
    });

    it('accepts it once the clock reaches notBefore', async () => {
      const anchor = await buildAnchor(
        { scope: SCOPE, certificate: readFixtureText('certs/not-yet-valid-ca.pem') },
        new Date('2040-01-01T00:00:00Z'),
      );
      expect(anchor.notAfter).toBe('2050-01-01T00:00:00.000Z');
    });
  });

  describe('when the certificate is garbage', () => {
    it.each(['certs/garbage.pem', 'certs/garbage.der', 'certs/truncated.pem', 'certs/chain.pem', 'garbage/random.bin'])(
      'refuses %s with BAD_CERTIFICATE',
      async (file) => {
        await expectCode(() => buildAnchor({ scope: SCOPE, certificate: readFixture(file) }, NOW), 'BAD_CERTIFICATE');
      },
    );
  });

  describe('when a public key is given as the certificate', () => {
    it('refuses it with ANCHOR_INVALID', async () => {
      await expectCode(
        () => buildAnchor({ scope: SCOPE, certificate: readFixtureText('keys/ec-p256.pub.pem') }, NOW),
        'ANCHOR_INVALID',
      );
    });
  });

  describe('when a certificate anchor has a key type', () => {
    it.each(['publicKey', 'pgp'] as const)('refuses type %s with ANCHOR_INVALID', async (type) => {
      await expectCode(
        () => buildAnchor({ scope: SCOPE, certificate: readFixtureText('certs/root-ca.pem'), type }, NOW),
        'ANCHOR_INVALID',
      );
    });
  });

  describe('when given a PEM public key', () => {
    it('makes a publicKey anchor with the SPKI ID', async () => {
      const pem = readFixtureText('keys/ec-p256.pub.pem');
      const anchor = await buildAnchor({ scope: SCOPE, publicKey: pem, name: 'ci' }, NOW);
      expect(anchor).toEqual({
        scope: SCOPE,
        id: expectedSpkiId(pem),
        name: 'ci',
        type: 'publicKey',
        material: pem,
        trustedIdentities: null,
        notAfter: null,
        subject: null,
        keyId: expectedSpkiId(pem),
      });
    });

    it('gives the same ID for PEM and DER, and names it by its short ID', async () => {
      const fromPem = await buildAnchor({ scope: SCOPE, publicKey: readFixtureText('keys/ed25519.pub.pem') }, NOW);
      const fromDer = await buildAnchor({ scope: SCOPE, publicKey: readFixture('keys/ec-p256.pub.der') }, NOW);
      expect(fromDer.id).toBe(expectedSpkiId(readFixtureText('keys/ec-p256.pub.pem')));
      expect(fromPem.name).toBe(fromPem.id.slice(0, 'sha256:'.length + 12));
    });
  });

  describe('when given an OpenPGP public key', () => {
    it.each(['pgp/release.pub.asc', 'pgp/release.pub.gpg'])('makes a pgp anchor from %s', async (file) => {
      const anchor = await buildAnchor({ scope: SCOPE, publicKey: readFixture(file) }, NOW);
      expect(anchor.type).toBe('pgp');
      expect(anchor.id).toBe(`pgp:${expectedPgpFingerprint(readFixture('pgp/release.pub.gpg'))}`);
      expect(anchor.material).toMatch(/^-----BEGIN PGP PUBLIC KEY BLOCK-----/);
      expect(anchor.name).toBe('Keyshare Release <release@keyshare.test>');
      expect(anchor.trustedIdentities).toBeNull();
    });
  });

  describe('when a certificate is given as the key', () => {
    it('refuses it with ANCHOR_INVALID', async () => {
      await expectCode(() => buildAnchor({ scope: SCOPE, publicKey: readFixtureText('certs/root-ca.pem') }, NOW), 'ANCHOR_INVALID');
      await expectCode(() => buildAnchor({ scope: SCOPE, publicKey: readFixture('certs/root-ca.der') }, NOW), 'ANCHOR_INVALID');
    });
  });

  describe('when the key is not supported', () => {
    it('refuses it with UNSUPPORTED_KEY', async () => {
      await expectCode(() => buildAnchor({ scope: SCOPE, publicKey: readFixtureText('keys/ec-secp256k1.pub.pem') }, NOW), 'UNSUPPORTED_KEY');
      await expectCode(() => buildAnchor({ scope: SCOPE, publicKey: readFixtureText('keys/rsa-1024.pub.pem') }, NOW), 'UNSUPPORTED_KEY');
      await expectCode(() => buildAnchor({ scope: SCOPE, publicKey: readFixtureText('pgp/v6.pub.asc') }, NOW), 'UNSUPPORTED_KEY');
    });
  });

  describe('when the key is not a key', () => {
    it.each(['garbage/random.bin', 'garbage/empty.bin', 'keys/garbage.pub.pem', 'keys/truncated.pub.pem'])(
      'refuses %s with BAD_PUBLIC_KEY',
      async (file) => {
        await expectCode(() => buildAnchor({ scope: SCOPE, publicKey: readFixture(file) }, NOW), 'BAD_PUBLIC_KEY');
      },
    );

    it('refuses a garbage OpenPGP armor with BAD_PGP_KEY', async () => {
      await expectCode(() => buildAnchor({ scope: SCOPE, publicKey: readFixtureText('pgp/garbage.asc') }, NOW), 'BAD_PGP_KEY');
    });
  });

  describe('when a private key is given as the key', () => {
    it.each(['keys/ec-p256.key.pem', 'pgp/release.key.asc'])('refuses %s with BAD_PUBLIC_KEY', async (file) => {
      const err = await expectCode(() => buildAnchor({ scope: SCOPE, publicKey: readFixtureText(file) }, NOW), 'BAD_PUBLIC_KEY');
      expect(err.message).toMatch(/never upload private keys/);
    });
  });

  describe('when the key type does not match the key', () => {
    it('refuses it with ANCHOR_INVALID', async () => {
      const pgp = readFixtureText('pgp/release.pub.asc');
      const pem = readFixtureText('keys/ec-p256.pub.pem');
      await expectCode(() => buildAnchor({ scope: SCOPE, publicKey: pgp, type: 'publicKey' }, NOW), 'ANCHOR_INVALID');
      await expectCode(() => buildAnchor({ scope: SCOPE, publicKey: pem, type: 'pgp' }, NOW), 'ANCHOR_INVALID');
      await expectCode(() => buildAnchor({ scope: SCOPE, publicKey: pem, type: 'ca' }, NOW), 'ANCHOR_INVALID');
    });
  });

  describe('when a key anchor has trusted identities', () => {
    it('refuses it with ANCHOR_INVALID', async () => {
      await expectCode(
        () => buildAnchor({ scope: SCOPE, publicKey: readFixtureText('keys/ec-p256.pub.pem'), trustedIdentities: ['*'] }, NOW),
        'ANCHOR_INVALID',
      );
    });
  });

  describe('when neither or both of certificate and key are given', () => {
    it('refuses it with ANCHOR_INVALID', async () => {
      await expectCode(() => buildAnchor({ scope: SCOPE }, NOW), 'ANCHOR_INVALID');
      await expectCode(
        () =>
          buildAnchor(
            { scope: SCOPE, certificate: readFixtureText('certs/root-ca.pem'), publicKey: readFixtureText('keys/ec-p256.pub.pem') },
            NOW,
          ),
        'ANCHOR_INVALID',
      );
    });
  });

  describe('when the name is not 1 to 128 printable characters', () => {
    it.each([
      ['empty', ''],
      ['blank', '   '],
      ['too long', 'x'.repeat(129)],
      ['with a newline', 'acme\nroot'],
      ['with a NUL', 'acme\u0000'],
      ['with a bidi override', 'acme\u202eroot'],
    ])('refuses a name that is %s with ANCHOR_INVALID', async (_what, name) => {
      await expectCode(
        () => buildAnchor({ scope: SCOPE, certificate: readFixtureText('certs/root-ca.pem'), name }, NOW),
        'ANCHOR_INVALID',
      );
    });

    it('accepts 128 characters, including non-ASCII ones', async () => {
      const name = 'é'.repeat(128);
      const anchor = await buildAnchor({ scope: SCOPE, certificate: readFixtureText('certs/root-ca.pem'), name }, NOW);
      expect(anchor.name).toBe(name);
    });
  });

  describe('when a trusted identity is malformed', () => {
    it.each([
      ['not prefixed', ['CN=Keyshare Test Signer']],
      ['an empty subject', ['x509.subject:  ']],
      ['"*" mixed with others', ['*', 'x509.subject: CN=a']],
      ['an empty list', []],
    ])('refuses %s with ANCHOR_INVALID', async (_what, trustedIdentities) => {
      await expectCode(
        () => buildAnchor({ scope: SCOPE, certificate: readFixtureText('certs/root-ca.pem'), trustedIdentities }, NOW),
        'ANCHOR_INVALID',
      );
    });
  });
});

describe('normalizeIdentities', () => {
  it('reads absent and ["*"] as null ("*")', () => {
    expect(normalizeIdentities(undefined)).toBeNull();
    expect(normalizeIdentities(['*'])).toBeNull();
  });

  it('trims and de-duplicates identities', () => {
    expect(normalizeIdentities([' x509.subject: CN=a ', 'x509.subject: CN=a'])).toEqual(['x509.subject: CN=a']);
  });
});

describe('normalizeAnchorId', () => {
  describe('when the ID is in upper case', () => {
    it('lower-cases it', () => {
      const hex = 'AB'.repeat(32);
      expect(normalizeAnchorId(`SHA256:${hex}`)).toBe(`sha256:${hex.toLowerCase()}`);
      expect(normalizeAnchorId(`pgp:${'C9'.repeat(20)}`)).toBe(`pgp:${'c9'.repeat(20)}`);
    });

    it('matches the ID computed from the certificate', async () => {
      const anchor = await buildAnchor({ scope: SCOPE, certificate: readFixtureText('certs/root-ca.pem') }, NOW);
      expect(normalizeAnchorId(anchor.id.toUpperCase())).toBe(anchor.id);
    });
  });

  it.each(['sha256:abc', 'pgp:' + 'a'.repeat(64), 'md5:' + 'a'.repeat(32), 'sha256:' + 'g'.repeat(64), ''])(
    'refuses %s with ANCHOR_INVALID',
    async (id) => {
      await expectCode(() => normalizeAnchorId(id), 'ANCHOR_INVALID');
    },
  );
});

describe('anchorExpiry', () => {
  it('is the notAfter of a certificate anchor and null for a key', () => {
    expect(anchorExpiry({ notAfter: '2045-01-01T00:00:00.000Z' })?.toISOString()).toBe('2045-01-01T00:00:00.000Z');
    expect(anchorExpiry({ notAfter: null })).toBeNull();
  });
});

describe('anchorBuilder (one apply: each distinct anchor validated once)', () => {
  const outcome = (p: Promise<unknown>) => p.then((r) => r, (e: { code?: string; message?: string }) => ({ code: e.code, message: e.message }));
  const inputs = [
    { publicKey: readFixtureText('keys/ec-p256.pub.pem'), name: 'ci' },
    { publicKey: readFixtureText('keys/ec-p256.pub.pem') },
    { publicKey: readFixtureText('keys/ec-p256.pub.pem'), type: null },
    { publicKey: readFixtureText('keys/ec-p256.pub.pem'), name: null },
    { publicKey: readFixtureText('keys/ec-p256.pub.pem'), type: 'pgp' },
    { publicKey: readFixture('keys/ec-p256.pub.der') },
    { certificate: readFixtureText('certs/root-ca.pem'), trustedIdentities: ['x509.subject: CN=a'] },
    { certificate: readFixtureText('certs/root-ca.pem'), trustedIdentities: [] },
    { certificate: readFixtureText('keys/ec-p256.pub.pem') },
    { publicKey: 'not a key' },
  ];

  it('gives what buildAnchor gives, at every scope, for the same input given again', async () => {
    const build = anchorBuilder(NOW);
    for (const scope of ['registry.acme.io/a', 'registry.acme.io/b', 'registry.acme.io/a']) {
      for (const input of inputs) {
        const given = { ...input, scope } as never;
        expect(await outcome(build(given))).toEqual(await outcome(buildAnchor(given, NOW)));
      }
    }
  });

  it('returns records that share nothing with each other', async () => {
    const build = anchorBuilder(NOW);
    const input = { certificate: readFixtureText('certs/root-ca.pem'), trustedIdentities: ['x509.subject: CN=a'] };
    const a = await build({ ...input, scope: 'registry.acme.io/a' });
    const b = await build({ ...input, scope: 'registry.acme.io/b' });
    expect([a.scope, b.scope]).toEqual(['registry.acme.io/a', 'registry.acme.io/b']);
    a.trustedIdentities!.push('*');
    expect(b.trustedIdentities).toEqual(['x509.subject: CN=a']);
  });
});
