import { describe, expect, it } from 'vitest';
import { parseCrl } from '../../../service/crypto/index.js';
import { crlTargetPath } from '../../../service/domain/trust.js';
import { writePem } from '../../../sync/formats/index.js';
import { readFixture } from '../../../fixtures/index.js';
import { certAnchor, doc, text } from './helpers.js';

const OUT = '/tmp/out';

describe('pem format with CRLs', () => {
  const intermediate = certAnchor('intermediate-ca', 'ca', 'i');
  const root = certAnchor('root-ca', 'ca', 'r');
  const withCrls = { ...doc('registry.acme.io/team-a', [intermediate, root]), crls: [intermediate, root].map((a) => ({ issuer: a.id, target: crlTargetPath(a.id) })) };
  const crls = new Map([
    [crlTargetPath(intermediate.id), readFixture('crls/intermediate-ca.crl')],
    [crlTargetPath(root.id), readFixture('crls/root-ca.crl')],
  ]);

  describe('when the documents list CRLs and they were fetched', () => {
    it('writes {store}.crl.pem beside the bundle, one X509 CRL block per CA, in issuer order', async () => {
      const out = await writePem({ documents: [withCrls], repositories: [], outDir: OUT, crls });
      expect(out.files.map((f) => f.path)).toEqual(['registry.acme.io_team-a.crl.pem', 'registry.acme.io_team-a.pem']);
      const blocks = text(out.files, 'registry.acme.io_team-a.crl.pem').match(/-----BEGIN X509 CRL-----[\s\S]+?-----END X509 CRL-----\n/g)!;
      expect(blocks).toHaveLength(2);
      const issuers = blocks.map((b) => parseCrl(b).issuer);
      const expected = [intermediate, root].sort((a, b) => (a.id < b.id ? -1 : 1)).map((a) => (a === root ? 'Root' : 'Intermediate'));
      expect(issuers.map((i) => (i.includes('Root') ? 'Root' : 'Intermediate'))).toEqual(expected);
      // Byte for byte the DER that was fetched.
      expect(Buffer.from(parseCrl(blocks[issuers.findIndex((i) => i.includes('Intermediate'))]!).der).equals(readFixture('crls/intermediate-ca.crl'))).toBe(true);
      expect(out.warnings).toEqual([]);
    });
  });

  describe('when a listed CRL was not fetched', () => {
    it('writes what it has and warns', async () => {
      const partial = new Map([[crlTargetPath(root.id), readFixture('crls/root-ca.crl')]]);
      const out = await writePem({ documents: [withCrls], repositories: [], outDir: OUT, crls: partial });
      expect(text(out.files, 'registry.acme.io_team-a.crl.pem').match(/BEGIN X509 CRL/g)).toHaveLength(1);
      expect(out.warnings).toEqual([expect.stringContaining(crlTargetPath(intermediate.id))]);
    });
  });

  describe('when no CRLs are given', () => {
    it('writes the bundle alone', async () => {
      const out = await writePem({ documents: [withCrls], repositories: [], outDir: OUT });
      expect(out.files.map((f) => f.path)).toEqual(['registry.acme.io_team-a.pem']);
    });
  });
});
