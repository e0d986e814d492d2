/**
 * Issue 15, "apply has no usable example": the shipped examples/trust.yaml through the built CLI.
 * `--dry-run` prints the plan per scope and changes nothing; applying it publishes once; applying
 * it again changes nothing; a guessed field name is refused with its path and the right name.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { packageRoot } from '../../service/util/paths.js';
import { cleanupTempDirs, startTestService, tempDir, type TestService } from '../support/service.js';

vi.setConfig({ testTimeout: 120_000 });

const ROOT = packageRoot();
const EXAMPLE = join(ROOT, 'examples', 'trust.yaml');
let svc: TestService;

function keyshare(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KEYSHARE_')));
  return new Promise((done) => {
    execFile(process.execPath, [join(ROOT, 'bin', 'keyshare.js'), ...args, '--server', svc.url, '--token', svc.token], { env: clean, timeout: 90_000 }, (error, stdout, stderr) => {
      done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout: stdout.toString(), stderr: stderr.toString() });
    });
  });
}

const timestamp = () => svc.instance.publisher.latestMetadata('timestamp')!.version;

beforeAll(async () => {
  expect(existsSync(join(ROOT, 'dist', 'cli', 'main.js')), 'dist/ is missing: run `npm run build`').toBe(true);
  svc = await startTestService();
});
afterAll(async () => {
  await svc?.close();
  cleanupTempDirs();
});

describe('keyshare apply examples/trust.yaml', () => {
  it('with --dry-run prints the plan per scope (added, revoked, levels) and changes nothing', async () => {
    const before = timestamp();
    const r = await keyshare(['apply', EXAMPLE, '--dry-run']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('dry run, nothing was changed; the plan:');
    expect(r.stdout).toMatch(/^ {2}registry\.acme\.io: create, level - → strict\b/m);
    expect(r.stdout).toMatch(/^ {2}registry\.acme\.io\/team-a: create, level - → audit\b/m);
    expect(r.stdout).toMatch(/^ {2}registry\.acme\.io\/team-a\/release: create, .*inherit - → false$/m);
    for (const anchor of ['ca anchor acme-root', 'publicKey anchor team-a-ci', 'pgp anchor release']) expect(r.stdout).toContain(`+ ${anchor} `);
    expect(r.stdout).toMatch(/revoke certificate .*0b \(keyCompromise\)/);
    expect(r.stdout).toMatch(/revoke signature sha256:3b6a27bc/);
    expect(timestamp()).toBe(before);
    expect((await svc.api('GET', '/scopes')).body.scopes).toEqual([]);
  });

  it('applies it in one publish, and a second apply changes nothing', async () => {
    const before = timestamp();
    const first = await keyshare(['apply', EXAMPLE]);
    expect(first.code, first.stderr).toBe(0);
    expect(timestamp()).toBe(before + 1);
    const scopes = (await svc.api('GET', '/scopes')).body.scopes.map((s: { scope: string }) => s.scope);
    expect(scopes).toEqual(['registry.acme.io', 'registry.acme.io/team-a', 'registry.acme.io/team-a/release']);
    const again = await keyshare(['apply', EXAMPLE, '--dry-run']);
    expect(again.stdout.trim()).toBe('dry run: no changes');
    expect((await keyshare(['apply', EXAMPLE])).code).toBe(0);
    expect(timestamp()).toBe(before + 1);
  });

  it('refuses a guessed field name with its path and the right name, changing nothing', async () => {
    const guessed = join(tempDir(), 'trust.yaml');
    // The issue's own mistake: `key:` for the OpenPGP key of the third scope.
    writeFileSync(guessed, readFileSync(EXAMPLE, 'utf8').replace('      - name: release             # an OpenPGP public key (armored), for GPG simple signing\n        publicKey: |', '      - name: release\n        key: |'));
    const before = timestamp();
    const r = await keyshare(['apply', guessed, '--prune']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('scopes[2].anchors[0].key: unknown field; did you mean publicKey?');
    expect(timestamp()).toBe(before);
  });
});
