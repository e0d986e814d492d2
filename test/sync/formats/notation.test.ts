import { rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isKeyshareError } from '../../../service/errors.js';
import { writeNotation, type NotationTrustPolicyDocument } from '../../../sync/formats/index.js';
import { certAnchor, doc, keyAnchor, materialize, pgpAnchor, text } from './helpers.js';
import { nonRegularEntries, notationViolations } from './notation-rules.js';

const OUT = '/etc/notation';
const ROOT_SUBJECT = 'x509.subject: CN=Keyshare Test Root CA, O=Keyshare Fixtures, ST=WA, C=US';

function policies(files: { path: string; content: string | Uint8Array }[]): NotationTrustPolicyDocument {
  return JSON.parse(text(files, 'trustpolicy.json')) as NotationTrustPolicyDocument;
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (isKeyshareError(e)) return e.code;
    throw e;
  }
  throw new Error('expected a KeyshareError');
}

describe('notation format', () => {
  describe('when a repository resolves to a scope with ca, signingAuthority and tsa anchors', () => {
    const input = () => ({
      documents: [
        doc('registry.acme.io/team-a', [
          certAnchor('root-ca', 'ca', 'acme-root', ['*']),
          certAnchor('intermediate-ca', 'signingAuthority', 'acme sa'),
          certAnchor('tsa-ca', 'tsa', 'acme-tsa'),
        ]),
      ],
      repositories: [{ repository: 'registry.acme.io/team-a/app', scope: 'registry.acme.io/team-a' }],
      outDir: OUT,
    });

    it('writes a valid trust store and policy by notation rules', async () => {
      const out = await writeNotation(input());
      expect(notationViolations(out.files)).toEqual([]);
      expect(out.warnings).toEqual([]);
    });

    it('writes one certificate per file under each store type', async () => {
      const out = await writeNotation(input());
      const store = 'registry.acme.io_team-a';
      const paths = out.files.map((f) => f.path).filter((p) => p.startsWith('truststore/'));
      expect(paths).toHaveLength(3);
      expect(paths.filter((p) => p.startsWith(`truststore/x509/ca/${store}/acme-root_`))).toHaveLength(1);
      expect(paths.filter((p) => p.startsWith(`truststore/x509/signingAuthority/${store}/acme_sa_`))).toHaveLength(1);
      expect(paths.filter((p) => p.startsWith(`truststore/x509/tsa/${store}/acme-tsa_`))).toHaveLength(1);
    });

    it('names every store in one exact-repository policy at the scope level', async () => {
      const out = await writeNotation(input());
      expect(policies(out.files)).toEqual({
        version: '1.0',
        trustPolicies: [
          {
            name: 'keyshare-registry.acme.io_team-a_app',
            registryScopes: ['registry.acme.io/team-a/app'],
            signatureVerification: { level: 'strict' },
            trustStores: ['ca:registry.acme.io_team-a', 'signingAuthority:registry.acme.io_team-a', 'tsa:registry.acme.io_team-a'],
            trustedIdentities: ['*'],
          },
        ],
      });
    });

    it('writes trustpolicy.json and trustpolicy.oci.json byte for byte the same', async () => {
      const out = await writeNotation(input());
      expect(text(out.files, 'trustpolicy.oci.json')).toBe(text(out.files, 'trustpolicy.json'));
    });

    it('writes only regular files', async () => {
      const dir = materialize((await writeNotation(input())).files);
      try {
        expect(nonRegularEntries(dir)).toEqual([]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('when the default scope exists', () => {
    it('adds a * policy using the _ store', async () => {
      const out = await writeNotation({
        documents: [doc('*', [certAnchor('root-ca', 'ca', 'root')], 'permissive')],
        repositories: [],
        outDir: OUT,
      });
      expect(notationViolations(out.files)).toEqual([]);
      expect(policies(out.files).trustPolicies).toEqual([
        {
          name: 'keyshare-default',
          registryScopes: ['*'],
          signatureVerification: { level: 'permissive' },
          trustStores: ['ca:_'],
          trustedIdentities: ['*'],
        },
      ]);
    });

    it('keeps the exact-repository policies beside it', async () => {
      const out = await writeNotation({
        documents: [doc('*', [certAnchor('root-ca', 'ca', 'root')]), doc('acme.io', [certAnchor('intermediate-ca', 'ca', 'i')], 'audit')],
        repositories: [
          { repository: 'acme.io/app', scope: 'acme.io' },
          { repository: 'other.io/app', scope: '*' },
        ],
        outDir: OUT,
      });
      expect(notationViolations(out.files)).toEqual([]);
      const ps = policies(out.files).trustPolicies;
      expect(ps.map((p) => [p.registryScopes[0], p.signatureVerification.level, p.trustStores])).toEqual([
        ['acme.io/app', 'audit', ['ca:acme.io']],
        ['other.io/app', 'strict', ['ca:_']],
        ['*', 'strict', ['ca:_']],
      ]);
    });
  });

  describe('when a scope has public-key and OpenPGP anchors besides certificates', () => {
    it('leaves them out, listed as unenforced', async () => {
      const out = await writeNotation({
        documents: [
          doc('acme.io', [certAnchor('root-ca', 'ca', 'root'), keyAnchor('ec-p256', 'cosign'), await pgpAnchor('release', 'release')]),
        ],
        repositories: [{ repository: 'acme.io/app', scope: 'acme.io' }],
        outDir: OUT,
      });
      expect(notationViolations(out.files)).toEqual([]);
      expect(out.files.filter((f) => f.path.startsWith('truststore/'))).toHaveLength(1);
      expect(out.warnings).toEqual([]);
      expect(out.unenforced.map((i) => [i.scope, i.kind, i.reason.match(/(\w+) anchor "(\w+)"/)?.slice(1)])).toEqual(
        expect.arrayContaining([
          ['acme.io', 'anchor', ['publicKey', 'cosign']],
          ['acme.io', 'anchor', ['pgp', 'release']],
        ]),
      );
      expect(out.unenforced).toHaveLength(2);
    });
  });

  describe("when a repository's scope has no X.509 signing anchors", () => {
    it('refuses with FORMAT_UNSUPPORTED naming the scope', async () => {
      const p = writeNotation({
        documents: [doc('acme.io/keys-only', [keyAnchor('ec-p256', 'cosign'), certAnchor('tsa-ca', 'tsa', 'tsa')])],
        repositories: [{ repository: 'acme.io/keys-only/app', scope: 'acme.io/keys-only' }],
        outDir: OUT,
      });
      await expect(p).rejects.toThrow(/acme\.io\/keys-only/);
      expect(await codeOf(p)).toBe('FORMAT_UNSUPPORTED');
    });
  });

  describe('when the default scope has no X.509 anchors', () => {
    it('writes no * policy and warns, so that unmatched repositories fail closed', async () => {
      const out = await writeNotation({
        documents: [doc('*', [keyAnchor('ec-p256', 'cosign')]), doc('acme.io', [certAnchor('root-ca', 'ca', 'root')])],
        repositories: [{ repository: 'acme.io/app', scope: 'acme.io' }],
        outDir: OUT,
      });
      expect(notationViolations(out.files)).toEqual([]);
      expect(policies(out.files).trustPolicies.map((p) => p.registryScopes)).toEqual([['acme.io/app']]);
      expect(out.warnings.some((w) => w.includes('no * policy'))).toBe(true);
    });
  });

  describe('when the level is skip', () => {
    it('writes the repository policy without trust stores or identities', async () => {
      const out = await writeNotation({
        documents: [doc('acme.io/unsigned', [certAnchor('root-ca', 'ca', 'root')], 'skip')],
        repositories: [{ repository: 'acme.io/unsigned/tool', scope: 'acme.io/unsigned' }],
        outDir: OUT,
      });
      expect(notationViolations(out.files)).toEqual([]);
      expect(policies(out.files).trustPolicies).toEqual([
        { name: 'keyshare-acme.io_unsigned_tool', registryScopes: ['acme.io/unsigned/tool'], signatureVerification: { level: 'skip' } },
      ]);
    });

    it('writes no * policy for a skip default scope, which the spec forbids', async () => {
      const out = await writeNotation({
        documents: [doc('*', [], 'skip'), doc('acme.io', [certAnchor('root-ca', 'ca', 'root')])],
        repositories: [{ repository: 'acme.io/app', scope: 'acme.io' }],
        outDir: OUT,
      });
      expect(notationViolations(out.files)).toEqual([]);
      expect(policies(out.files).trustPolicies.map((p) => p.registryScopes)).toEqual([['acme.io/app']]);
      expect(out.warnings.some((w) => w.includes('level skip'))).toBe(true);
    });
  });

  describe('when anchors name trusted identities', () => {
    const narrower = 'x509.subject: CN=Signer, OU=Build, O=Keyshare Fixtures, ST=WA, C=US';
    const broader = 'x509.subject: O=Keyshare Fixtures, ST=WA, C=US';

    it('trusts their union, without overlapping items', async () => {
      const out = await writeNotation({
        documents: [
          doc('acme.io', [
            certAnchor('root-ca', 'ca', 'root', [narrower, ROOT_SUBJECT]),
            certAnchor('intermediate-ca', 'signingAuthority', 'sa', [broader]),
          ]),
        ],
        repositories: [{ repository: 'acme.io/app', scope: 'acme.io' }],
        outDir: OUT,
      });
      expect(notationViolations(out.files)).toEqual([]);
      expect(policies(out.files).trustPolicies[0]!.trustedIdentities).toEqual([broader]);
    });

    it('keeps distinct identities side by side', async () => {
      const other = 'x509.subject: O=Other Org, ST=CA, C=US';
      const out = await writeNotation({
        documents: [doc('acme.io', [certAnchor('root-ca', 'ca', 'root', [ROOT_SUBJECT]), certAnchor('intermediate-ca', 'ca', 'i', [other])])],
        repositories: [{ repository: 'acme.io/app', scope: 'acme.io' }],
        outDir: OUT,
      });
      expect(notationViolations(out.files)).toEqual([]);
      expect(policies(out.files).trustPolicies[0]!.trustedIdentities).toEqual([ROOT_SUBJECT, other]);
    });

    it('trusts any identity when one signing anchor does', async () => {
      const out = await writeNotation({
        documents: [doc('acme.io', [certAnchor('root-ca', 'ca', 'root', [ROOT_SUBJECT]), certAnchor('intermediate-ca', 'ca', 'i')])],
        repositories: [{ repository: 'acme.io/app', scope: 'acme.io' }],
        outDir: OUT,
      });
      expect(policies(out.files).trustPolicies[0]!.trustedIdentities).toEqual(['*']);
    });

    it('refuses an identity without C, ST and O', async () => {
      const p = writeNotation({
        documents: [doc('acme.io', [certAnchor('root-ca', 'ca', 'root', ['x509.subject: CN=Signer, O=Acme'])])],
        repositories: [{ repository: 'acme.io/app', scope: 'acme.io' }],
        outDir: OUT,
      });
      expect(await codeOf(p)).toBe('FORMAT_UNSUPPORTED');
    });
  });

  describe('when two repositories resolve to one scope', () => {
    it('writes one uniquely named policy per repository', async () => {
      const out = await writeNotation({
        documents: [doc('acme.io', [certAnchor('root-ca', 'ca', 'root')])],
        repositories: [
          { repository: 'acme.io/a_b', scope: 'acme.io' },
          { repository: 'acme.io/a/b', scope: 'acme.io' },
          { repository: 'acme.io/a/b', scope: 'acme.io' },
        ],
        outDir: OUT,
      });
      expect(notationViolations(out.files)).toEqual([]);
      const ps = policies(out.files).trustPolicies;
      expect(ps.map((p) => p.registryScopes[0])).toEqual(['acme.io/a/b', 'acme.io/a_b']);
      expect(ps.map((p) => p.name)).toEqual(['keyshare-acme.io_a_b', 'keyshare-acme.io_a_b-2']);
    });
  });

  describe('when a repository is not fully qualified', () => {
    it.each(['acme.io', 'acme.io/*', '*', 'acme.io/App'])('refuses %s', async (repository) => {
      const p = writeNotation({
        documents: [doc('acme.io', [certAnchor('root-ca', 'ca', 'root')])],
        repositories: [{ repository, scope: 'acme.io' }],
        outDir: OUT,
      });
      expect(await codeOf(p)).toBe('FORMAT_UNSUPPORTED');
    });
  });

  describe('when a repository resolves to a scope that was not fetched', () => {
    it('refuses with FORMAT_INPUT_INVALID', async () => {
      const p = writeNotation({ documents: [], repositories: [{ repository: 'acme.io/app', scope: 'acme.io' }], outDir: OUT });
      expect(await codeOf(p)).toBe('FORMAT_INPUT_INVALID');
    });
  });

  describe('when there is neither a repository nor a default scope', () => {
    it('writes the trust stores, no policy file, and a warning', async () => {
      const out = await writeNotation({ documents: [doc('acme.io', [certAnchor('root-ca', 'ca', 'root')])], repositories: [], outDir: OUT });
      expect(out.files.map((f) => f.path).filter((p) => p.startsWith('trustpolicy'))).toEqual([]);
      expect(out.files).toHaveLength(1);
      expect(out.warnings.some((w) => w.includes('no trust policy written'))).toBe(true);
    });
  });

  describe('when two anchors share a name', () => {
    it('gives each certificate its own file', async () => {
      const out = await writeNotation({
        documents: [doc('acme.io', [certAnchor('root-ca', 'ca', '../same name'), certAnchor('intermediate-ca', 'ca', '../same name')])],
        repositories: [{ repository: 'acme.io/app', scope: 'acme.io' }],
        outDir: OUT,
      });
      expect(notationViolations(out.files)).toEqual([]);
      const paths = out.files.map((f) => f.path).filter((p) => p.startsWith('truststore/'));
      expect(new Set(paths).size).toBe(2);
      for (const p of paths) expect(p).toMatch(/^truststore\/x509\/ca\/acme\.io\/__same_name_[0-9a-f]{12}\.pem$/);
    });
  });

  describe('when the same input comes in another order', () => {
    it('writes the same files, byte for byte', async () => {
      const docs = [
        doc('*', [certAnchor('root-ca', 'ca', 'root')]),
        doc('acme.io', [certAnchor('tsa-ca', 'tsa', 't'), certAnchor('intermediate-ca', 'ca', 'i'), certAnchor('root-ca', 'ca', 'r')]),
      ];
      const repos = [
        { repository: 'acme.io/b', scope: 'acme.io' },
        { repository: 'acme.io/a', scope: 'acme.io' },
      ];
      const a = await writeNotation({ documents: docs, repositories: repos, outDir: OUT });
      const b = await writeNotation({
        documents: [...docs].reverse().map((d) => ({ ...d, anchors: [...d.anchors].reverse() })),
        repositories: [...repos].reverse(),
        outDir: OUT,
      });
      expect(b).toEqual(a);
    });
  });
});
