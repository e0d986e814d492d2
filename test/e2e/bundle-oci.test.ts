/**
 * Bundles through OCI registries (issue 20) with real peers on loopback: Debian's
 * docker-registry (distribution 2.8) as the registries, Debian's skopeo to inspect and to
 * mirror registry A to registry B as a site's mirror job does, and tuf-js as the outside client
 * of the importing site. One origin data dir, one running site, registries A and B (plain
 * HTTP on loopback, --insecure) and C (TLS with a self-signed CA, htpasswd basic auth).
 * Every refusal leaves the site exactly as it was.
 */
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, rmSync, writeFileSync, unlinkSync, existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFixtureText } from '../../fixtures/index.js';
import { expectedSpkiId } from '../service/crypto/helpers.js';
import { openInstance, type Instance } from '../../service/instance.js';
import { packageRoot } from '../../service/util/paths.js';
import { KeyshareError } from '../../service/errors.js';
import type { PushResult } from '../../service/federation/bundle/registry.js';
import { importFromRegistry, pullBundle, pushBundle } from '../support/federation.js';
import { BUNDLE_ARTIFACT_TYPE, BUNDLE_LAYER_MEDIA_TYPE, EMPTY_CONFIG, EMPTY_CONFIG_BYTES, OCI_MANIFEST_MEDIA_TYPE } from '../../shared/oci/artifact.js';
import { CHUNK_BYTES, RegistryClient, sha256Digest, type RegistryOptions } from '../../sync/oci/client.js';
import { parseOciReference } from '../../shared/oci/reference.js';
import { startRegistry, startTokenService, type RunningRegistry } from '../support/registry.js';
import { TufClient, cleanupTempDirs, eventually, newDataDir, startTestService, tempDir, type TestService } from '../support/service.js';
import { requireTool } from '../support/system-tools.js';
import { codeOf, importerState } from '../sync/bundle/support.js';

const BIN = join(packageRoot(), 'bin', 'keyshare.js');
const EC_KEY = readFixtureText('keys/ec-p256.pub.pem');
const ED_KEY = readFixtureText('keys/ed25519.pub.pem');
const ED_KEY_ID = expectedSpkiId(ED_KEY);
const USER = { name: 'mirror', password: 's3cret-pass' };
const PLAIN: RegistryOptions = { insecure: true };

type TrustDoc = { scope: string; anchors: { id: string }[]; revoked: { keys: { id: string }[] } };

let work: string;
let originDir: string;
let origin: Instance;
let originRoot: Buffer;
let site: TestService;
let A: RunningRegistry;
let B: RunningRegistry;
let C: RunningRegistry;
let first: PushResult;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function keyshare(args: string[], options: { input?: string; env?: Record<string, string> } = {}): Promise<Run> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KEYSHARE_') && k !== 'REGISTRY_AUTH_FILE'));
  return new Promise((done) => {
    const child = execFile(process.execPath, [BIN, ...args], { cwd: work, env: { ...clean, ...options.env }, timeout: 120_000 }, (error, stdout, stderr) => {
      done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout: stdout.toString(), stderr: stderr.toString() });
    });
    child.stdin!.end(options.input ?? '');
  });
}

function skopeo(args: string[]): { code: number; out: string } {
  try {
    return { code: 0, out: execFileSync(requireTool('skopeo'), args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 }) };
  } catch (e) {
    const err = e as { status?: number; stderr?: Buffer | string };
    return { code: err.status ?? -1, out: String(err.stderr ?? '') };
  }
}

/** Everything an import may change on the site. */
const siteState = () => importerState(site.instance.store, first.origin);

const importIntoSite = (ref: string, registry: RegistryOptions = PLAIN, extra: { maxArchiveBytes?: number } = {}) =>
  importFromRegistry({ ref, registry, root: originRoot, dataDir: site.dataDir, tmpDir: work, limits: extra.maxArchiveBytes ? { maxArchiveBytes: extra.maxArchiveBytes } : undefined });

/** The registry's stored file of a blob (distribution's filesystem layout). */
const blobData = (r: RunningRegistry, digest: string) => join(r.storage, 'docker/registry/v2/blobs/sha256', digest.slice(7, 9), digest.slice(7), 'data');

/** Pushes a hand-made manifest with one layer, as another tool would. */
async function pushRaw(ref: string, layer: Buffer, manifest: (layer: { digest: string; size: number }) => unknown): Promise<void> {
  const client = new RegistryClient(parseOciReference(ref), PLAIN, true);
  const desc = { digest: sha256Digest(layer), size: layer.length };
  await client.pushBlob({ bytes: EMPTY_CONFIG_BYTES }, EMPTY_CONFIG.digest, EMPTY_CONFIG.size);
  await client.pushBlob({ bytes: layer }, desc.digest, desc.size);
  await client.putManifest(parseOciReference(ref).tag!, Buffer.from(JSON.stringify(manifest(desc))));
}

