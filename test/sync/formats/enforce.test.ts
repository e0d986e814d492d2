/** Issue 15: what each format cannot enforce is listed, decided in one place (sync/formats/enforce.ts). */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readFixture } from '../../../fixtures/index.js';
import { crlTargetPath } from '../../../service/domain/trust.js';
import type { TrustDocument } from '../../../service/domain/types.js';
import { FORMAT_NAMES, writeFormat, type FormatName } from '../../../sync/formats/index.js';
import { unenforced, unenforcedFor } from '../../../sync/formats/enforce.js';
import { certAnchor, doc, keyAnchor, pgpAnchor } from './helpers.js';

const OUT = '/etc/keyshare/out';
const intermediate = certAnchor('intermediate-ca', 'ca', 'acme-intermediate');
const AT = '2026-11-01T00:00:00Z';
const SIG = `sha256:${'ab'.repeat(32)}`;
const crlTarget = crlTargetPath(intermediate.id);
const crls = new Map([[crlTarget, readFixture('crls/intermediate-ca.crl')]]);

/** A scope trusting the intermediate CA, revoking `serial` below it. */
function revokingCert(serial: string, withCrl: boolean): TrustDocument {
  const d = doc('registry.acme.io/team-a', [intermediate]);
  d.revoked.certificates.push({ issuer: intermediate.id, serial, revokedAt: AT, reason: 'keyCompromise' });
  if (withCrl) d.crls = [{ issuer: intermediate.id, target: crlTarget }];
  return d;
}

describe('a certificate revoked below a CA anchor', () => {
  for (const format of ['notation', 'pem'] as const) {
    describe(`in ${format}`, () => {
      it('is unenforced when the CA has no CRL in keyshare', async () => {
        const items = await unenforcedFor(format, { documents: [revokingCert('0dead0', false)], crls });
        expect(items).toEqual([
          { scope: 'registry.acme.io/team-a', kind: 'certificate', id: `${intermediate.id}/0dead0`, reason: expect.stringMatching(/no CRL in keyshare.*keyshare check/) },
        ]);
      });

      it("is enforced when the CA's CRL lists its serial (however the serial is padded)", async () => {
        expect(await unenforcedFor(format, { documents: [revokingCert('0dead0', true)], crls })).toEqual([]);
        expect(await unenforcedFor(format, { documents: [revokingCert('000DEAD0'.toLowerCase(), true)], crls })).toEqual([]);
      });

      it("is unenforced when the CA's CRL does not list it, or was not fetched", async () => {
        const [missing] = await unenforcedFor(format, { documents: [revokingCert('0bad', true)], crls });
        expect(missing!.reason).toMatch(/does not list this serial/);
        const [unknown] = await unenforcedFor(format, { documents: [revokingCert('0dead0', true)] });
        expect(unknown!.reason).toMatch(/was not fetched/);
      });
    });
  }

  it('is no item in containers (no certificate anchor is written) nor in json (the document carries it)', async () => {
    for (const format of ['containers', 'json'] as const) {
      expect(unenforced(format, [revokingCert('0bad', false)]).filter((i) => i.kind === 'certificate')).toEqual([]);
    }
  });

  it('is always unenforced in sigstore, whose trusted root carries no revocations, even when the CRL lists it', async () => {
    const items = await unenforcedFor('sigstore', { documents: [revokingCert('8badf00d', true)], crls });
    expect(items).toEqual([expect.objectContaining({ kind: 'certificate', id: `${intermediate.id}/8badf00d`, reason: expect.stringMatching(/Sigstore client.*reads no revocations below a CA/) })]);
  });

  it('is no item when its issuer is not an anchor of the scope (nothing written trusts it)', () => {
    const d = revokingCert('0bad', false);
    d.revoked.certificates[0]!.issuer = `sha256:${'cd'.repeat(32)}`;
    expect(unenforced('pem', [d])).toEqual([]);
  });
});

describe('a revoked signature', () => {
  const d = doc('*', [keyAnchor('ec-p256', 'ci')]);
  d.revoked.signatures.push({ digest: SIG, revokedAt: AT, reason: 'superseded' });

  it('is unenforced in every format but json', () => {
    for (const format of FORMAT_NAMES) {
      const items = unenforced(format, [d]).filter((i) => i.kind === 'signature');
      expect(items, format).toEqual(format === 'json' ? [] : [{ scope: '*', kind: 'signature', id: SIG, reason: expect.stringContaining('keyshare check --signature') }]);
    }
  });

  it('is no item in a scope at level skip, which verifies nothing', () => {
    expect(unenforced('notation', [{ ...d, level: 'skip' }])).toEqual([]);
  });
});

