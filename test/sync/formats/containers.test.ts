import * as openpgp from 'openpgp';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { isKeyshareError } from '../../../service/errors.js';
import { writeContainers, type ContainersPolicy, type OutputFile } from '../../../sync/formats/index.js';
import { certAnchor, doc, fileMap, keyAnchor, pgpAnchor, text } from './helpers.js';

const OUT = '/etc/keyshare/containers';

function policy(files: OutputFile[]): ContainersPolicy {
  return JSON.parse(text(files, 'policy.json')) as ContainersPolicy;
}

function registriesD(files: OutputFile[]): Record<string, unknown> {
  return (parseYaml(text(files, 'registries.d/keyshare.yaml')) ?? {}) as Record<string, unknown>;
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

/** Every path a requirement points to must be absolute, under --out, and written. */
function keyPathsOf(p: ContainersPolicy): string[] {
  const reqs = [...p.default, ...Object.values(p.transports.docker).flat()];
  return reqs.flatMap((r) => [r['keyPath'], ...((r['keyPaths'] as unknown[] | undefined) ?? [])]).filter((x): x is string => typeof x === 'string');
}

describe('containers format', () => {
  describe('when there is no default scope', () => {
    it('rejects everything not named', async () => {
      const out = await writeContainers({ documents: [doc('acme.io', [keyAnchor('ec-p256', 'cosign')])], repositories: [], outDir: OUT });
      expect(policy(out.files).default).toEqual([{ type: 'reject' }]);
    });
  });

  describe('when a scope has two OpenPGP keys', () => {
    it('writes one signedBy keyring with both', async () => {
      const release = await pgpAnchor('release', 'release');
      const second = await pgpAnchor('second', 'second');
      const out = await writeContainers({ documents: [doc('registry.acme.io/team-a', [second, release])], repositories: [], outDir: OUT });

      expect(policy(out.files).transports.docker).toEqual({
        'registry.acme.io/team-a': [
          {
            type: 'signedBy',
            keyType: 'GPGKeys',
            keyPath: `${OUT}/keys/registry.acme.io_team-a.gpg`,
            signedIdentity: { type: 'matchRepository' },
          },
        ],
      });
      const keyring = fileMap(out.files).get('keys/registry.acme.io_team-a.gpg');
      expect(keyring).toBeInstanceOf(Uint8Array);
      const keys = await openpgp.readKeys({ binaryKeys: keyring as Uint8Array });
      expect(keys.map((k) => `pgp:${k.getFingerprint()}`).sort()).toEqual([release.id, second.id].sort());
      expect(keys.every((k) => !k.isPrivate())).toBe(true);
    });

    it('turns on no sigstore attachments', async () => {
      const out = await writeContainers({
        documents: [doc('acme.io', [await pgpAnchor('release', 'release'), await pgpAnchor('second', 'second')])],
        repositories: [],
        outDir: OUT,
      });
      expect(registriesD(out.files)).toEqual({});
    });
  });

  describe('when a scope has one public key', () => {
    it('writes sigstoreSigned with keyPath and its key file', async () => {
      const cosign = keyAnchor('ec-p256', 'cosign');
      const out = await writeContainers({ documents: [doc('acme.io/team', [cosign])], repositories: [], outDir: OUT });
      const [req] = policy(out.files).transports.docker['acme.io/team']!;
      expect(Object.keys(req!).sort()).toEqual(['keyPath', 'signedIdentity', 'type']);
      expect(req).toMatchObject({ type: 'sigstoreSigned', signedIdentity: { type: 'matchRepository' } });
      const keyPath = req!['keyPath'] as string;
      expect(keyPath).toMatch(new RegExp(`^${OUT}/keys/acme\\.io_team/cosign_[0-9a-f]{12}\\.pub$`));
      expect(text(out.files, keyPath.slice(OUT.length + 1))).toBe(cosign.publicKey!.trim() + '\n');
    });

    it('turns on sigstore attachments for the scope', async () => {
      const out = await writeContainers({ documents: [doc('acme.io/team', [keyAnchor('ec-p256', 'cosign')])], repositories: [], outDir: OUT });
      expect(registriesD(out.files)).toEqual({ docker: { 'acme.io/team': { 'use-sigstore-attachments': true } } });
    });
  });

  describe('when a scope has two public keys', () => {
    it('writes one sigstoreSigned with keyPaths, and warns about older containers/image', async () => {
      const out = await writeContainers({
        documents: [doc('acme.io', [keyAnchor('ec-p256', 'a'), keyAnchor('ec-p384', 'b')])],
        repositories: [],
        outDir: OUT,
      });
      const reqs = policy(out.files).transports.docker['acme.io']!;
      expect(reqs).toHaveLength(1);
      expect(reqs[0]).not.toHaveProperty('keyPath');
      const paths = reqs[0]!['keyPaths'] as string[];
      expect(paths).toHaveLength(2);
      for (const p of paths) expect(fileMap(out.files).has(p.slice(OUT.length + 1))).toBe(true);
      expect(out.warnings.some((w) => w.includes('keyPaths'))).toBe(true);
    });
  });

  describe('when a scope mixes OpenPGP and public-key anchors', () => {
    it('refuses with FORMAT_UNSUPPORTED naming the scope', async () => {
      const p = writeContainers({
        documents: [doc('acme.io/mixed', [keyAnchor('ec-p256', 'cosign'), await pgpAnchor('release', 'release')])],
        repositories: [],
        outDir: OUT,
      });
      await expect(p).rejects.toThrow(/acme\.io\/mixed/);
      expect(await codeOf(p)).toBe('FORMAT_UNSUPPORTED');
    });
  });

  describe('when the level is skip', () => {
    it('accepts anything for the scope and writes no keys', async () => {
      const out = await writeContainers({
        documents: [doc('acme.io/unsigned', [keyAnchor('ec-p256', 'cosign'), await pgpAnchor('release', 'r')], 'skip')],
        repositories: [],
        outDir: OUT,
      });
      expect(policy(out.files).transports.docker['acme.io/unsigned']).toEqual([{ type: 'insecureAcceptAnything' }]);
      expect(out.files.map((f) => f.path)).toEqual(['policy.json', 'registries.d/keyshare.yaml']);
    });
  });

  describe('when the default scope has a public key', () => {
    it('uses it as the default and turns on attachments in default-docker', async () => {
      const out = await writeContainers({ documents: [doc('*', [keyAnchor('ec-p256', 'cosign')])], repositories: [], outDir: OUT });
      const p = policy(out.files);
      expect(p.default).toEqual([
        { type: 'sigstoreSigned', keyPath: expect.stringMatching(new RegExp(`^${OUT}/keys/_/cosign_`)), signedIdentity: { type: 'matchRepository' } },
      ]);
      expect(p.transports.docker).toEqual({});
      expect(registriesD(out.files)).toEqual({ 'default-docker': { 'use-sigstore-attachments': true } });
    });

    it('accepts anything by default when the default scope is skip', async () => {
      const out = await writeContainers({ documents: [doc('*', [], 'skip')], repositories: [], outDir: OUT });
      expect(policy(out.files).default).toEqual([{ type: 'insecureAcceptAnything' }]);
    });
  });

  describe('when a scope has only certificate anchors', () => {
    it('rejects its images, warns, and lists the anchors as unenforced', async () => {
      const root = certAnchor('root-ca', 'ca', 'root');
      const out = await writeContainers({ documents: [doc('acme.io', [root])], repositories: [], outDir: OUT });
      expect(policy(out.files).transports.docker['acme.io']).toEqual([{ type: 'reject' }]);
      expect(out.unenforced).toEqual([{ scope: 'acme.io', kind: 'anchor', id: root.id, reason: expect.stringContaining('ca anchor "root"') }]);
      expect(out.warnings.some((w) => w.includes('rejected'))).toBe(true);
    });
  });

  describe('when --lookaside and --lookaside-staging are given', () => {
    it('writes them into registries.d as default-docker, beside the sigstore attachments of *', async () => {
      const lookaside = { url: 'https://sigs.acme.io', staging: 'file:///var/lib/containers/sigstore' };
      const out = await writeContainers({
        documents: [doc('*', [keyAnchor('ec-p256', 'k')]), doc('acme.io', [await pgpAnchor('release', 'release')])],
        repositories: [],
        outDir: OUT,
        lookaside,
      });
      expect(registriesD(out.files)).toEqual({
        'default-docker': { lookaside: lookaside.url, 'lookaside-staging': lookaside.staging, 'use-sigstore-attachments': true },
      });
      expect(out.warnings.filter((w) => w.includes('lookaside'))).toEqual([]);
    });

    it('without them, warns that OpenPGP scopes read signatures only from the built-in default', async () => {
      const out = await writeContainers({ documents: [doc('acme.io', [await pgpAnchor('release', 'release')])], repositories: [], outDir: OUT });
      expect(registriesD(out.files)).toEqual({});
      expect(out.warnings).toEqual([expect.stringContaining('--lookaside')]);
    });
  });

  describe('when scopes are wildcards, hosts with ports and namespaces', () => {
    it('uses the keyshare scopes as docker scopes as they are', async () => {
      const k = keyAnchor('ec-p256', 'k');
      const out = await writeContainers({
        documents: [doc('*.example.com', [k]), doc('localhost:5000', [k]), doc('127.0.0.1:5000/team/app', [k])],
        repositories: [],
        outDir: OUT,
      });
      expect(Object.keys(policy(out.files).transports.docker)).toEqual(['*.example.com', '127.0.0.1:5000/team/app', 'localhost:5000']);
      expect(Object.keys(registriesD(out.files)['docker'] as object)).toEqual(['*.example.com', '127.0.0.1:5000/team/app', 'localhost:5000']);
      // Plain YAML: no anchors or aliases for the repeated sections.
      expect(text(out.files, 'registries.d/keyshare.yaml')).not.toMatch(/[&*]a\d/);
      expect(fileMap(out.files).has(`keys/_.example.com/k_${k.id.slice(7, 19)}.pub`)).toBe(true);
    });
  });

  describe('when the level is audit', () => {
    it('enforces signatures and warns', async () => {
      const out = await writeContainers({ documents: [doc('acme.io', [keyAnchor('ec-p256', 'k')], 'audit')], repositories: [], outDir: OUT });
      expect(policy(out.files).transports.docker['acme.io']![0]!['type']).toBe('sigstoreSigned');
      expect(out.warnings.some((w) => w.includes('audit'))).toBe(true);
    });
  });

  describe('when --out is relative', () => {
    it('refuses with FORMAT_INPUT_INVALID', async () => {
      expect(await codeOf(writeContainers({ documents: [], repositories: [], outDir: 'out' }))).toBe('FORMAT_INPUT_INVALID');
    });
  });

  describe('when the same input comes in another order', () => {
    it('writes the same files, byte for byte, with every key path absolute and written', async () => {
      const docs = [
        doc('*', [keyAnchor('ec-p384', 'd')]),
        doc('acme.io', [await pgpAnchor('second', 's'), await pgpAnchor('release', 'r')]),
        doc('acme.io/team', [keyAnchor('ec-p256', 'a'), keyAnchor('ec-p384', 'b')]),
      ];
      const a = await writeContainers({ documents: docs, repositories: [], outDir: OUT });
      const b = await writeContainers({
        documents: [...docs].reverse().map((d) => ({ ...d, anchors: [...d.anchors].reverse() })),
        repositories: [],
        outDir: OUT,
      });
      expect(b).toEqual(a);
      const written = fileMap(a.files);
      for (const p of keyPathsOf(policy(a.files))) {
        expect(p.startsWith(`${OUT}/keys/`)).toBe(true);
        expect(written.has(p.slice(OUT.length + 1))).toBe(true);
      }
    });
  });
});