beforeAll(async () => {
  expect(existsSync(join(packageRoot(), 'dist', 'cli', 'main.js')), 'dist/ is missing: run `npm run build`').toBe(true);
  work = tempDir('keyshare-oci-');
  ({ dataDir: originDir } = await newDataDir());
  originRoot = readFileSync(join(originDir, 'root.json'));
  origin = await openInstance({ dataDir: originDir });
  await origin.service.apply({
    scopes: [
      { scope: 'registry.acme.io', anchors: [{ publicKey: EC_KEY }] },
      { scope: 'registry.acme.io/team-a', anchors: [{ publicKey: ED_KEY, name: 'team-a' }] },
    ],
  } as never);
  await origin.publisher.flush();
  [A, B, C, site] = await Promise.all([
    startRegistry(join(work, 'registry-a')),
    startRegistry(join(work, 'registry-b')),
    startRegistry(join(work, 'registry-c'), { tls: true, user: USER }),
    startTestService(),
  ]);
}, 120_000);

afterAll(async () => {
  await Promise.all([A?.close(), B?.close(), C?.close()]);
  await site?.close();
  await origin?.close();
  cleanupTempDirs();
});

describe('bundle push, pull and import through a registry', () => {
  it('pushes an OCI 1.1 artifact that skopeo reads: artifactType, empty config, one bundle layer, version tag', async () => {
    const run = await keyshare(['bundle', 'push', `oci://${A.host}/keyshare/trust:latest`, '--data', originDir, '--insecure', '--json']);
    expect(run.code, run.stderr).toBe(0);
    first = JSON.parse(run.stdout) as PushResult;
    expect(first.tags).toEqual([String(first.versions.timestamp), 'latest']);

    const raw = skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${A.host}/keyshare/trust:latest`]);
    expect(raw.code, raw.out).toBe(0);
    expect(sha256Digest(Buffer.from(raw.out))).toBe(first.digest);
    const m = JSON.parse(raw.out);
    expect(m).toMatchObject({ schemaVersion: 2, mediaType: OCI_MANIFEST_MEDIA_TYPE, artifactType: BUNDLE_ARTIFACT_TYPE, config: { mediaType: 'application/vnd.oci.empty.v1+json', size: 2 } });
    expect(m.layers).toEqual([expect.objectContaining({ mediaType: BUNDLE_LAYER_MEDIA_TYPE, digest: first.layer.digest, size: first.layer.size })]);
    expect(m.annotations).toMatchObject({ 'io.keyshare.bundle.origin': first.origin, 'io.keyshare.bundle.timestamp-version': String(first.versions.timestamp), 'org.opencontainers.image.created': first.createdAt });
    const tags = JSON.parse(skopeo(['list-tags', '--tls-verify=false', `docker://${A.host}/keyshare/trust`]).out).Tags;
    expect(tags.sort()).toEqual([String(first.versions.timestamp), 'latest'].sort());
  });

  it('pulls the layer to a file whose digest is the layer digest', async () => {
    const out = join(work, 'pulled.tar.gz');
    const run = await keyshare(['bundle', 'pull', `oci://${A.host}/keyshare/trust:${first.versions.timestamp}`, '--out', out, '--insecure', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ digest: first.digest, origin: first.origin, timestampVersion: first.versions.timestamp });
    expect(sha256Digest(readFileSync(out))).toBe(first.layer.digest);
  });

  it('imports oci:// at the running site, and tuf-js at the site sees the trust', async () => {
    const run = await keyshare(['bundle', 'import', `oci://${A.host}/keyshare/trust:latest`, '--root', join(originDir, 'root.json'), '--data', site.dataDir, '--insecure', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ changed: true, origin: first.origin, scopes: { created: ['registry.acme.io', 'registry.acme.io/team-a'] } });
    const client = TufClient.pinnedTo(site.url, site.dataDir);
    const doc = await eventually(() => client.readJson<TrustDoc>('trust/registry.acme.io/team-a.json'), (d) => d !== null);
    expect(doc!.anchors.map((a) => a.id)).toContain(ED_KEY_ID);
  });
});

