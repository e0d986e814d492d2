/**
 * The pure parts of bundles in OCI registries (issue 20): references, the artifact manifest
 * and its checks, WWW-Authenticate challenges and stored credentials. The registry itself is
 * exercised in test/e2e/bundle-oci.test.ts.
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BUNDLE_ARTIFACT_TYPE, BUNDLE_LAYER_MEDIA_TYPE, EMPTY_CONFIG, EMPTY_CONFIG_BYTES, bundleManifest, parseBundleManifest } from '../../../shared/oci/artifact.js';
import { HELPER_MAX_OUTPUT, parseChallenge, runCredentialHelper, storedCredentials } from '../../../sync/oci/auth.js';
import { sha256Digest } from '../../../sync/oci/client.js';
import { parseOciReference } from '../../../shared/oci/reference.js';
import { cleanupTempDirs, tempDir } from '../../support/service.js';

afterAll(cleanupTempDirs);

const codeOf = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return 'accepted';
};
const DIGEST = `sha256:${'a'.repeat(64)}`;

describe('oci:// references', () => {
  it('reads host, port, repository, tag and digest, with latest as the default tag', () => {
    expect(parseOciReference('oci://registry.acme.io/keyshare/trust')).toMatchObject({ registry: 'registry.acme.io', repository: 'keyshare/trust', tag: 'latest', digest: null });
    expect(parseOciReference('oci://127.0.0.1:5000/a/b:42')).toMatchObject({ registry: '127.0.0.1:5000', hostname: '127.0.0.1', repository: 'a/b', tag: '42' });
    expect(parseOciReference(`oci://[::1]:5000/a@${DIGEST}`)).toMatchObject({ hostname: '::1', tag: null, digest: DIGEST });
  });

  it('refuses what the distribution spec does not allow with OCI_REFERENCE_INVALID', () => {
    for (const bad of ['docker://r.io/a', 'oci://r.io', 'oci://r.io/', 'oci://R.io/a', 'oci://r.io/A', 'oci://r.io/a:-x', 'oci://r.io/a@sha256:12', 'oci://r.io:99999/a', 'oci://r.io/a//b', 'oci://r.io/../a']) {
      expect(codeOf(() => parseOciReference(bad)), bad).toBe('OCI_REFERENCE_INVALID');
    }
  });
});

describe('the bundle artifact manifest', () => {
  const layer = { digest: DIGEST, size: 1234 };

  it('is an OCI 1.1 artifact: artifactType, the empty config, one bundle layer, the annotations', () => {
    const m = JSON.parse(bundleManifest(layer, { origin: 'f'.repeat(32), timestampVersion: 7, createdAt: '2026-12-01T00:00:00Z', since: 5 }).toString());
    expect(m).toMatchObject({ schemaVersion: 2, artifactType: BUNDLE_ARTIFACT_TYPE, config: EMPTY_CONFIG, layers: [{ mediaType: BUNDLE_LAYER_MEDIA_TYPE, ...layer }] });
    expect(m.annotations).toEqual({ 'org.opencontainers.image.created': '2026-12-01T00:00:00Z', 'io.keyshare.bundle.origin': 'f'.repeat(32), 'io.keyshare.bundle.timestamp-version': '7', 'io.keyshare.bundle.since': '5' });
    expect(sha256Digest(EMPTY_CONFIG_BYTES)).toBe(EMPTY_CONFIG.digest);
    expect(parseBundleManifest(Buffer.from(JSON.stringify(m))).layer).toMatchObject(layer);
  });

  it('tells a malformed manifest (OCI_MANIFEST_INVALID) from another artifact (OCI_NOT_A_BUNDLE)', () => {
    const good = JSON.parse(bundleManifest(layer, { origin: 'f'.repeat(32), timestampVersion: 7, createdAt: '2026-12-01T00:00:00Z', since: null }).toString());
    const parse = (m: unknown) => codeOf(() => parseBundleManifest(Buffer.from(typeof m === 'string' ? m : JSON.stringify(m))));
    expect(parse('not json')).toBe('OCI_MANIFEST_INVALID');
    expect(parse({ ...good, schemaVersion: 1 })).toBe('OCI_MANIFEST_INVALID');
    expect(parse({ ...good, layers: [{ ...good.layers[0], digest: 'sha512:00' }] })).toBe('OCI_MANIFEST_INVALID');
    expect(parse({ ...good, layers: [{ ...good.layers[0], size: -1 }] })).toBe('OCI_MANIFEST_INVALID');
    expect(parse({ ...good, artifactType: 'application/vnd.cncf.notary.signature' })).toBe('OCI_NOT_A_BUNDLE');
    expect(parse({ ...good, mediaType: 'application/vnd.oci.image.index.v1+json' })).toBe('OCI_NOT_A_BUNDLE');
    expect(parse({ ...good, layers: [good.layers[0], good.layers[0]] })).toBe('OCI_NOT_A_BUNDLE');
    expect(parse({ ...good, layers: [{ ...good.layers[0], mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' }] })).toBe('OCI_NOT_A_BUNDLE');
  });
});

describe('registry auth', () => {
  it('parses Basic and Bearer challenges', () => {
    expect(parseChallenge('Basic realm="keyshare-test"')).toEqual({ scheme: 'basic', params: { realm: 'keyshare-test' } });
    expect(parseChallenge('Bearer realm="https://auth.acme.io/token",service="registry.acme.io",scope="repository:a/b:pull"')).toEqual({
      scheme: 'bearer',
      params: { realm: 'https://auth.acme.io/token', service: 'registry.acme.io', scope: 'repository:a/b:pull' },
    });
    expect(parseChallenge('Negotiate abc')).toBeNull();
    expect(parseChallenge(undefined)).toBeNull();
  });

  it('reads containers-auth.json (most specific key first), then the docker config, and nothing when none matches', async () => {
    const dir = tempDir('keyshare-auth-');
    const b64 = (u: string, p: string) => Buffer.from(`${u}:${p}`).toString('base64');
    const authFile = join(dir, 'auth.json');
    writeFileSync(authFile, JSON.stringify({ auths: { 'r.io': { auth: b64('host', 'h') }, 'r.io/team': { auth: b64('team', 't') } } }));
    mkdirSync(join(dir, 'docker'));
    writeFileSync(join(dir, 'docker', 'config.json'), JSON.stringify({ auths: { 'https://other.io/v1/': { auth: b64('docker', 'd:with:colons') } } }));
    const env = { REGISTRY_AUTH_FILE: authFile, XDG_CONFIG_HOME: join(dir, 'none'), DOCKER_CONFIG: join(dir, 'docker') };
    expect(await storedCredentials('r.io', 'team/trust', env)).toEqual({ username: 'team', password: 't' });
    expect(await storedCredentials('r.io', 'else/trust', env)).toEqual({ username: 'host', password: 'h' });
    expect(await storedCredentials('other.io', 'x', env)).toEqual({ username: 'docker', password: 'd:with:colons' });
    expect(await storedCredentials('nobody.io', 'x', env)).toBeNull();
  });

  describe('docker credential helpers (credHelpers, credsStore)', () => {
    /** Fake helpers on a PATH of their own, speaking the protocol: the host on stdin, JSON or "not found" out. */
    function helpers() {
      const dir = tempDir('keyshare-helpers-');
      const bin = join(dir, 'bin');
      mkdirSync(bin);
      const log = join(dir, 'asked');
      const script = (name: string, body: string) => {
        writeFileSync(join(bin, `docker-credential-${name}`), `#!/bin/sh\n${body}\n`);
        chmodSync(join(bin, `docker-credential-${name}`), 0o755);
      };
      script(
        'fake',
        [
          `read host; echo "$1 $host" >> ${log}`,
          'case "$host" in',
          '  r.io) echo \'{"ServerURL":"r.io","Username":"helper-user","Secret":"helper-secret"}\' ;;',
          '  store.io) echo \'{"ServerURL":"store.io","Username":"store-user","Secret":"s"}\' ;;',
          '  oauth.io) echo \'{"ServerURL":"oauth.io","Username":"<token>","Secret":"refresh"}\' ;;',
          '  *) echo "credentials not found in native keychain"; exit 1 ;;',
          'esac',
        ].join('\n'),
      );
      script('slow', 'sleep 30');
      script('chatty', 'head -c 200000 /dev/zero | tr "\\000" a');
      script('broken', 'echo "the keychain is locked" >&2; exit 3');
      script('garbled', 'echo "not json"');
      const env = (config: unknown) => {
        writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
        return { PATH: `${bin}:${process.env.PATH}`, DOCKER_CONFIG: dir, XDG_CONFIG_HOME: join(dir, 'none'), HOME: dir };
      };
      return { env, asked: () => readFileSync(log, 'utf8').trim().split('\n') };
    }
    const failure = (p: Promise<unknown>) => p.then(() => 'accepted', (e: { code?: string; message: string }) => `${e.code}: ${e.message}`);

    it('runs `docker-credential-<name> get` with the registry host on stdin: credHelpers first, then credsStore, then inline auths', async () => {
      const h = helpers();
      const inline = Buffer.from('inline:i').toString('base64');
      const env = h.env({ credHelpers: { 'r.io': 'fake', 'mine.io': 'fake' }, credsStore: 'fake', auths: { 'mine.io': { auth: inline }, 'none.io': {} } });
      expect(await storedCredentials('r.io', 'keyshare/trust', env)).toEqual({ username: 'helper-user', password: 'helper-secret' });
      expect(await storedCredentials('store.io', 'keyshare/trust', env)).toEqual({ username: 'store-user', password: 's' });
      // The helpers have none for mine.io ("credentials not found"): the inline entry; for none.io: anonymous.
      expect(await storedCredentials('mine.io', 'x', env)).toEqual({ username: 'inline', password: 'i' });
      expect(await storedCredentials('none.io', 'x', env)).toBeNull();
      expect(h.asked()).toEqual(['get r.io', 'get store.io', 'get mine.io', 'get none.io']);
    });

    it('refuses, with REGISTRY_AUTH_FAILED naming the helper, one that is missing, slow, chatty, broken, garbled, badly named or gives an identity token', async () => {
      const h = helpers();
      const env = h.env({});
      const run = (name: string, registry = 'x.io', timeoutMs?: number) => failure(runCredentialHelper(name, registry, env, 'config.json', timeoutMs));
      expect(await run('absent')).toBe('REGISTRY_AUTH_FAILED: the credential helper docker-credential-absent (named in config.json) for x.io is not on PATH');
      expect(await run('slow', 'x.io', 500)).toMatch(/^REGISTRY_AUTH_FAILED: .*docker-credential-slow .* did not answer within 0.5 s$/);
      expect(await run('chatty')).toMatch(new RegExp(`^REGISTRY_AUTH_FAILED: .*docker-credential-chatty .* printed over ${HELPER_MAX_OUTPUT} bytes$`));
      expect(await run('broken')).toMatch(/^REGISTRY_AUTH_FAILED: .*docker-credential-broken .* failed \(exit 3\): the keychain is locked$/);
      expect(await run('garbled')).toMatch(/printed something other than JSON$/);
      expect(await run('fake', 'oauth.io')).toMatch(/gives an identity token/);
      expect(await run('../../bin/sh')).toMatch(/^REGISTRY_AUTH_FAILED: config.json names the credential helper "..\/..\/bin\/sh"/);
      // Through the auth files too: a broken helper stops the pull rather than going anonymous.
      expect(await failure(storedCredentials('x.io', 'a/b', h.env({ credsStore: 'broken' })))).toMatch(/^REGISTRY_AUTH_FAILED: /);
    });
  });
});
