/**
 * The real CLI (`node bin/keyshare.js`, the compiled dist/ that `npm test` builds first) against a
 * running service: exit 0 on success; 1 with one line `keyshare: CODE: message` on failure; 2 on
 * a usage error (CONTRACT.md "CLI").
 */
import { prepareDataDir } from '../support/database.js';
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { stringify as toYaml } from 'yaml';
import { fixturePath, readFixtureText } from '../../fixtures/index.js';
import { packageRoot } from '../../service/util/paths.js';
import { expectedCertId, expectedSpkiId } from '../service/crypto/helpers.js';
import { TufClient, cleanupTempDirs, scopePath, startTestService, tempDir, type TestService } from '../support/service.js';

// Each run of the CLI is a new node process: allow for a slow, busy machine.
vi.setConfig({ testTimeout: 180_000 });

const ROOT = packageRoot();
const BIN = join(ROOT, 'bin', 'keyshare.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in an empty directory, with no KEYSHARE_* variables but those given. */
function keyshare(args: string[], env: Record<string, string> = {}, cwd = scratch): Promise<Run> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KEYSHARE_')));
  return new Promise((done) => {
    execFile(process.execPath, [BIN, ...args], { cwd, env: { ...clean, ...env }, timeout: 90_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      done({ code, stdout: stdout.toString(), stderr: stderr.toString() });
    });
  });
}

/** Exit 1 and exactly one line on stderr: `keyshare: CODE: message`. */
function expectFailure(run: Run, code: string): void {
  expect(run.stderr, `stdout: ${run.stdout}`).toMatch(new RegExp(`^keyshare: ${code}: \\S.*\\n$`));
  expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(run.code).toBe(1);
}

let svc: TestService;
let scratch: string;
let admin: string[];

beforeAll(async () => {
  // bin/keyshare.js runs dist/: `npm test` builds it first (pretest); run `npm run build` before `vitest` alone.
  expect(existsSync(join(ROOT, 'dist', 'cli', 'main.js')), 'dist/ is missing: run `npm run build`').toBe(true);
  scratch = tempDir('keyshare-cli-');
  svc = await startTestService();
  admin = ['--server', svc.url, '--token', svc.token];
  expect((await svc.api('POST', '/scopes', { scope: 'registry.acme.io' })).status).toBe(201);
});
afterAll(async () => {
  await svc?.close();
  cleanupTempDirs();
});

describe('when the service refuses a command', () => {
  it('exits 1 with SCOPE_INVALID for an invalid scope', async () => {
    // The other invalid forms are covered through the API (test/service/http/refusals.test.ts).
    expectFailure(await keyshare(['scope', 'add', 'registry.acme.io/../Team', ...admin]), 'SCOPE_INVALID');
  });

  it('exits 1 with NOT_A_CA for a non-CA certificate as ca', async () => {
    expectFailure(await keyshare(['anchor', 'add', 'registry.acme.io', '--cert', fixturePath('certs/non-ca.pem'), ...admin]), 'NOT_A_CA');
  });

  it('exits 1 with BAD_CERTIFICATE for garbage DER', async () => {
    expectFailure(await keyshare(['anchor', 'add', 'registry.acme.io', '--cert', fixturePath('certs/garbage.der'), ...admin]), 'BAD_CERTIFICATE');
  });

  it('exits 1 with UNSUPPORTED_KEY for an unknown key type', async () => {
    expectFailure(await keyshare(['anchor', 'add', 'registry.acme.io', '--key', fixturePath('keys/ec-secp256k1.pub.pem'), ...admin]), 'UNSUPPORTED_KEY');
  });

  it('exits 1 with SCOPE_NOT_FOUND for an unknown scope', async () => {
    expectFailure(await keyshare(['anchor', 'add', 'unknown.acme.io', '--key', fixturePath('keys/ed25519.pub.pem'), ...admin]), 'SCOPE_NOT_FOUND');
  });

  it('exits 1 with UNAUTHORIZED for a wrong token', async () => {
    const wrong = svc.token.replace(/_[^_]+$/, `_${'A'.repeat(43)}`);
    expectFailure(await keyshare(['scope', 'ls', '--server', svc.url, '--token', wrong]), 'UNAUTHORIZED');
  });

  it('exits 1 with a code when the server cannot be reached', async () => {
    const run = await keyshare(['scope', 'ls', '--server', 'http://127.0.0.1:9', '--token', svc.token]);
    expectFailure(run, 'SERVER_UNREACHABLE');
  });

  it('exits 1 with a code when a file cannot be read', async () => {
    expectFailure(await keyshare(['anchor', 'add', 'registry.acme.io', '--cert', join(scratch, 'missing.pem'), ...admin]), 'FILE_NOT_READABLE');
  });
});