describe('mirroring as a site does it: skopeo copy from registry A to registry B', () => {
  it('copies the artifact byte for byte, and the site imports it from B', async () => {
    const copy = skopeo(['copy', '--src-tls-verify=false', '--dest-tls-verify=false', `docker://${A.host}/keyshare/trust:latest`, `docker://${B.host}/mirror/trust:latest`]);
    expect(copy.code, copy.out).toBe(0);
    const head = await new RegistryClient(parseOciReference(`oci://${B.host}/mirror/trust:latest`), PLAIN).headManifest('latest');
    expect(head?.digest).toBe(first.digest);
    const r = await importIntoSite(`oci://${B.host}/mirror/trust:latest`);
    expect(r.changed).toBe(false); // the same bundle as from A
    expect(r.pulled.digest).toBe(first.digest);
  });

  it('carries a revocation pushed at A to the site after the next copy', async () => {
    await origin.service.revoke({ kind: 'key', id: ED_KEY_ID, reason: 'keyCompromise' } as never);
    await origin.publisher.flush();
    const second = await pushBundle({ dataDir: originDir, ref: `oci://${A.host}/keyshare/trust:latest`, registry: PLAIN, tmpDir: work });
    expect(second.versions.timestamp).toBeGreaterThan(first.versions.timestamp);
    const copy = skopeo(['copy', '--src-tls-verify=false', '--dest-tls-verify=false', `docker://${A.host}/keyshare/trust:latest`, `docker://${B.host}/mirror/trust:latest`]);
    expect(copy.code, copy.out).toBe(0);
    const r = await importIntoSite(`oci://${B.host}/mirror/trust:latest`);
    expect(r.changed).toBe(true);
    expect(r.revocationsAdded).toBeGreaterThan(0);
    const client = TufClient.pinnedTo(site.url, site.dataDir);
    const doc = await eventually(
      () => client.readJson<TrustDoc>('trust/registry.acme.io/team-a.json'),
      (d) => d !== null && d.revoked.keys.some((k) => k.id === ED_KEY_ID),
    );
    expect(doc!.revoked.keys.map((k) => k.id)).toContain(ED_KEY_ID);
  });
});

