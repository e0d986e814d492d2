/**
 * The pure parts of bundles in OCI registries (issue 20): references, the artifact manifest
 * and its checks, WWW-Authenticate challenges and stored credentials. The registry itself is
 * exercised in test/e2e/bundle-oci.test.ts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BUNDLE_ARTIFACT_TYPE, BUNDLE_LAYER_MEDIA_TYPE, EMPTY_CONFIG, EMPTY_CONFIG_BYTES, bundleManifest, parseBundleManifest } from '../../../sync/oci/artifact.js';
import { parseChallenge, storedCredentials } from '../../../sync/oci/auth.js';
import { sha256Digest } from '../../../sync/oci/client.js';
import { parseOciReference } from '../../../sync/oci/reference.js';
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

  it('reads containers-auth.json (most specific key first), then the docker config, and nothing when none matches', () => {
    const dir = tempDir('keyshare-auth-');
    const b64 = (u: string, p: string) => Buffer.from(`${u}:${p}`).toString('base64');
    const authFile = join(dir, 'auth.json');
    writeFileSync(authFile, JSON.stringify({ auths: { 'r.io': { auth: b64('host', 'h') }, 'r.io/team': { auth: b64('team', 't') } } }));
    mkdirSync(join(dir, 'docker'));
    writeFileSync(join(dir, 'docker', 'config.json'), JSON.stringify({ auths: { 'https://other.io/v1/': { auth: b64('docker', 'd:with:colons') } } }));
    const env = { REGISTRY_AUTH_FILE: authFile, XDG_CONFIG_HOME: join(dir, 'none'), DOCKER_CONFIG: join(dir, 'docker') };
    expect(storedCredentials('r.io', 'team/trust', env)).toEqual({ username: 'team', password: 't' });
    expect(storedCredentials('r.io', 'else/trust', env)).toEqual({ username: 'host', password: 'h' });
    expect(storedCredentials('other.io', 'x', env)).toEqual({ username: 'docker', password: 'd:with:colons' });
    expect(storedCredentials('nobody.io', 'x', env)).toBeNull();
  });
});
