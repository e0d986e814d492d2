/**
 * Issue 19, `fetch --format sigstore`: the golden output on a fixture, the trusted root as
 * @sigstore/protobuf-specs reads it, and what a revocation removes. sigstore-js verifying a
 * bundle with it: test/e2e/sigstore-verify.test.ts.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { describe, expect, it } from 'vitest';
import { readFixtureText } from '../../../fixtures/index.js';
import { writeFormat, type FormatOutput } from '../../../sync/formats/index.js';
import { TRUSTED_ROOT_MEDIA_TYPE } from '../../../sync/formats/sigstore.js';
import { parseCertificate } from '../../../service/crypto/index.js';
import { certAnchor, doc, keyAnchor, pgpAnchor, redactFixtures, text } from './helpers.js';

const GOLDEN = fileURLToPath(new URL('../../fixtures/golden/sigstore.json', import.meta.url));
const OUT = '/etc/keyshare/sigstore';
const AT = '2026-11-01T00:00:00Z';

const root = certAnchor('root-ca', 'ca', 'acme-root');
const intermediate = certAnchor('intermediate-ca', 'ca', 'acme-intermediate');
const tsa = certAnchor('tsa-ca', 'tsa', 'acme-tsa');
const signer = certAnchor('leaf', 'signingAuthority', 'acme-signer');
const cosign = keyAnchor('ec-p256', 'ci');
const rsa = keyAnchor('rsa-2048', 'release');

async function fixtureOutput(): Promise<FormatOutput> {
  const team = doc('registry.acme.io/team-a', [root, intermediate, tsa, signer, cosign, await pgpAnchor('release', 'release-pgp')]);
  team.revoked.certificates.push({ issuer: intermediate.id, serial: '8badf00d', revokedAt: AT, reason: 'keyCompromise' });
  team.revoked.signatures.push({ digest: `sha256:${'ab'.repeat(32)}`, revokedAt: AT, reason: 'superseded' });
  return writeFormat('sigstore', { documents: [team, doc('*', [rsa])], repositories: [], outDir: OUT });
}

/** The output with the fixtures' key material named (helpers.ts `redactFixtures`). */
async function named(out: FormatOutput): Promise<string> {
  const s = redactFixtures(JSON.stringify({ files: Object.fromEntries(out.files.map((f) => [f.path, f.content])), warnings: out.warnings, unenforced: out.unenforced }, null, 2));
  const pgp = await pgpAnchor('release', 'release-pgp');
  return s.replaceAll(pgp.id, '<ID pgp/release.pub.asc>') + '\n';
}

