import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  MAX_CRL_BYTES,
  checkPath,
  compareCrlNumbers,
  crlPem,
  crlTimeStatus,
  parseCertificate,
  parseCertificateChain,
  parseCrl,
  validateChain,
  verifyCertificateSignature,
  verifyCrlSignature,
} from '../../../service/crypto/index.js';
import { readFixture, readFixtureText } from '../../../fixtures/index.js';
import { expectCode, sha256 } from './helpers.js';

const root = parseCertificate(readFixtureText('certs/root-ca.pem'));
const intermediate = parseCertificate(readFixtureText('certs/intermediate-ca.pem'));
const tsa = parseCertificate(readFixtureText('certs/tsa-ca.pem'));
const cert = (name: string) => parseCertificate(readFixtureText(`certs/${name}.pem`));
const NOW = new Date('2026-06-01T00:00:00Z');

describe('parseCrl', () => {
  describe('when given the intermediate CA CRL as DER', () => {
    const der = readFixture('crls/intermediate-ca.crl');
    const crl = parseCrl(der);

    it('reads issuer, number, times and entries', () => {
      expect(crl.issuer).toBe(intermediate.subject);
      expect(crl.crlNumber).toBe('2');
      expect(crl.thisUpdate.toISOString()).toBe('2025-06-01T00:00:00.000Z');
      expect(crl.nextUpdate?.toISOString()).toBe('2039-12-31T00:00:00.000Z');
      expect(crl.entries).toEqual([{ serialHex: '0dead0', revokedAt: new Date('2025-05-01T00:00:00Z'), reason: 'keyCompromise' }]);
    });

    it('keeps the DER byte for byte', () => {
      expect(Buffer.from(crl.der).equals(der)).toBe(true);
      expect(crl.digest).toBe(`sha256:${sha256(der)}`);
    });

    it('lists serials in the form certificates give them', () => {
      expect(crl.entries[0]!.serialHex).toBe(cert('leaf-revoked').serialHex);
    });
  });

  it('reads the same CRL from PEM ("X509 CRL", RFC 7468 section 6)', () => {
    const fromPem = parseCrl(readFixtureText('crls/intermediate-ca.crl.pem'));
    expect(fromPem.digest).toBe(parseCrl(readFixture('crls/intermediate-ca.crl')).digest);
    expect(parseCrl(crlPem(fromPem.der)).digest).toBe(fromPem.digest);
  });

  it('gives null for a CRL without nextUpdate or number', () => {
    expect(parseCrl(readFixture('crls/no-next-update.crl')).nextUpdate).toBeNull();
    expect(parseCrl(readFixture('crls/no-number.crl')).crlNumber).toBeNull();
  });

  describe('when the input is not a CRL', () => {
    it.each([
      ['a DER certificate', () => readFixture('certs/root-ca.der')],
      ['a PEM certificate', () => readFixtureText('certs/root-ca.pem')],
      ['random bytes', () => readFixture('garbage/random.bin')],
      ['nothing', () => readFixture('garbage/empty.bin')],
      ['a CRL with trailing bytes', () => Buffer.concat([readFixture('crls/intermediate-ca.crl'), Buffer.from([0, 1])])],
      ['a truncated CRL', () => readFixture('crls/intermediate-ca.crl').subarray(0, 100)],
      ['two CRLs in one PEM', () => readFixtureText('crls/intermediate-ca.crl.pem').repeat(2)],
    ])('refuses %s with CRL_INVALID', async (_what, input) => {
      await expectCode(() => parseCrl(input()), 'CRL_INVALID');
    });

    it(`refuses more than ${MAX_CRL_BYTES} bytes with CRL_TOO_LARGE, before parsing`, async () => {
      const big = Buffer.concat([Buffer.from([0x30, 0x84, 0x00, 0x20, 0x00, 0x00]), randomBytes(MAX_CRL_BYTES)]);
      await expectCode(() => parseCrl(big), 'CRL_TOO_LARGE');
      const pem = `-----BEGIN X509 CRL-----\n${big.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END X509 CRL-----\n`;
      await expectCode(() => parseCrl(pem), 'CRL_TOO_LARGE');
    });
  });
});

describe('verifyCrlSignature', () => {
  it('accepts a CRL signed by its CA', () => {
    expect(verifyCrlSignature(parseCrl(readFixture('crls/intermediate-ca.crl')), intermediate)).toEqual({ ok: true });
    expect(verifyCrlSignature(parseCrl(readFixture('crls/root-ca.crl')), root)).toEqual({ ok: true });
  });

  it('refuses a CRL that names the CA but was signed with another key', () => {
    expect(verifyCrlSignature(parseCrl(readFixture('crls/bad-signature.crl')), intermediate).ok).toBe(false);
  });

  it('refuses a CRL checked against another CA', () => {
    const r = verifyCrlSignature(parseCrl(readFixture('crls/intermediate-ca.crl')), root);
    expect(r.ok).toBe(false);
    expect(r.reason).toMatch(/issued by/);
  });

  it('refuses a CRL whose signed part was altered', () => {
    const der = Buffer.from(readFixture('crls/intermediate-ca.crl'));
    const at = der.indexOf(Buffer.from([0x0d, 0xea, 0xd0]));
    der[at + 2] = 0xd1; // the revoked serial 0dead0 becomes 0dead1
    const crl = parseCrl(der);
    expect(crl.entries[0]!.serialHex).toBe('0dead1');
    expect(verifyCrlSignature(crl, intermediate).ok).toBe(false);
  });
});