describe('when a command is used wrongly', () => {
  it.each([
    ['an unknown command', ['frobnicate']],
    ['a missing argument', ['scope', 'add']],
    ['neither --cert nor --key', ['anchor', 'add', 'x.acme.io']],
  ])('exits 2 on %s', async (_what, args) => {
    const run = await keyshare([...args, '--server', 'http://127.0.0.1:9', '--token', 'x']);
    expect(run.stderr).not.toBe('');
    expect(run.code).toBe(2);
  });
});

describe('when an admin manages scopes and anchors with the CLI', () => {
  it('adds a scope with --no-inherit and --level, an anchor from a DER file and a binary OpenPGP key, and lists them as JSON', async () => {
    expect((await svc.api('POST', '/scopes', { scope: 'cli.acme.io' })).status).toBe(201);
    const add = await keyshare(['scope', 'add', 'cli.acme.io/team', '--no-inherit', '--level', 'audit', ...admin, '--json']);
    expect(add.code, add.stderr).toBe(0);
    expect(JSON.parse(add.stdout).scope).toMatchObject({ scope: 'cli.acme.io/team', inherit: false, level: 'audit' });

    const der = await keyshare(['anchor', 'add', 'cli.acme.io', '--cert', fixturePath('certs/root-ca.der'), '--name', 'acme-root', ...admin, '--json']);
    expect(der.code, der.stderr).toBe(0);
    expect(JSON.parse(der.stdout).anchor).toMatchObject({ id: expectedCertId(readFileSync(fixturePath('certs/root-ca.der'))), name: 'acme-root', type: 'ca' });
    const pgp = await keyshare(['anchor', 'add', 'cli.acme.io/team', '--key', fixturePath('pgp/release.pub.gpg'), ...admin]);
    expect(pgp.code, pgp.stderr).toBe(0);
    expect(pgp.stdout).toMatch(/added pgp anchor pgp:[0-9a-f]{40}/);

    const ls = await keyshare(['scope', 'ls', ...admin, '--json']);
    expect(ls.code).toBe(0);
    expect(JSON.parse(ls.stdout).scopes.map((s: { scope: string }) => s.scope)).toEqual(expect.arrayContaining(['cli.acme.io', 'cli.acme.io/team']));
    expect((await svc.api('GET', scopePath('cli.acme.io/team'))).body.anchors).toHaveLength(1);
  });

  it('refuses a duplicate anchor with ANCHOR_EXISTS, then removes it', async () => {
    await svc.api('POST', '/scopes', { scope: 'dup.acme.io' });
    const key = fixturePath('keys/ec-p256.pub.pem');
    expect((await keyshare(['anchor', 'add', 'dup.acme.io', '--key', key, ...admin])).code).toBe(0);
    expectFailure(await keyshare(['anchor', 'add', 'dup.acme.io', '--key', fixturePath('keys/ec-p256.pub.der'), ...admin]), 'ANCHOR_EXISTS');
    const id = expectedSpkiId(readFixtureText('keys/ec-p256.pub.pem'));
    expect((await keyshare(['anchor', 'rm', 'dup.acme.io', id, ...admin])).code).toBe(0);
    expect((await svc.api('GET', scopePath('dup.acme.io'))).body.anchors).toEqual([]);
  });

  it('finds the server and token from the environment, and lets flags win over it', async () => {
    const run = await keyshare(['scope', 'ls', '--token', svc.token], { KEYSHARE_SERVER: svc.url, KEYSHARE_TOKEN: 'wrong' });
    expect(run.code, run.stderr).toBe(0);
  });

  it('reads the token from <data>/admin.token', async () => {
    const run = await keyshare(['scope', 'ls', '--server', svc.url, '--data', svc.dataDir]);
    expect(run.code, run.stderr).toBe(0);
  });
});

