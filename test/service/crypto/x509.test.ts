import { describe, expect, it } from 'vitest';
import { certificateValidity, parseCertificate } from '../../../service/crypto/index.js';
import { readFixture, readFixtureText } from '../../../fixtures/index.js';
import { expectCode, expectedCertId, sha256 } from './helpers.js';
import { X509Certificate } from 'node:crypto';
import { certificateParseStats } from '../../../service/crypto/x509.js';
import { derCost, X509_LIMITS } from '../../../service/crypto/x509-screen.js';
import { certificatePem, manyNamesCertificate, slowCertificate } from '../../support/x509-craft.js';

describe('parseCertificate', () => {
  describe('when given the root CA as PEM', () => {
    const pem = readFixtureText('certs/root-ca.pem');
    const cert = parseCertificate(pem);

    it('uses sha256 of the DER as the ID', () => {
      expect(cert.id).toBe(expectedCertId(pem));
      expect(cert.id).toMatch(/^sha256:[0-9a-f]{64}$/);
    });

    it('reads the subject, issuer, serial and validity', () => {
      expect(cert.subject).toBe('CN=Keyshare Test Root CA, O=Keyshare Fixtures, ST=WA, C=US');
      expect(cert.issuer).toBe(cert.subject);
      expect(cert.commonName).toBe('Keyshare Test Root CA');
      expect(cert.serialHex).toBe('0a1b');
      expect(cert.notBefore.toISOString()).toBe('2025-01-01T00:00:00.000Z');
      expect(cert.notAfter.toISOString()).toBe('2045-01-01T00:00:00.000Z');
    });

    it('reads basicConstraints and keyUsage', () => {
      expect(cert.isCA).toBe(true);
      expect(cert.pathLen).toBe(1);
      expect(cert.keyUsage).toEqual(['keyCertSign', 'cRLSign']);
    });

    it('gives the SubjectPublicKeyInfo and its ID', () => {
      const spki = new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' });
      expect(Buffer.from(cert.spkiDer).equals(spki)).toBe(true);
      expect(cert.spkiId).toBe(`sha256:${sha256(spki)}`);
    });

    it('normalises the PEM to one block with a trailing newline', () => {
      expect(cert.pem).toBe(pem.trim() + '\n');
      expect(cert.pem.match(/BEGIN CERTIFICATE/g)).toHaveLength(1);
    });
  });

  describe('when the same certificate is given as DER', () => {
    it('gives the same ID and PEM as the PEM form', () => {
      const fromDer = parseCertificate(readFixture('certs/root-ca.der'));
      const fromPem = parseCertificate(readFixtureText('certs/root-ca.pem'));
      expect(fromDer.id).toBe(fromPem.id);
      expect(fromDer.pem).toBe(fromPem.pem);
      expect(fromDer.id).toBe(`sha256:${sha256(readFixture('certs/root-ca.der'))}`);
    });
  });

  describe('when PEM comes as bytes, with CRLF line ends, whitespace and explanatory text', () => {
    it('gives the same ID', () => {
      const pem = readFixtureText('certs/root-ca.pem');
      const messy = `subject=CN = Keyshare Test Root CA\r\n\r\n  ${pem.replace(/\n/g, '\r\n')}  \n\n`;
      expect(parseCertificate(Buffer.from(messy)).id).toBe(expectedCertId(pem));
      expect(parseCertificate(messy).id).toBe(expectedCertId(pem));
    });
  });

  describe('when the serial has its high bit set', () => {
    it('gives the serial without the DER sign octet', () => {
      expect(parseCertificate(readFixtureText('certs/leaf.pem')).serialHex).toBe('8badf00d');
    });
  });

  describe('when the certificate is a leaf', () => {
    it('reports it is not a CA and its key usage', () => {
      const leaf = parseCertificate(readFixtureText('certs/leaf.pem'));
      expect(leaf.isCA).toBe(false);
      expect(leaf.pathLen).toBeUndefined();
      expect(leaf.keyUsage).toEqual(['digitalSignature']);
    });
  });

  describe('when the certificate has no basicConstraints', () => {
    it('reports it is not a CA', () => {
      expect(parseCertificate(readFixtureText('certs/non-ca.pem')).isCA).toBe(false);
    });
  });

  describe('when the input is not one certificate', () => {
    it.each([
      ['garbage PEM', 'certs/garbage.pem'],
      ['truncated PEM', 'certs/truncated.pem'],
      ['garbage DER', 'certs/garbage.der'],
      ['truncated DER', 'certs/truncated.der'],
      ['DER with trailing bytes', 'certs/trailing-garbage.der'],
      ['a chain of two certificates', 'certs/chain.pem'],
      ['a public key', 'keys/ec-p256.pub.pem'],
      ['random bytes', 'garbage/random.bin'],
      ['nothing', 'garbage/empty.bin'],
    ])('refuses %s with BAD_CERTIFICATE', async (_what, file) => {
      await expectCode(() => parseCertificate(readFixture(file)), 'BAD_CERTIFICATE');
    });

    it('refuses plain text with BAD_CERTIFICATE', async () => {
      await expectCode(() => parseCertificate('hello'), 'BAD_CERTIFICATE');
      await expectCode(() => parseCertificate(''), 'BAD_CERTIFICATE');
    });

    it('says what to do about a PEM block that holds no certificate (issue 15)', () => {
      for (const body of ['AAAA', Buffer.from([0x30, 0x03, 0x02, 0x01, 0x01]).toString('base64')]) {
        const pem = `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----\n`;
        expect(() => parseCertificate(pem)).toThrow(/^not a (DER-encoded|valid X\.509) certificate: the file is damaged or holds something else; export the certificate again/);
      }
    });

    it('refuses a PEM that also holds a private key with BAD_CERTIFICATE', async () => {
      const both = readFixtureText('certs/root-ca.pem') + readFixtureText('certs/root-ca.key.pem');
      await expectCode(() => parseCertificate(both), 'BAD_CERTIFICATE');
    });
  });
});