describe('crlTimeStatus', () => {
  it.each([
    ['crls/intermediate-ca.crl', 'valid'],
    ['crls/expired.crl', 'expired'],
    ['crls/not-yet-valid.crl', 'notYetValid'],
    ['crls/no-next-update.crl', 'noNextUpdate'],
  ])('%s is %s in 2026', (file, status) => {
    expect(crlTimeStatus(parseCrl(readFixture(file)), NOW)).toBe(status);
  });
});

it('compares CRL numbers as integers (RFC 5280 5.2.3)', () => {
  expect(compareCrlNumbers('a', '9')).toBeGreaterThan(0);
  expect(compareCrlNumbers('0100', 'ff')).toBeGreaterThan(0);
  expect(compareCrlNumbers('2', '2')).toBe(0);
  expect(compareCrlNumbers('1', '2')).toBeLessThan(0);
});

describe('verifyCertificateSignature', () => {
  it('accepts each link of the fixture chain', () => {
    expect(verifyCertificateSignature(intermediate, root).ok).toBe(true);
    expect(verifyCertificateSignature(cert('leaf'), intermediate).ok).toBe(true);
    expect(verifyCertificateSignature(root, root).ok).toBe(true);
  });

  it('refuses a certificate signed by another key than its named issuer', () => {
    expect(verifyCertificateSignature(cert('leaf-forged'), intermediate).ok).toBe(false);
    expect(verifyCertificateSignature(cert('leaf'), root).ok).toBe(false);
  });
});

describe('validateChain', () => {
  it('builds leaf, intermediate, root when the root is the anchor', () => {
    const r = validateChain([cert('leaf'), intermediate], [root], NOW);
    expect(r.ok).toBe(true);
    expect(r.path.map((c) => c.id)).toEqual([cert('leaf').id, intermediate.id, root.id]);
    expect(r.anchor?.id).toBe(root.id);
  });

  it('stops at an intermediate anchor', () => {
    const r = validateChain([cert('leaf')], [intermediate, root], NOW);
    expect(r.ok).toBe(true);
    expect(r.path.map((c) => c.id)).toEqual([cert('leaf').id, intermediate.id]);
  });

  it('trusts a certificate that is itself an anchor', () => {
    expect(validateChain([intermediate], [intermediate], NOW)).toMatchObject({ ok: true, path: [intermediate] });
  });

  it('fails without the intermediate', () => {
    const r = validateChain([cert('leaf')], [root], NOW);
    expect(r.ok).toBe(false);
    expect(r.reason).toMatch(/Keyshare Test Intermediate CA/);
  });

  it('fails on a broken signature', () => {
    const r = validateChain([cert('leaf-forged'), intermediate], [root], NOW);
    expect(r.ok).toBe(false);
    expect(r.reason).toMatch(/does not verify/);
  });

  it('fails on an expired leaf at the time of the check, not before', () => {
    expect(validateChain([cert('leaf-expired'), intermediate], [root], NOW)).toMatchObject({ ok: false, reason: expect.stringMatching(/expired at 2025-06-01/) });
    expect(validateChain([cert('leaf-expired'), intermediate], [root], new Date('2025-03-01T00:00:00Z')).ok).toBe(true);
  });

  it('fails when an issuer on the path is not a CA (RFC 5280 6.1.4 (k))', () => {
    expect(checkPath([cert('leaf'), cert('non-ca')], NOW)).toMatch(/not a CA/);
    expect(checkPath([cert('leaf'), intermediate, root], NOW)).toBeNull();
  });

  it('does not chain to a CA with another name', () => {
    expect(validateChain([cert('leaf'), intermediate], [tsa], NOW).ok).toBe(false);
  });

  it('enforces pathLenConstraint', () => {
    // The intermediate has pathLen 0: nothing but end-entity certificates below it.
    const leaf = cert('leaf');
    const fakeCa = { ...leaf, isCA: true, keyUsage: ['keyCertSign'] };
    const below = { ...leaf, id: 'sha256:x', issuer: leaf.subject };
    // Signatures are not checked by checkPath; build a path by hand.
    expect(checkPath([below, fakeCa, intermediate, root], NOW)).toMatch(/pathLenConstraint/);
  });

  it('reads a PEM bundle, leaf first', () => {
    const bundle = readFixtureText('certs/leaf.pem') + readFixtureText('certs/intermediate-ca.pem');
    expect(parseCertificateChain(bundle).map((c) => c.serialHex)).toEqual(['8badf00d', '0b']);
    expect(parseCertificateChain(readFixture('certs/root-ca.der'))).toHaveLength(1);
  });
});
