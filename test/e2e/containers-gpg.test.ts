/**
 * End to end with real peers (Notary v2 scenario, GPG simple signing): Debian's docker-registry
 * on loopback, images pushed and signed by Debian's skopeo with `--sign-by` (signatures in a
 * lookaside directory), keyshare publishing the signer's OpenPGP key for the namespace, the
 * real `keyshare fetch --format containers`, and `skopeo copy --policy` enforcing the result.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { create as createTar } from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixturePath, readFixtureText } from '../../fixtures/index.js';
import { cleanupTempDirs, scopePath, startTestService, tempDir, type TestService } from '../support/service.js';
import { runCli } from '../sync/client/support.js';

/** command → Debian package */
const TOOLS: Record<string, string> = { skopeo: 'skopeo', 'docker-registry': 'docker-registry', gpg: 'gnupg', gpgconf: 'gnupg' };

/** STYLE.md: a test that needs a system tool fails when it is missing (never passes silently). */
function requireTools(): void {
  const missing = Object.keys(TOOLS).filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map((t) => TOOLS[t]))].join(' ');
  throw new Error(
    `missing ${missing.join(', ')}: install with \`sudo apt-get install -y ${packages}\`` +
      (process.env.CI ? ' (CI is set: .ci/run installs them)' : ''),
  );
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function run(cmd: string, args: string[], env: Record<string, string> = {}): { code: number | null; out: string } {
  const r = spawnSync(cmd, args, { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** A one-layer OCI image layout, written by hand (OCI image-layout spec), tagged `v1`. */
async function ociLayout(dir: string, text: string): Promise<string> {
  const layout = join(dir, 'oci');
  const blobs = join(layout, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const blob = (bytes: Buffer) => {
    const digest = sha256(bytes);
    writeFileSync(join(blobs, digest), bytes);
    return { digest: `sha256:${digest}`, size: bytes.length };
  };
  const src = join(dir, 'rootfs');
  mkdirSync(src);
  writeFileSync(join(src, 'hello.txt'), text);
  const layerFile = join(dir, 'layer.tar');
  await createTar({ file: layerFile, cwd: src, portable: true }, ['hello.txt']);
  const layer = blob(readFileSync(layerFile));
  const config = blob(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [layer.digest] }, config: {} })));
  const manifest = blob(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer }],
      }),
    ),
  );
  writeFileSync(
    join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': 'v1' } }],
    }),
  );
  writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  return layout;
}

async function fingerprint(fixture: string): Promise<string> {
  return (await openpgp.readKey({ armoredKey: readFixtureText(fixture) })).getFingerprint();
}

let registry: ChildProcess | undefined;
let registryHost: string;
let svc: TestService;
let work: string;
let gnupgHome: string;
let lookasideD: string;
/** Where simple signatures are written and read (containers-registries.d(5) lookaside). */
let sigstore: string;
let openPolicy: string;
let releaseFpr: string;
let namespace: string;

/** skopeo with our registries.d (lookaside signatures) and the signing keyring. */
function skopeo(args: string[], policy: string, registriesD = lookasideD) {
  return run('skopeo', ['--policy', policy, '--registries.d', registriesD, ...args], { GNUPGHOME: gnupgHome });
}

