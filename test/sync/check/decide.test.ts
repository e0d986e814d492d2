import { describe, expect, it } from 'vitest';
import { decideCheck, type CheckRequest } from '../../../sync/check/index.js';
import { parseCertificate, parsePublicKey } from '../../../service/crypto/index.js';
import { crlTargetPath } from '../../../service/domain/trust.js';
import { TRUST_MEDIA_TYPE, type TrustAnchor, type TrustDocument } from '../../../service/domain/types.js';
import { readFixture, readFixtureText } from '../../../fixtures/index.js';

const NOW = new Date('2026-06-01T00:00:00Z');
const pem = (name: string) => readFixtureText(`certs/${name}.pem`);
const root = parseCertificate(pem('root-ca'));
const intermediate = parseCertificate(pem('intermediate-ca'));
const leaf = parseCertificate(pem('leaf'));
const revokedLeaf = parseCertificate(pem('leaf-revoked'));
const cosign = parsePublicKey(readFixtureText('keys/ec-p256.pub.pem'));
const other = parsePublicKey(readFixtureText('keys/ec-p384.pub.pem'));
const SIG = `sha256:${'ab'.repeat(32)}`;

const rootAnchor: TrustAnchor = { id: root.id, name: 'acme-root', type: 'ca', certificate: root.pem, trustedIdentities: ['*'], definedAt: 'registry.acme.io' };
const keyAnchor: TrustAnchor = { id: cosign.id, name: 'ci', type: 'publicKey', publicKey: cosign.pem, definedAt: 'registry.acme.io/team-a' };

function doc(over: Partial<TrustDocument> = {}): TrustDocument {
  return {
    mediaType: TRUST_MEDIA_TYPE,
    scope: 'registry.acme.io/team-a',
    version: 3,
    issuedAt: '2026-05-01T00:00:00Z',
    level: 'strict',
    inherit: true,
    anchors: [rootAnchor, keyAnchor],
    revoked: { certificates: [], keys: [], signatures: [] },
    crls: [],
    ...over,
  };
}
const chain = (name: string) => pem(name) + pem('intermediate-ca');
const check = (r: Partial<CheckRequest>) => decideCheck({ document: doc(), now: NOW, ...r });
const at = '2026-05-02T00:00:00Z';