describe('when trust is applied from a YAML file', () => {
  const file = () => join(scratch, 'trust.yaml');
  const timestamp = () => svc.instance.publisher.latestMetadata('timestamp')!.version;
  const doc = {
    scopes: [
      { scope: 'apply.acme.io', level: 'strict', anchors: [{ name: 'acme-root', type: 'ca', certificate: readFixtureText('certs/root-ca.pem') }] },
      { scope: 'apply.acme.io/team-a', anchors: [{ name: 'ci', publicKey: readFixtureText('keys/ec-p256.pub.pem') }] },
      { scope: 'apply.acme.io/legacy', inherit: false },
    ],
  };

  beforeAll(() => {
    writeFileSync(file(), toYaml(doc));
    expect(readFileSync(file(), 'utf8')).toContain('certificate: |');
  });

  it('applies it once, then reports no changes and publishes nothing the second time', async () => {
    const first = await keyshare(['apply', file(), ...admin, '--json']);
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout).summary).toMatchObject({ changed: true, scopesCreated: ['apply.acme.io', 'apply.acme.io/team-a', 'apply.acme.io/legacy'] });
    const ts = timestamp();
    const second = await keyshare(['apply', file(), ...admin]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout.trim()).toBe('no changes');
    expect(timestamp()).toBe(ts);
  });

  it('publishes what it applied', async () => {
    const client = TufClient.pinnedTo(svc.url, svc.dataDir);
    const team = (await client.readJson('trust/apply.acme.io/team-a.json'))!;
    expect(team.anchors.map((a: { definedAt: string }) => a.definedAt).sort()).toEqual(['apply.acme.io', 'apply.acme.io/team-a']);
    const legacy = (await client.readJson('trust/apply.acme.io/legacy.json'))!;
    expect(legacy.anchors).toEqual([]);
  });

  it('refuses a file with two bad entries, naming both, and changes nothing', async () => {
    const bad = join(scratch, 'bad.yaml');
    writeFileSync(
      bad,
      toYaml({
        scopes: [
          { scope: 'apply.acme.io' },
          { scope: 'Apply.Acme.io/Upper' },
          { scope: 'apply.acme.io/team-a', anchors: [{ certificate: readFixtureText('certs/non-ca.pem') }] },
        ],
      }),
    );
    const ts = timestamp();
    const run = await keyshare(['apply', bad, '--prune', ...admin]);
    expectFailure(run, 'APPLY_INVALID');
    expect(run.stderr).toContain('scopes[1]');
    expect(run.stderr).toContain('scopes[2].anchors[0]');
    expect(timestamp()).toBe(ts);
    expect((await svc.api('GET', scopePath('apply.acme.io/legacy'))).status).toBe(200);
  });

  it('with --prune removes what the file does not name, but never revocations', async () => {
    const revoked = await svc.api('POST', '/revocations', { kind: 'key', id: `sha256:${'12'.repeat(32)}` });
    expect(revoked.status).toBe(201);
    const only = join(scratch, 'only.yaml');
    writeFileSync(only, toYaml({ scopes: [doc.scopes[0]] }));
    const run = await keyshare(['apply', only, '--prune', ...admin, '--json']);
    expect(run.code, run.stderr).toBe(0);
    const names = (await svc.api('GET', '/scopes')).body.scopes.map((s: { scope: string }) => s.scope);
    expect(names).toEqual(['apply.acme.io']);
    expect(JSON.parse(run.stdout).summary.scopesRemoved).toEqual(expect.arrayContaining(['registry.acme.io', 'apply.acme.io/team-a', 'apply.acme.io/legacy']));
    expect((await svc.api('GET', '/revocations')).body.keys.map((k: { id: string }) => k.id)).toEqual([`sha256:${'12'.repeat(32)}`]);
  });
});

describe('when `serve` starts on a data dir', () => {
  /** Starts `keyshare serve` and waits for the line that gives its URL. */
  function serve(dataDir: string): Promise<{ url: string; stderr: () => string; stop: () => Promise<number | null> }> {
    const child = spawn(process.execPath, [BIN, 'serve', '--data', dataDir, '--listen', '127.0.0.1:0'], { cwd: scratch, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    return new Promise((resolvePromise, reject) => {
      const timer = setTimeout(() => reject(new Error(`serve did not start: ${err}`)), 20_000);
      child.stderr.on('data', (d) => {
        err += d.toString();
        const m = /keyshare serving (http:\/\/\S+?)\/tuf\//.exec(err);
        if (m) {
          clearTimeout(timer);
          resolvePromise({
            url: m[1]!,
            stderr: () => err,
            stop: () =>
              new Promise((done) => {
                child.once('exit', (code) => done(code));
                child.kill('SIGTERM');
              }),
          });
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`serve exited with ${code}: ${err}`));
      });
    });
  }

  it('initialises a development repository the first time, and never again', async () => {
    const dataDir = resolve(tempDir('keyshare-serve-'), 'data');
    await prepareDataDir(dataDir);
    const first = await serve(dataDir);
    expect(first.stderr()).toContain('DEVELOPMENT');
    expect(first.stderr()).toContain(join(dataDir, 'root.json'));
    expect(first.stderr()).toContain(join(dataDir, 'admin.token'));
    const token = readFileSync(join(dataDir, 'admin.token'), 'utf8').trim();
    const create = await fetch(`${first.url}/api/v1/scopes`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ scope: 'served.acme.io' }),
    });
    expect(create.status).toBe(201);
    const client = TufClient.pinnedTo(first.url, dataDir);
    const doc = await client.readJson('trust/served.acme.io.json');
    const root = readFileSync(join(dataDir, 'root.json'), 'utf8');
    expect(await first.stop()).toBe(0);

    const second = await serve(dataDir);
    try {
      expect(second.stderr()).not.toContain('DEVELOPMENT');
      expect(readFileSync(join(dataDir, 'root.json'), 'utf8')).toBe(root);
      client.url = second.url;
      expect(await client.readJson('trust/served.acme.io.json')).toEqual(doc);
    } finally {
      expect(await second.stop()).toBe(0);
    }
  });
});