async function startRegistry(): Promise<void> {
  const port = await freePort();
  registryHost = `127.0.0.1:${port}`;
  const config = join(work, 'registry.yml');
  writeFileSync(
    config,
    ['version: 0.1', 'log:', '  level: error', 'storage:', '  filesystem:', `    rootdirectory: ${join(work, 'registry-data')}`, 'http:', `  addr: ${registryHost}`, ''].join('\n'),
  );
  const log = openSync(join(work, 'registry.log'), 'a');
  registry = spawn('docker-registry', ['serve', config], { stdio: ['ignore', log, log] });
  for (let i = 0; i < 100; i++) {
    if (registry.exitCode !== null) break;
    try {
      if ((await fetch(`http://${registryHost}/v2/`, { signal: AbortSignal.timeout(1000) })).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`docker-registry did not start on ${registryHost}: ${readFileSync(join(work, 'registry.log'), 'utf8')}`);
}

/** Pushes a fresh image to ns/{name}:v1, signed by `signBy` (a fingerprint) or unsigned. */
async function push(name: string, signBy: string | null): Promise<void> {
  const layout = await ociLayout(tempDir('keyshare-oci-'), `image ${name}\n`);
  const sign = signBy ? ['--sign-by', signBy] : [];
  const r = skopeo(['copy', '--dest-tls-verify=false', ...sign, `oci:${layout}:v1`, `docker://${namespace}/${name}:v1`], openPolicy);
  expect(r.code, r.out).toBe(0);
}

/** `keyshare fetch --format containers --lookaside` (the real CLI) into `out`. */
async function fetchPolicy(out: string, cache: string): Promise<void> {
  const r = await runCli(['fetch', '--server', svc.url, '--root', join(svc.dataDir, 'root.json'), '--out', out, '--format', 'containers', '--cache', cache, '--lookaside', sigstore]);
  expect(r.code, r.stderr).toBe(0);
}

/** The verifier uses fetch's registries.d as it is: --lookaside wrote the lookaside entry (issue 15). */
function pull(out: string, name: string) {
  return skopeo(['copy', '--src-tls-verify=false', `docker://${namespace}/${name}:v1`, `dir:${tempDir('keyshare-pull-')}`], join(out, 'policy.json'), join(out, 'registries.d'));
}

beforeAll(async () => {
  requireTools();
  work = tempDir('keyshare-e2e-gpg-');
  gnupgHome = tempDir('keyshare-gnupg-'); // mkdtemp: mode 0700, as gpg wants
  for (const key of ['pgp/release.key.asc', 'pgp/second.key.asc']) {
    const r = run('gpg', ['--batch', '--import', fixturePath(key)], { GNUPGHOME: gnupgHome });
    expect(r.code, r.out).toBe(0);
  }
  releaseFpr = await fingerprint('pgp/release.pub.asc');
  await startRegistry();
  namespace = `${registryHost}/ns`;
  lookasideD = join(work, 'registries.d');
  mkdirSync(lookasideD);
  sigstore = `file://${join(work, 'signatures')}`;
  // containers-registries.d(5): where simple signatures are written and read.
  writeFileSync(join(lookasideD, 'lookaside.yaml'), `docker:\n  ${registryHost}:\n    lookaside: ${sigstore}\n    lookaside-staging: ${sigstore}\n`);
  openPolicy = join(work, 'open-policy.json');
  writeFileSync(openPolicy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));

  await push('signed', releaseFpr);
  await push('unsigned', null);
  await push('other-signer', await fingerprint('pgp/second.pub.asc'));

  svc = await startTestService();
  for (const [path, body] of [
    ['/scopes', { scope: namespace }],
    [`${scopePath(namespace)}/anchors`, { publicKey: readFixtureText('pgp/release.pub.asc'), name: 'release' }],
  ] as const) {
    const r = await svc.api('POST', path, body);
    expect(r.status, JSON.stringify(r.body)).toBe(201);
  }
}, 180_000);

afterAll(async () => {
  if (registry && registry.exitCode === null) {
    const exited = new Promise((r) => registry!.once('exit', r));
    registry.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (registry.exitCode === null) registry.kill('SIGKILL');
  }
  // Only the agent of our own GNUPGHOME.
  if (gnupgHome) run('gpgconf', ['--kill', 'all'], { GNUPGHOME: gnupgHome });
  await svc?.close();
  cleanupTempDirs();
});

describe('when keyshare publishes the signer key for the namespace', () => {
  let out: string;
  let cache: string;

  beforeAll(async () => {
    out = join(tempDir('keyshare-out-'), 'containers');
    cache = tempDir('keyshare-cache-');
    await fetchPolicy(out, cache);
  }, 120_000);

  it('writes a policy that requires the namespace key, rejecting everything else by default', () => {
    const policy = JSON.parse(readFileSync(join(out, 'policy.json'), 'utf8'));
    expect(policy.default).toEqual([{ type: 'reject' }]);
    expect(policy.transports.docker[namespace]).toEqual([
      { type: 'signedBy', keyType: 'GPGKeys', keyPath: expect.stringMatching(/\/keys\/.+\.gpg$/), signedIdentity: { type: 'matchRepository' } },
    ]);
  });

  it('lets skopeo copy --policy accept the image signed by that key', () => {
    const r = pull(out, 'signed');
    expect(r.code, r.out).toBe(0);
  });

  it('rejects an unsigned image in the same namespace', () => {
    const r = pull(out, 'unsigned');
    expect(r.code, r.out).not.toBe(0);
    expect(r.out).toMatch(/Source image rejected: A signature was required, but no signature exists/);
  });

  it('rejects an image signed by a key keyshare does not trust', () => {
    const r = pull(out, 'other-signer');
    expect(r.code, r.out).not.toBe(0);
    expect(r.out).toMatch(/Source image rejected/);
  });

  describe('and the key is then revoked', () => {
    beforeAll(async () => {
      const r = await runCli(['revoke', 'key', `pgp:${releaseFpr}`, '--server', svc.url, '--data', svc.dataDir, '--reason', 'keyCompromise']);
      expect(r.code, r.stderr).toBe(0);
      await fetchPolicy(out, cache);
    }, 120_000);

    it('rejects the signed image after a new fetch', () => {
      const policy = JSON.parse(readFileSync(join(out, 'policy.json'), 'utf8'));
      expect(policy.transports.docker[namespace]).toEqual([{ type: 'reject' }]);
      const r = pull(out, 'signed');
      expect(r.code, r.out).not.toBe(0);
      expect(r.out).toMatch(/Source image rejected/);
    });
  });
});
