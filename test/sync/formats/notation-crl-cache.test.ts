/**
 * The entries for notation's CRL cache (sync/formats/notation-crl-cache.ts), checked against
 * the format as notation-go reads it (test/support/notation-crl-cache.ts), not against the
 * writer's own constants.
 */
import { describe, expect, it } from 'vitest';
import { readFixture } from '../../../fixtures/index.js';
import { crlTargetPath } from '../../../service/domain/trust.js';
import { notationCrlCacheContent, notationCrlCacheDecision, notationCrlCacheEntries } from '../../../sync/formats/notation-crl-cache.js';
import { NOTATION_CRL_CACHE_FORMAT } from '../../support/notation-crl-cache.js';
import { certAnchor, doc } from './helpers.js';

const intermediate = certAnchor('intermediate-ca', 'ca', 'i');
const root = certAnchor('root-ca', 'ca', 'r');
const hex = (id: string) => id.slice('sha256:'.length);
const CA_URL = 'http://pki.acme.io/intermediate.crl';
const CRL2 = readFixture('crls/intermediate-ca.crl');
const CRL3 = readFixture('crls/intermediate-ca-3.crl');

const team = {
  ...doc('registry.acme.io/team-a', [intermediate, root]),
  crls: [
    { issuer: intermediate.id, target: crlTargetPath(intermediate.id), urls: [CA_URL] },
    { issuer: root.id, target: crlTargetPath(root.id) },
  ],
};
// The same CAs, listed again by a second scope: their entries are written once.
const parent = { ...doc('registry.acme.io', [intermediate, root]), crls: team.crls.map(({ issuer, target }) => ({ issuer, target })) };
const crls = new Map([
  [crlTargetPath(intermediate.id), CRL2],
  [crlTargetPath(root.id), readFixture('crls/root-ca.crl')],
]);

describe('notation CRL cache entries', () => {
  describe('when the documents list CRLs, one with the CA URL', () => {
    const { entries, warnings } = notationCrlCacheEntries({ documents: [team, parent], crls, bases: ['http://127.0.0.1:8080', 'https://keyshare.acme.io/'] });

    it('names an entry for every URL a certificate may name: each base, and the CA URL', () => {
      const expected = [
        `http://127.0.0.1:8080/crl/${hex(intermediate.id)}.crl`,
        `http://127.0.0.1:8080/crl/${hex(root.id)}.crl`,
        `https://keyshare.acme.io/crl/${hex(intermediate.id)}.crl`,
        `https://keyshare.acme.io/crl/${hex(root.id)}.crl`,
        CA_URL,
      ].sort();
      expect(entries.map((e) => e.url)).toEqual(expected);
      expect(entries.map((e) => e.file)).toEqual(expected.map(NOTATION_CRL_CACHE_FORMAT.fileName));
      expect(warnings).toEqual([]);
    });

    it("holds exactly the verified DER, in notation's JSON", () => {
      for (const e of entries) {
        const want = e.issuer === intermediate.id ? CRL2 : readFixture('crls/root-ca.crl');
        expect(NOTATION_CRL_CACHE_FORMAT.baseCrl(e.content).equals(want)).toBe(true);
      }
    });
  });

  it('warns about a listed CRL that was not fetched, and writes the others', () => {
    const { entries, warnings } = notationCrlCacheEntries({ documents: [team], crls: new Map([[crlTargetPath(root.id), readFixture('crls/root-ca.crl')]]), bases: ['http://k'] });
    expect(entries.map((e) => e.issuer)).toEqual([root.id]);
    expect(warnings).toEqual([expect.stringContaining(crlTargetPath(intermediate.id))]);
  });
});

describe('whether an existing entry is replaced', () => {
  it('writes when there is none, or when it is not one notation could read', () => {
    expect(notationCrlCacheDecision(null, CRL2)).toBe('write');
    expect(notationCrlCacheDecision(Buffer.from('not json'), CRL2)).toBe('write');
    expect(notationCrlCacheDecision(Buffer.from('{"baseCRL":"AAAA"}'), CRL2)).toBe('write');
  });

  it('leaves the same CRL as it is', () => {
    expect(notationCrlCacheDecision(Buffer.from(notationCrlCacheContent(CRL2)), CRL2)).toBe('unchanged');
  });

  it('replaces an older CRL of the CA (lower CRL number), and keeps a newer one', () => {
    expect(notationCrlCacheDecision(Buffer.from(notationCrlCacheContent(CRL2)), CRL3)).toBe('write');
    expect(notationCrlCacheDecision(Buffer.from(notationCrlCacheContent(CRL3)), CRL2)).toBe('kept-newer');
  });

  it("replaces another CA's CRL at that name", () => {
    expect(notationCrlCacheDecision(Buffer.from(notationCrlCacheContent(readFixture('crls/root-ca.crl'))), CRL2)).toBe('write');
  });
});