describe('anchors a format cannot carry', () => {
  it('lists OpenPGP and public-key anchors in pem and notation, certificates in containers, one item each', async () => {
    const pgp = await pgpAnchor('release', 'release');
    const key = keyAnchor('ec-p256', 'cosign');
    const ca = certAnchor('root-ca', 'ca', 'acme-root');
    const expected: Record<FormatName, string[]> = {
      notation: [key.id, pgp.id].sort(),
      pem: [key.id, pgp.id].sort(),
      containers: [ca.id],
      json: [],
      sigstore: [pgp.id],
      kubernetes: [pgp.id],
    };
    for (const format of FORMAT_NAMES) {
      // containers refuses pgp and public keys in one scope (FORMAT_UNSUPPORTED): two scopes.
      const docs = [doc('acme.io', [ca, pgp]), doc('acme.io/team-b', [ca, key])];
      const items = unenforced(format, docs).filter((i) => i.kind === 'anchor');
      expect([...new Set(items.map((i) => i.id))].sort(), format).toEqual(expected[format]);
      for (const i of items) expect(i.reason).toMatch(/left out.*fetch --format/);
    }
  });

  it('reaches fetch through each writer: pem names the OpenPGP anchor it leaves out', async () => {
    const out = await writeFormat('pem', { documents: [doc('acme.io', [certAnchor('root-ca', 'ca', 'r'), await pgpAnchor('release', 'release')])], repositories: [], outDir: OUT });
    expect(out.unenforced).toEqual([expect.objectContaining({ scope: 'acme.io', kind: 'anchor', reason: expect.stringContaining('pgp anchor "release"') })]);
  });
});

describe('a revoked key', () => {
  it('is no item: a revoked key is never among the anchors, so no format trusts it', () => {
    const d = doc('acme.io', [certAnchor('root-ca', 'ca', 'r')]);
    d.revoked.keys.push({ id: `sha256:${'ef'.repeat(32)}`, revokedAt: AT, reason: 'keyCompromise' });
    for (const format of FORMAT_NAMES) expect(unenforced(format, [d]).filter((i) => i.kind !== 'anchor')).toEqual([]);
  });
});

/**
 * The README's table "What each format can enforce" says what `unenforced` decides (issue 15:
 * the README says plainly what each format can and cannot express), so the two cannot drift.
 */
describe("the README's table of what each format can enforce", () => {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('### What each format can enforce'));
  /** format -> its "cannot enforce" cell. */
  const cannot = new Map(
    [...section.matchAll(/^\| `([a-z]+)` \| [^|]+ \| ([^|]+) \|/gm)].map(([, format, cell]) => [format!, cell!]),
  );

  it('has one row per format', () => {
    expect([...cannot.keys()].sort()).toEqual([...FORMAT_NAMES].sort());
  });

  it('names the anchors each format leaves out, and no others', async () => {
    // One scope per anchor type (containers refuses OpenPGP and public keys in one scope).
    const anchors = [
      certAnchor('root-ca', 'ca', 'ca'),
      certAnchor('root-ca', 'signingAuthority', 'signingAuthority'),
      certAnchor('root-ca', 'tsa', 'tsa'),
      keyAnchor('ec-p256', 'publicKey'),
      await pgpAnchor('release', 'pgp'),
    ];
    const docs = anchors.map((a) => doc(`${a.name.toLowerCase()}.acme.io`, [a]));
    for (const format of FORMAT_NAMES) {
      const left = new Set(unenforced(format, docs).filter((i) => i.kind === 'anchor').map((i) => i.scope.split('.')[0]));
      const cell = cannot.get(format)!;
      const allCertificates = left.has('ca') && left.has('signingauthority') && left.has('tsa');
      expect(cell.includes('certificate anchors'), `${format}: ${cell}`).toBe(allCertificates);
      if (!allCertificates) expect(cell.includes('signingAuthority'), `${format}: ${cell}`).toBe(left.has('signingauthority'));
      expect(cell.includes('OpenPGP'), `${format}: ${cell}`).toBe(left.has('pgp'));
      expect(cell.includes('public-key'), `${format}: ${cell}`).toBe(left.has('publickey'));
      expect(cell.includes('(left out'), `${format}: ${cell}`).toBe(left.size > 0);
    }
  });

  it('says which formats miss revoked signatures, and how each misses a certificate revoked below a CA', async () => {
    const signed = doc('*', [keyAnchor('ec-p256', 'ci')]);
    signed.revoked.signatures.push({ digest: SIG, revokedAt: AT, reason: 'superseded' });
    for (const format of FORMAT_NAMES) {
      const cell = cannot.get(format)!;
      expect(cell.includes('revoked signatures'), `${format}: ${cell}`).toBe(unenforced(format, [signed]).length > 0);
      const withCrl = await unenforcedFor(format, { documents: [revokingCert('0dead0', true)], crls });
      const withoutCrl = await unenforcedFor(format, { documents: [revokingCert('0dead0', false)], crls });
      const certItems = (items: typeof withCrl) => items.filter((i) => i.kind === 'certificate').length > 0;
      expect(cell.includes('every revoked certificate below a CA'), `${format}: ${cell}`).toBe(certItems(withCrl));
      expect(cell.includes("unless the CA's CRL lists it"), `${format}: ${cell}`).toBe(!certItems(withCrl) && certItems(withoutCrl));
    }
  });
});