describe('decideCheck', () => {
  describe('when the material is trusted', () => {
    it('trusts a key anchor of the scope', () => {
      const d = check({ key: cosign.id });
      expect(d).toMatchObject({ trusted: true, code: null });
      expect(d.evidence.anchor).toEqual({ id: cosign.id, name: 'ci', type: 'publicKey', definedAt: 'registry.acme.io/team-a' });
    });

    it('accepts the key ID in upper case', () => {
      expect(check({ key: cosign.id.toUpperCase().replace('SHA256', 'sha256') }).trusted).toBe(true);
    });

    it('trusts a leaf whose chain reaches a CA anchor, and shows the path', () => {
      const d = check({ certificates: chain('leaf'), signature: SIG });
      expect(d).toMatchObject({ trusted: true, code: null });
      expect(d.evidence.chain!.map((c) => c.id)).toEqual([leaf.id, intermediate.id, root.id]);
      expect(d.evidence.anchor!.id).toBe(root.id);
      expect(d.evidence.signature).toBe(SIG);
    });

    it('takes DER, and parsed certificates', () => {
      const viaIntermediateAnchor = doc({ anchors: [{ ...rootAnchor, id: intermediate.id, certificate: intermediate.pem }] });
      expect(decideCheck({ document: viaIntermediateAnchor, certificates: readFixture('certs/leaf.pem'), now: NOW }).trusted).toBe(true);
      expect(check({ certificates: [leaf, intermediate] }).trusted).toBe(true);
    });

    it('checks the CRL of each issuer and records it', () => {
      const target = crlTargetPath(root.id);
      const d = decideCheck({
        document: doc({ crls: [{ issuer: root.id, target }] }),
        certificates: chain('leaf'),
        crls: new Map([[target, readFixture('crls/root-ca.crl')]]),
        now: NOW,
      });
      expect(d.trusted).toBe(true);
      expect(d.evidence.crls).toEqual([expect.objectContaining({ issuer: root.id, status: 'checked', crlNumber: '1' })]);
    });
  });

  describe('when something is revoked', () => {
    it('is REVOKED for a revoked certificate (issuer and serial in the trust document)', () => {
      const document = doc({ revoked: { certificates: [{ issuer: intermediate.id, serial: '0dead0', revokedAt: at, reason: 'keyCompromise' }], keys: [], signatures: [] } });
      const d = decideCheck({ document, certificates: chain('leaf-revoked'), now: NOW });
      expect(d).toMatchObject({ trusted: false, code: 'REVOKED' });
      expect(d.evidence.revocation).toMatchObject({ kind: 'certificate', source: 'trust-document', serial: '0dead0', issuer: intermediate.id });
      // The other leaf of the same CA is not affected.
      expect(decideCheck({ document, certificates: chain('leaf'), now: NOW }).trusted).toBe(true);
    });

    it("is REVOKED for a certificate on its issuer's CRL", () => {
      const anchors = [{ ...rootAnchor, id: intermediate.id, certificate: intermediate.pem }];
      const target = crlTargetPath(intermediate.id);
      const d = decideCheck({
        document: doc({ anchors, crls: [{ issuer: intermediate.id, target }] }),
        certificates: pem('leaf-revoked'),
        crls: { [target]: readFixture('crls/intermediate-ca.crl') },
        now: NOW,
      });
      expect(d).toMatchObject({ trusted: false, code: 'REVOKED' });
      expect(d.evidence.revocation).toMatchObject({ kind: 'certificate', source: 'crl', serial: '0dead0', reason: 'keyCompromise', crlNumber: '2' });
      expect(revokedLeaf.serialHex).toBe('0dead0');
    });

    it('is REVOKED for a revoked key, though a revoked key is never an anchor', () => {
      const d = decideCheck({ document: doc({ anchors: [rootAnchor], revoked: { certificates: [], keys: [{ id: cosign.id, revokedAt: at, reason: 'keyCompromise' }], signatures: [] } }), key: cosign.id, now: NOW });
      expect(d).toMatchObject({ trusted: false, code: 'REVOKED', evidence: { revocation: { kind: 'key', subject: cosign.id } } });
    });

    it('is REVOKED for a certificate whose key (SPKI ID) is revoked', () => {
      const d = decideCheck({ document: doc({ revoked: { certificates: [], keys: [{ id: leaf.spkiId, revokedAt: at, reason: 'keyCompromise' }], signatures: [] } }), certificates: chain('leaf'), now: NOW });
      expect(d).toMatchObject({ trusted: false, code: 'REVOKED', evidence: { revocation: { kind: 'key', subject: leaf.spkiId } } });
    });

    it('is REVOKED for a revoked signature, even with a trusted key', () => {
      const d = decideCheck({ document: doc({ revoked: { certificates: [], keys: [], signatures: [{ digest: SIG, revokedAt: at, reason: 'superseded' }] } }), key: cosign.id, signature: SIG.toUpperCase().replace('SHA256', 'sha256'), now: NOW });
      expect(d).toMatchObject({ trusted: false, code: 'REVOKED', evidence: { revocation: { kind: 'signature', subject: SIG } } });
      expect(d.reason).toMatch(/superseded/);
    });
  });

  describe('when the material is not trusted', () => {
    it('is UNTRUSTED for a key that is not an anchor', () => {
      const d = check({ key: other.id });
      expect(d).toMatchObject({ trusted: false, code: 'UNTRUSTED' });
      expect(d.reason).toMatch(/not an anchor of scope registry.acme.io\/team-a/);
    });

    it('is UNTRUSTED for a broken chain (signature by another key)', () => {
      const d = check({ certificates: chain('leaf-forged') });
      expect(d).toMatchObject({ trusted: false, code: 'UNTRUSTED' });
      expect(d.reason).toMatch(/does not verify/);
    });

    it('is UNTRUSTED when the intermediate is missing', () => {
      expect(check({ certificates: pem('leaf') })).toMatchObject({ trusted: false, code: 'UNTRUSTED' });
    });

    it('is UNTRUSTED for an expired leaf at the time of the check', () => {
      const d = check({ certificates: chain('leaf-expired') });
      expect(d).toMatchObject({ trusted: false, code: 'UNTRUSTED' });
      expect(d.reason).toMatch(/expired at 2025-06-01/);
    });

    it('is UNTRUSTED when the scope has no certificate anchors', () => {
      expect(decideCheck({ document: doc({ anchors: [keyAnchor] }), certificates: chain('leaf'), now: NOW }).code).toBe('UNTRUSTED');
    });

    it('does not chain to a TSA anchor', () => {
      const tsaAnchor = { ...rootAnchor, type: 'tsa' as const };
      expect(decideCheck({ document: doc({ anchors: [tsaAnchor] }), certificates: chain('leaf'), now: NOW }).code).toBe('UNTRUSTED');
    });

    it("is UNTRUSTED when the leaf is not among the anchor's trusted identities", () => {
      const anchors = [{ ...rootAnchor, trustedIdentities: ['x509.subject: CN=Someone Else, O=Keyshare Fixtures, ST=WA, C=US'] }];
      expect(decideCheck({ document: doc({ anchors }), certificates: chain('leaf'), now: NOW })).toMatchObject({ code: 'UNTRUSTED', reason: expect.stringMatching(/trusted identities/) });
      const matching = [{ ...rootAnchor, trustedIdentities: ['x509.subject: C=US, ST=WA, O=Keyshare Fixtures'] }];
      expect(decideCheck({ document: doc({ anchors: matching }), certificates: chain('leaf'), now: NOW }).trusted).toBe(true);
    });

    it('is UNTRUSTED when the issuer CRL is stale: the revocation status is unknown', () => {
      const anchors = [{ ...rootAnchor, id: intermediate.id, certificate: intermediate.pem }];
      const target = crlTargetPath(intermediate.id);
      const d = decideCheck({
        document: doc({ anchors, crls: [{ issuer: intermediate.id, target }] }),
        certificates: pem('leaf'),
        crls: { [target]: readFixture('crls/expired.crl') },
        now: NOW,
      });
      expect(d).toMatchObject({ code: 'UNTRUSTED', reason: expect.stringMatching(/stale/) });
    });

    it('is UNTRUSTED when the CRL is not signed by the issuer', () => {
      const anchors = [{ ...rootAnchor, id: intermediate.id, certificate: intermediate.pem }];
      const target = crlTargetPath(intermediate.id);
      const d = decideCheck({ document: doc({ anchors, crls: [{ issuer: intermediate.id, target }] }), certificates: pem('leaf'), crls: { [target]: readFixture('crls/bad-signature.crl') }, now: NOW });
      expect(d.code).toBe('UNTRUSTED');
    });

    it('is UNTRUSTED for material that is not a certificate', () => {
      expect(check({ certificates: readFixture('garbage/random.bin') }).code).toBe('UNTRUSTED');
    });
  });

  it('needs a key or a certificate', () => {
    expect(() => check({ signature: SIG })).toThrow(/key ID or a certificate/);
  });
});