describe('fetch --format sigstore', () => {
  it('writes the golden trusted_root.json, cosign keys and unenforced list for the fixture (UPDATE_GOLDEN=1 rewrites it)', async () => {
    const actual = await named(await fixtureOutput());
    if (process.env.UPDATE_GOLDEN) writeFileSync(GOLDEN, actual);
    expect(actual).toBe(readFileSync(GOLDEN, 'utf8'));
  });

  it('writes a TrustedRoot that @sigstore/protobuf-specs reads field for field', async () => {
    const json = JSON.parse(text((await fixtureOutput()).files, 'registry.acme.io_team-a/trusted_root.json'));
    expect(json.mediaType).toBe(TRUSTED_ROOT_MEDIA_TYPE);
    // toJSON drops empty lists; every other field must survive the round trip unchanged.
    const { tlogs, ctlogs, ...rest } = json;
    expect([tlogs, ctlogs]).toEqual([[], []]);
    expect(TrustedRoot.toJSON(TrustedRoot.fromJSON(json))).toEqual(rest);
    const ca = TrustedRoot.fromJSON(json).certificateAuthorities;
    // The intermediate is followed by its root, leaf first; validFor is where both are valid.
    expect(ca.map((c) => c.certChain!.certificates.length)).toEqual(json.certificateAuthorities.map((c: { subject: { commonName: string } }) => (c.subject.commonName.includes('Intermediate') ? 2 : 1)));
    const chained = ca.find((c) => c.certChain!.certificates.length === 2)!;
    expect([chained.validFor!.start!.toISOString(), chained.validFor!.end!.toISOString()]).toEqual(['2025-01-01T00:00:00.000Z', '2040-01-01T00:00:00.000Z']);
  });

  it('writes cosign keys as PUBLIC KEY PEM files, and nothing of a revoked CA', async () => {
    const team = doc('acme.io', [root, cosign]);
    const before = await writeFormat('sigstore', { documents: [team], repositories: [], outDir: OUT });
    expect(text(before.files, 'keys/acme.io/ci_' + cosign.id.slice(7, 19) + '.pub')).toBe(readFixtureText('keys/ec-p256.pub.pem'));
    // A revoked anchor leaves the document (CONTRACT.md), and so the trusted root.
    team.anchors = [cosign];
    team.revoked.keys.push({ id: root.id, revokedAt: AT, reason: 'keyCompromise' });
    const after = JSON.parse(text((await writeFormat('sigstore', { documents: [team], repositories: [], outDir: OUT })).files, 'acme.io/trusted_root.json'));
    expect(after.certificateAuthorities).toEqual([]);
  });

  it('ends validFor at the revocation of the anchor when the document still lists it', async () => {
    const team = doc('acme.io', [root]);
    team.revoked.keys.push({ id: root.id, revokedAt: AT, reason: 'superseded' });
    const out = JSON.parse(text((await writeFormat('sigstore', { documents: [team], repositories: [], outDir: OUT })).files, 'acme.io/trusted_root.json'));
    expect(out.certificateAuthorities[0].validFor).toEqual({ start: '2025-01-01T00:00:00.000Z', end: '2026-11-01T00:00:00.000Z' });
  });

  it("puts keyshare's TSA signing certificate (the tsa anchor's signingCertificates) first in its chain, and ignores one the anchor did not issue", async () => {
    // Stand-ins: the fixture root as the TSA root, the intermediate it issued as the TSA's certificate.
    const keyshareTsa = { ...certAnchor('root-ca', 'tsa', 'keyshare-tsa'), signingCertificates: [readFixtureText('certs/intermediate-ca.pem')] };
    const chainOf = async (anchor: typeof keyshareTsa) => {
      const out = await writeFormat('sigstore', { documents: [doc('acme.io', [anchor])], repositories: [], outDir: OUT });
      const json = JSON.parse(text(out.files, 'acme.io/trusted_root.json'));
      return { names: TrustedRoot.fromJSON(json).timestampAuthorities.map((t) => t.certChain!.certificates.map((c) => redactFixtures(c.rawBytes.toString('base64')))), warnings: out.warnings };
    };
    const der = (f: string) => readFixtureText(`certs/${f}.pem`).replace(/-----[^-]+-----|\s/g, '');
    expect((await chainOf(keyshareTsa)).names).toEqual([[der('intermediate-ca'), der('root-ca')].map(redactFixtures)]);
    // A certificate revocation of the signing certificate by the TSA root ends its validFor.
    const revoked = doc('acme.io', [keyshareTsa]);
    revoked.revoked.certificates.push({ issuer: keyshareTsa.id, serial: parseCertificate(keyshareTsa.signingCertificates[0]!).serialHex, revokedAt: AT, reason: 'keyCompromise' });
    const written = JSON.parse(text((await writeFormat('sigstore', { documents: [revoked], repositories: [], outDir: OUT })).files, 'acme.io/trusted_root.json'));
    expect(written.timestampAuthorities[0].validFor.end).toBe('2026-11-01T00:00:00.000Z');
    const other = await chainOf({ ...keyshareTsa, signingCertificates: [readFixtureText('certs/leaf.pem')] });
    expect(other.names).toEqual([[redactFixtures(der('root-ca'))]]);
    expect(other.warnings.join('\n')).toMatch(/is a root alone/);
  });
});