describe('what parseCertificate admits, and parses again (issue 16, finding 1)', () => {
  it('accepts a certificate with 500 DNS names, and refuses the crafted 2,979-element one before parsing', async () => {
    const names = await manyNamesCertificate(500);
    expect(derCost(names).elements).toBeGreaterThan(500);
    expect(parseCertificate(names).isCA).toBe(true);
    const slow = await slowCertificate(false);
    expect(derCost(slow).elements).toBeGreaterThan(X509_LIMITS.elements);
    const before = certificateParseStats().decoded;
    expect(() => parseCertificate(slow)).toThrow(expect.objectContaining({ code: 'BAD_CERTIFICATE', message: expect.stringContaining('ASN.1 elements') }));
    expect(certificateParseStats().decoded).toBe(before);
  });

  it('decodes a certificate once per process, as PEM or DER, and gives each caller its own copy', async () => {
    const der = await manyNamesCertificate(40);
    const first = parseCertificate(der);
    const { decoded, reused } = certificateParseStats();
    const again = parseCertificate(certificatePem(der));
    expect(certificateParseStats()).toEqual({ decoded, reused: reused + 1 });
    expect(again).toEqual(first);
    again.der[0] = 0;
    again.keyUsage.push('digitalSignature');
    again.notAfter.setTime(0);
    expect(parseCertificate(der)).toEqual(first);
    expect(certificateParseStats().decoded).toBe(decoded);
  });
});

describe('certificateValidity', () => {
  const cert = parseCertificate(readFixtureText('certs/root-ca.pem'));

  it('is valid inside the period, bounds included (RFC 5280 4.1.2.5)', () => {
    expect(certificateValidity(cert, new Date('2030-06-01T00:00:00Z'))).toBe('valid');
    expect(certificateValidity(cert, cert.notBefore)).toBe('valid');
    expect(certificateValidity(cert, cert.notAfter)).toBe('valid');
  });

  it('is notYetValid before notBefore and expired after notAfter', () => {
    expect(certificateValidity(cert, new Date('2024-12-31T23:59:59Z'))).toBe('notYetValid');
    expect(certificateValidity(cert, new Date('2045-01-01T00:00:01Z'))).toBe('expired');
  });
});