describe('refusals: each has a clear code and leaves the site unchanged', () => {
  let before: string;
  beforeAll(async () => {
    before = await siteState();
  });

  it('an older version pushed to the tag: ROLLBACK', async () => {
    const client = new RegistryClient(parseOciReference(`oci://${B.host}/mirror/trust:latest`), PLAIN, true);
    const old = await new RegistryClient(parseOciReference(`oci://${A.host}/keyshare/trust:latest`), PLAIN).getManifest(first.digest);
    // skopeo copy of the old version tag, then the moving tag set back to it, as a rollback would.
    expect(skopeo(['copy', '--src-tls-verify=false', '--dest-tls-verify=false', `docker://${A.host}/keyshare/trust:${first.versions.timestamp}`, `docker://${B.host}/mirror/trust:old`]).code).toBe(0);
    await client.putManifest('latest', old.bytes);
    expect(await codeOf(importIntoSite(`oci://${B.host}/mirror/trust:latest`))).toBe('ROLLBACK');
    expect(await siteState()).toBe(before);
  });

  it('a tampered layer: OCI_DIGEST_MISMATCH', async () => {
    const pushed = await pushBundle({ dataDir: originDir, ref: `oci://${A.host}/tampered/trust:latest`, registry: PLAIN, tmpDir: work });
    const file = blobData(A, pushed.layer.digest);
    const bytes = readFileSync(file);
    bytes[bytes.length >> 1] ^= 0xff;
    writeFileSync(file, bytes);
    expect(await codeOf(importIntoSite(`oci://${A.host}/tampered/trust:latest`))).toBe('OCI_DIGEST_MISMATCH');
    const out = join(work, 'tampered.tar.gz');
    expect(await codeOf(pullBundle({ ref: `oci://${A.host}/tampered/trust:latest`, out, registry: PLAIN }))).toBe('OCI_DIGEST_MISMATCH');
    expect(readdirSync(work).filter((n) => n.includes('tampered.tar.gz'))).toEqual([]); // neither --out nor its partial file
    expect(await siteState()).toBe(before);
  });

  it('a tampered manifest: OCI_DIGEST_MISMATCH, and bundle pull writes no file', async () => {
    const pushed = await pushBundle({ dataDir: originDir, ref: `oci://${A.host}/tampered-manifest/trust:latest`, registry: PLAIN, tmpDir: work });
    const file = blobData(A, pushed.digest);
    // Still a valid manifest of the same bundle, but other bytes: the creation time moved by a year.
    const text = readFileSync(file, 'utf8');
    const year = pushed.createdAt.slice(0, 4);
    writeFileSync(file, text.replace(`"${pushed.createdAt}"`, `"${Number(year) + 1}${pushed.createdAt.slice(4)}"`));
    expect(readFileSync(file, 'utf8')).not.toBe(text);
    expect(await codeOf(importIntoSite(`oci://${A.host}/tampered-manifest/trust:latest`))).toBe('OCI_DIGEST_MISMATCH');
    expect(await codeOf(importIntoSite(`oci://${A.host}/tampered-manifest/trust@${pushed.digest}`))).toBe('OCI_DIGEST_MISMATCH');
    const out = join(work, 'tampered-manifest.tar.gz');
    expect(await codeOf(pullBundle({ ref: `oci://${A.host}/tampered-manifest/trust:latest`, out, registry: PLAIN }))).toBe('OCI_DIGEST_MISMATCH');
    expect(existsSync(out)).toBe(false);
    expect(await siteState()).toBe(before);
  });

  it('an expired bundle: EXPIRED_METADATA, after every digest checked', async () => {
    const past = () => new Date(Date.now() - 60 * 86_400_000);
    const { dataDir } = await newDataDir({ clock: past });
    await pushBundle({ dataDir, ref: `oci://${A.host}/expired/trust:latest`, registry: PLAIN, tmpDir: work, clock: past, validForSeconds: 30 * 86_400 });
    const refused = importFromRegistry({ ref: `oci://${A.host}/expired/trust:latest`, registry: PLAIN, root: readFileSync(join(dataDir, 'root.json')), dataDir: site.dataDir, tmpDir: work });
    expect(await codeOf(refused)).toBe('EXPIRED_METADATA');
    expect(await siteState()).toBe(before);
  });

  it('a missing blob: OCI_BLOB_UNKNOWN', async () => {
    const pushed = await pushBundle({ dataDir: originDir, ref: `oci://${A.host}/missing/trust:latest`, registry: PLAIN, tmpDir: work });
    unlinkSync(blobData(A, pushed.layer.digest));
    expect(await codeOf(importIntoSite(`oci://${A.host}/missing/trust:latest`))).toBe('OCI_BLOB_UNKNOWN');
    expect(await siteState()).toBe(before);
  });

  it('a manifest of another artifact type: OCI_NOT_A_BUNDLE, without downloading its layer', async () => {
    await pushRaw(`oci://${A.host}/other/sbom:latest`, Buffer.from('{"spdxVersion":"SPDX-2.3"}'), (layer) => ({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST_MEDIA_TYPE,
      artifactType: 'application/spdx+json',
      config: EMPTY_CONFIG,
      layers: [{ mediaType: 'application/spdx+json', ...layer }],
    }));
    expect(await codeOf(importIntoSite(`oci://${A.host}/other/sbom:latest`))).toBe('OCI_NOT_A_BUNDLE');
    expect(await siteState()).toBe(before);
  });

  it('a 50 MB junk layer: BUNDLE_TOO_LARGE before download under a lower limit, BUNDLE_INVALID after its digest checks', async () => {
    await pushRaw(`oci://${A.host}/junk/trust:latest`, randomBytes(50 * 1024 * 1024), (layer) => ({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST_MEDIA_TYPE,
      artifactType: BUNDLE_ARTIFACT_TYPE,
      config: EMPTY_CONFIG,
      layers: [{ mediaType: BUNDLE_LAYER_MEDIA_TYPE, ...layer }],
    }));
    // Pushed in chunks (OCI distribution spec "Pushing a blob in chunks"): PATCHes of CHUNK_BYTES, then PUT ?digest=.
    const upload = A.requests().filter((r) => r.startsWith('PATCH /v2/junk/trust/blobs/uploads/') || r.startsWith('PUT /v2/junk/trust/blobs/uploads/'));
    expect(upload.filter((r) => r.startsWith('PATCH'))).toHaveLength(Math.ceil((50 * 1024 * 1024) / CHUNK_BYTES));
    expect(upload).toContainEqual(expect.stringMatching(/^PUT \/v2\/junk\/trust\/blobs\/uploads\/\S*[?&]digest=sha256%3A[0-9a-f]{64}/));
    expect(await codeOf(importIntoSite(`oci://${A.host}/junk/trust:latest`, PLAIN, { maxArchiveBytes: 16 * 1024 * 1024 }))).toBe('BUNDLE_TOO_LARGE');
    expect(await codeOf(importIntoSite(`oci://${A.host}/junk/trust:latest`))).toBe('BUNDLE_INVALID');
    expect(await siteState()).toBe(before);
    expect(readdirSync(work).filter((n) => n.startsWith('keyshare-pull-'))).toEqual([]);
  });

  it('a missing tag, a registry that is not there, a bad reference: OCI_MANIFEST_UNKNOWN, REGISTRY_UNAVAILABLE, OCI_REFERENCE_INVALID', async () => {
    expect(await codeOf(importIntoSite(`oci://${A.host}/keyshare/trust:no-such-tag`))).toBe('OCI_MANIFEST_UNKNOWN');
    expect(await codeOf(importIntoSite(`oci://${A.host}/no/such-repo:latest`))).toBe('OCI_MANIFEST_UNKNOWN');
    expect(await codeOf(importIntoSite('oci://127.0.0.1:1/keyshare/trust:latest'))).toBe('REGISTRY_UNAVAILABLE');
    expect(await codeOf(importIntoSite('oci://Registry.Acme.io/UPPER:latest'))).toBe('OCI_REFERENCE_INVALID');
    expect(await codeOf(importIntoSite(`oci://registry.acme.io/keyshare/trust:latest`, { insecure: true }))).toBe('BAD_REQUEST');
    const run = await keyshare(['bundle', 'pull', `oci://${A.host}/keyshare/trust:no-such-tag`, '--out', join(work, 'x.tar.gz'), '--insecure']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^keyshare: OCI_MANIFEST_UNKNOWN: \S.*\n$/);
    expect(await siteState()).toBe(before);
  });
});

describe('a registry behind TLS with a self-signed CA and htpasswd basic auth', () => {
  const ref = () => `oci://${C.host}/keyshare/trust:latest`;

  it('refuses an unverified certificate (REGISTRY_TLS) and missing or wrong credentials (REGISTRY_AUTH_FAILED)', async () => {
    const ca = readFileSync(C.caFile!);
    expect(await codeOf(pushBundle({ dataDir: originDir, ref: ref(), registry: { credentials: { username: USER.name, password: USER.password } }, tmpDir: work }))).toBe('REGISTRY_TLS');
    expect(await codeOf(pushBundle({ dataDir: originDir, ref: ref(), registry: { ca, credentials: null }, tmpDir: work }))).toBe('REGISTRY_AUTH_FAILED');
    expect(await codeOf(pushBundle({ dataDir: originDir, ref: ref(), registry: { ca, credentials: { username: USER.name, password: 'wrong' } }, tmpDir: work }))).toBe('REGISTRY_AUTH_FAILED');
  });

  it('pushes with --username/--password-stdin and --ca, and pulls with a containers-auth.json', async () => {
    const push = await keyshare(['bundle', 'push', ref(), '--data', originDir, '--ca', C.caFile!, '--username', USER.name, '--password-stdin', '--json'], { input: `${USER.password}\n` });
    expect(push.code, push.stderr).toBe(0);
    const pushed = JSON.parse(push.stdout) as PushResult;
    const authFile = join(work, 'auth.json');
    writeFileSync(authFile, JSON.stringify({ auths: { [C.host]: { auth: Buffer.from(`${USER.name}:${USER.password}`).toString('base64') } } }), { mode: 0o600 });
    const out = join(work, 'from-tls.tar.gz');
    const pull = await keyshare(['bundle', 'pull', ref(), '--out', out, '--ca', C.caFile!, '--json'], { env: { REGISTRY_AUTH_FILE: authFile } });
    expect(pull.code, pull.stderr).toBe(0);
    expect(JSON.parse(pull.stdout).digest).toBe(pushed.digest);
    expect(sha256Digest(readFileSync(out))).toBe(pushed.layer.digest);
    // skopeo reads the same artifact with the same credentials and CA.
    const certDir = join(work, 'certs');
    execFileSync('mkdir', ['-p', certDir]);
    writeFileSync(join(certDir, 'ca.crt'), readFileSync(C.caFile!));
    const raw = skopeo(['inspect', '--raw', '--cert-dir', certDir, '--authfile', authFile, `docker://${C.host}/keyshare/trust:latest`]);
    expect(raw.code, raw.out).toBe(0);
    expect(sha256Digest(Buffer.from(raw.out))).toBe(pushed.digest);
    rmSync(out);
  });
});

describe('incremental bundles ride the same path', () => {
  it('records the version it continues; the site imports it, a site without its base refuses it with BUNDLE_GAP', async () => {
    const held = (await site.instance.store.getUpstream(first.origin))!;
    const base = JSON.parse(JSON.stringify(held.state ?? {})).timestampVersion as number;
    await origin.service.apply({ scopes: [{ scope: 'registry.acme.io/team-b', anchors: [{ publicKey: EC_KEY }] }] } as never);
    await origin.publisher.flush();
    const delta = await pushBundle({ dataDir: originDir, ref: `oci://${A.host}/keyshare/delta:latest`, registry: PLAIN, tmpDir: work, since: { timestamp: base } });
    expect(delta.since).toBe(base);
    // The version tag of an incremental bundle says so: the tag `N` is only ever a full bundle.
    expect(delta.tags).toEqual([`${delta.versions.timestamp}-since-${base}`, 'latest']);
    const pulled = await pullBundle({ ref: `oci://${A.host}/keyshare/delta:latest`, out: join(work, 'delta.tar.gz'), registry: PLAIN });
    expect(pulled.since).toBe(base);

    const fresh = await newDataDir();
    expect(await codeOf(importFromRegistry({ ref: `oci://${A.host}/keyshare/delta:latest`, registry: PLAIN, root: originRoot, dataDir: fresh.dataDir, tmpDir: work }))).toBe('BUNDLE_GAP');
    const r = await importIntoSite(`oci://${A.host}/keyshare/delta:latest`);
    expect(r.changed).toBe(true);
    expect(r.scopes.created).toEqual(['registry.acme.io/team-b']);
  });

  it('refuses a gap from the manifest, before downloading the layer, naming the version it needs and the full bundle tag to use', async () => {
    // In the repository of the full bundles (tags `N`), a delta on its own tag, continuing the newest of them.
    const tags = await new RegistryClient(parseOciReference(`oci://${A.host}/keyshare/trust:latest`), PLAIN).listTags();
    const base = Math.max(...tags.filter((t) => /^\d+$/.test(t)).map(Number));
    const delta = await pushBundle({ dataDir: originDir, ref: `oci://${A.host}/keyshare/trust:delta`, registry: PLAIN, tmpDir: work, since: { timestamp: base } });
    expect((await importIntoSite(`oci://${A.host}/keyshare/trust:delta`)).changed).toBe(true);
    // Its layer gone from the registry: a pull that got as far as the download would say OCI_BLOB_UNKNOWN.
    unlinkSync(blobData(A, delta.layer.digest));
    const fresh = await newDataDir();
    const importFresh = (ref: string) => importFromRegistry({ ref, registry: PLAIN, root: originRoot, dataDir: fresh.dataDir, tmpDir: work });
    const gap = await importFresh(`oci://${A.host}/keyshare/trust:delta`).catch((e: KeyshareError) => e);
    expect(gap).toBeInstanceOf(KeyshareError);
    const fullBase = `oci://${A.host}/keyshare/trust:${base}`;
    expect((gap as KeyshareError).code).toBe('BUNDLE_GAP');
    expect((gap as KeyshareError).message).toContain(`it needs version ${base} or later first; import the full bundle ${fullBase} (version ${base}) first, then this one`);
    expect((gap as KeyshareError).details).toEqual({ origin: first.origin, needs: base, held: null, fullBundle: fullBase });
    // Doing as told: the full bundle, then the delta passes the gap check (and reaches the missing layer).
    expect((await importFresh(fullBase)).changed).toBe(true);
    expect(await codeOf(importFresh(`oci://${A.host}/keyshare/trust:delta`))).toBe('OCI_BLOB_UNKNOWN');

    // A newer full bundle in the repository: that one, instead. On the command line too.
    const full = await pushBundle({ dataDir: originDir, ref: `oci://${A.host}/keyshare/trust:full`, registry: PLAIN, tmpDir: work });
    const other = await newDataDir();
    const run = await keyshare(['bundle', 'import', `oci://${A.host}/keyshare/trust:delta`, '--root', join(originDir, 'root.json'), '--data', other.dataDir, '--insecure']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`keyshare: BUNDLE_GAP: `);
    expect(run.stderr).toContain(`import the full bundle oci://${A.host}/keyshare/trust:${full.versions.timestamp} (version ${full.versions.timestamp}) instead`);
  });
});

describe('an air-gapped keyshare following a tag of its registry mirror (upstream add --url oci://)', () => {
  let follower: TestService;
  const mirrorTag = () => `oci://${B.host}/mirror/follow:latest`;
  const copyAtoB = () => skopeo(['copy', '--src-tls-verify=false', '--dest-tls-verify=false', `docker://${A.host}/keyshare/trust:latest`, `docker://${B.host}/mirror/follow:latest`]);

  beforeAll(async () => {
    // No registry options at the service: each upstream brings its own (--insecure, --ca).
    follower = await startTestService({ server: { upstreams: { pollMs: 500 } } });
  });
  afterAll(async () => {
    await follower?.close();
  });

  it('imports the tag at once, then each bundle the mirror job copies, with no other step', async () => {
    expect(copyAtoB().code).toBe(0);
    const add = await follower.api('POST', '/upstreams', { name: 'hq-mirror', url: mirrorTag(), root: originRoot.toString('utf8'), insecure: true });
    expect(add.status, JSON.stringify(add.body)).toBe(201);
    expect(add.body.sync).toMatchObject({ ok: true, changed: true });
    const client = TufClient.pinnedTo(follower.url, follower.dataDir);
    expect((await eventually(() => client.readJson<TrustDoc>('trust/registry.acme.io/team-a.json'), (d) => d !== null))!.scope).toBe('registry.acme.io/team-a');

    // Nothing new on the tag: each poll is a HEAD of the manifest, and nothing is downloaded again.
    const seen = B.requests().length;
    const followed = () => B.requests().slice(seen).filter((r) => r.includes('/v2/mirror/follow/'));
    const polls = await eventually(async () => followed(), (r) => r.length >= 2, 10_000);
    expect(polls.length).toBeGreaterThanOrEqual(2);
    expect(new Set(polls)).toEqual(new Set(['HEAD /v2/mirror/follow/manifests/latest']));

    // At the origin: a revocation, pushed to A; the site's mirror job copies A to B; nothing else.
    const EC_KEY_ID = expectedSpkiId(EC_KEY);
    await origin.service.revoke({ kind: 'key', id: EC_KEY_ID, reason: 'keyCompromise' } as never);
    await origin.publisher.flush();
    await pushBundle({ dataDir: originDir, ref: `oci://${A.host}/keyshare/trust:latest`, registry: PLAIN, tmpDir: work });
    expect(copyAtoB().code).toBe(0);
    const doc = await eventually(
      () => client.readJson<TrustDoc>('trust/registry.acme.io.json'),
      (d) => d !== null && d.revoked.keys.some((k) => k.id === EC_KEY_ID),
      30_000,
    );
    expect(doc!.revoked.keys.map((k) => k.id)).toContain(EC_KEY_ID);
    const row = (await follower.api('GET', '/upstreams/hq-mirror')).body.upstream;
    expect(row).toMatchObject({ url: mirrorTag(), lastError: null });
  });

  it('reports a refused bundle on the tag (an older one: ROLLBACK) in lastError, changing nothing', async () => {
    const old = await new RegistryClient(parseOciReference(`oci://${A.host}/keyshare/trust:latest`), PLAIN).getManifest(first.digest);
    expect(skopeo(['copy', '--src-tls-verify=false', '--dest-tls-verify=false', `docker://${A.host}/keyshare/trust:${first.versions.timestamp}`, `docker://${B.host}/mirror/follow:old`]).code).toBe(0);
    const before = await importerState(follower.instance.store, first.origin);
    await new RegistryClient(parseOciReference(mirrorTag()), PLAIN, true).putManifest('latest', old.bytes);
    const row = await eventually(
      async () => (await follower.api('GET', '/upstreams/hq-mirror')).body.upstream,
      (r) => typeof r.lastError === 'string' && r.lastError.startsWith('ROLLBACK'),
      30_000,
    );
    expect(row.lastError).toMatch(/^ROLLBACK: /);
    expect(await importerState(follower.instance.store, first.origin)).toBe(before);
  });

  it('refuses --insecure off loopback, a --ca that is no certificate, and either on an https upstream (UPSTREAM_INVALID), adding nothing', async () => {
    const root = originRoot.toString('utf8');
    const refused = async (body: Record<string, unknown>) => {
      const r = await follower.api('POST', '/upstreams', { name: 'refused', root, ...body });
      return `${r.status} ${r.body.code}: ${r.body.message}`;
    };
    expect(await refused({ url: 'oci://registry.acme.io/keyshare/trust:latest', insecure: true })).toMatch(/^400 UPSTREAM_INVALID: --insecure \(plain HTTP\) is for a registry on loopback only/);
    expect(await refused({ url: mirrorTag(), ca: 'not a certificate' })).toMatch(/^400 UPSTREAM_INVALID: --ca is not a CA certificate file: it holds no PEM certificate/);
    expect(await refused({ url: mirrorTag(), ca: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' })).toMatch(/^400 UPSTREAM_INVALID: --ca is not a CA certificate file: certificate 1 does not parse/);
    expect(await refused({ url: 'http://127.0.0.1:1', insecure: true })).toMatch(/^400 UPSTREAM_INVALID: --ca and --insecure are for an oci:\/\/ upstream/);
    expect((await follower.api('GET', '/upstreams/refused')).status).toBe(404);
  });

  it('follows a TLS registry with basic auth: upstream add --ca on the command line, the password from a docker credential helper', async () => {
    // A fake docker-credential-fake on the service's PATH, named by credHelpers in its DOCKER_CONFIG.
    const helperDir = join(work, 'helper');
    execFileSync('mkdir', ['-p', join(helperDir, 'bin')]);
    const asked = join(helperDir, 'asked');
    const helper = join(helperDir, 'bin', 'docker-credential-fake');
    writeFileSync(
      helper,
      [
        '#!/bin/sh',
        `read host; echo "$1 $host" >> ${asked}`,
        `if [ "$host" = "${C.host}" ]; then echo '{"ServerURL":"${C.host}","Username":"${USER.name}","Secret":"${USER.password}"}'; else echo "credentials not found in native keychain"; exit 1; fi`,
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    writeFileSync(join(helperDir, 'config.json'), JSON.stringify({ credHelpers: { [C.host]: 'fake' } }));
    const helperEnv = { PATH: `${join(helperDir, 'bin')}:${process.env.PATH}`, DOCKER_CONFIG: helperDir };
    const saved = { PATH: process.env.PATH, DOCKER_CONFIG: process.env.DOCKER_CONFIG };
    Object.assign(process.env, helperEnv); // the follower runs in this process
    try {
      // A fresh bundle at C (the follower holds newer ones than C's first), pushed with the helper's credentials.
      const push = await keyshare(['bundle', 'push', `oci://${C.host}/keyshare/trust:latest`, '--data', originDir, '--ca', C.caFile!, '--json'], { env: helperEnv });
      expect(push.code, push.stderr).toBe(0);
      const pushed = JSON.parse(push.stdout) as PushResult;
      const add = await keyshare(['upstream', 'add', 'hq-tls', '--url', `oci://${C.host}/keyshare/trust:latest`, '--root', join(originDir, 'root.json'), '--ca', C.caFile!, '--server', follower.url, '--token', follower.token, '--json']);
      expect(add.code, add.stderr).toBe(0);
      expect(JSON.parse(add.stdout).sync).toMatchObject({ ok: true, changed: true, timestampVersion: pushed.versions.timestamp });
      expect(readFileSync(asked, 'utf8')).toContain(`get ${C.host}\n`);
      // The row keeps its CA: the polls verify C's certificate with it (a sync now changes nothing, and fails nothing).
      const sync = await keyshare(['sync', 'hq-tls', '--server', follower.url, '--token', follower.token, '--json']);
      expect(sync.code, sync.stderr).toBe(0);
      expect(JSON.parse(sync.stdout).results[0]).toMatchObject({ ok: true, changed: false });
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
    // Without the helper, the registry refuses the same poll: the credentials were the helper's.
    const again = await follower.api('POST', '/upstreams/hq-tls/sync');
    expect(again.body.results[0]).toMatchObject({ ok: false, error: { code: 'REGISTRY_AUTH_FAILED' } });
  });

  it('refuses an incremental bundle without its base from its manifest (BUNDLE_GAP naming the full bundle), and applies it once that is imported', async () => {
    const copy = (from: string, to: string) => skopeo(['copy', '--src-tls-verify=false', '--dest-tls-verify=false', `docker://${A.host}/keyshare/trust:${from}`, `docker://${B.host}/mirror/follow:${to}`]);
    const full = await pushBundle({ dataDir: originDir, ref: `oci://${A.host}/keyshare/trust:gapfull`, registry: PLAIN, tmpDir: work });
    await origin.service.apply({ scopes: [{ scope: 'registry.acme.io/team-c', anchors: [{ publicKey: EC_KEY }] }] } as never);
    await origin.publisher.flush();
    const delta = await pushBundle({ dataDir: originDir, ref: `oci://${A.host}/keyshare/trust:gapdelta`, registry: PLAIN, tmpDir: work, since: { timestamp: full.versions.timestamp } });
    const before = await importerState(follower.instance.store, first.origin);
    // The mirror job carries the version tag of the full bundle, and the delta on the followed tag.
    expect(copy(String(full.versions.timestamp), String(full.versions.timestamp)).code).toBe(0);
    expect(copy('gapdelta', 'latest').code).toBe(0);
    const fullRef = `oci://${B.host}/mirror/follow:${full.versions.timestamp}`;
    const refused = await eventually(
      async () => (await follower.api('GET', '/upstreams/hq-mirror')).body.upstream,
      (r) => typeof r.lastError === 'string' && r.lastError.startsWith('BUNDLE_GAP'),
      30_000,
    );
    expect(refused.lastError).toContain(`it needs version ${full.versions.timestamp} or later first; import the full bundle ${fullRef} (version ${full.versions.timestamp}) first, then this one`);
    expect(await importerState(follower.instance.store, first.origin)).toBe(before);
    // As told: the full bundle; the next poll applies the delta, with no other step.
    await importFromRegistry({ ref: fullRef, registry: PLAIN, root: originRoot, store: follower.instance.store, publisher: follower.instance.publisher, tmpDir: work });
    const row = await eventually(
      async () => (await follower.api('GET', '/upstreams/hq-mirror')).body.upstream,
      (r) => r.lastError === null && r.version === delta.versions.timestamp,
      30_000,
    );
    expect(row.version).toBe(delta.versions.timestamp);
    const client = TufClient.pinnedTo(follower.url, follower.dataDir);
    expect((await eventually(() => client.readJson<TrustDoc>('trust/registry.acme.io/team-c.json'), (d) => d !== null))!.scope).toBe('registry.acme.io/team-c');
  });
});

describe('a registry with token auth (the docker registry token flow)', () => {
  let D: RunningRegistry;
  let tokens: Awaited<ReturnType<typeof startTokenService>>;
  beforeAll(async () => {
    tokens = await startTokenService(join(work, 'token-service'), USER);
    D = await startRegistry(join(work, 'registry-d'), { token: tokens });
  });
  afterAll(async () => {
    await D?.close();
    await tokens?.close();
  });

  it('gets a push token with the credentials, a pull token for the import, and refuses without them', async () => {
    const ref = `oci://${D.host}/keyshare/trust:latest`;
    const creds = { username: USER.name, password: USER.password };
    expect(await codeOf(pushBundle({ dataDir: originDir, ref, registry: { insecure: true, credentials: null }, tmpDir: work }))).toBe('REGISTRY_AUTH_FAILED');
    const pushed = await pushBundle({ dataDir: originDir, ref, registry: { insecure: true, credentials: creds }, tmpDir: work });
    expect(tokens.requests).toContain('repository:keyshare/trust:pull,push');
    const pulled = await pullBundle({ ref, out: join(work, 'from-token.tar.gz'), registry: { insecure: true, credentials: creds } });
    expect(pulled.digest).toBe(pushed.digest);
    expect(tokens.requests).toContain('repository:keyshare/trust:pull');
    // skopeo goes through the same token service (which runs in this process: not execFileSync).
    const raw = await new Promise<{ code: number; out: string }>((done) =>
      execFile(requireTool('skopeo'), ['inspect', '--raw', '--tls-verify=false', '--creds', `${USER.name}:${USER.password}`, `docker://${D.host}/keyshare/trust:latest`], { timeout: 60_000 }, (e, stdout, stderr) =>
        done({ code: e ? -1 : 0, out: e ? String(stderr) : String(stdout) }),
      ),
    );
    expect(raw.code, raw.out).toBe(0);
    expect(sha256Digest(Buffer.from(raw.out))).toBe(pushed.digest);
  });
});
