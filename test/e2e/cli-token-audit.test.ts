/**
 * `keyshare token` and `keyshare audit` (the compiled CLI, `node bin/keyshare.js`) against a
 * running service: CONTRACT.md `token create --json` prints { id, token, role, scopes,
 * expiresAt }; `audit verify` exits 1 with AUDIT_TAMPERED after an edit in the database.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { packageRoot } from '../../service/util/paths.js';
import { cleanupTempDirs, startTestService, tempDir, type TestService } from '../support/service.js';
import { sqlRows } from '../support/store.js';

// Each run of the CLI is a new node process: allow for a slow, busy machine.
vi.setConfig({ testTimeout: 180_000 });

const ROOT = packageRoot();
const BIN = join(ROOT, 'bin', 'keyshare.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function keyshare(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KEYSHARE_')));
  return new Promise((done) => {
    execFile(process.execPath, [BIN, ...args], { cwd: scratch, env: { ...clean, ...env }, timeout: 90_000 }, (error, stdout, stderr) => {
      done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout: stdout.toString(), stderr: stderr.toString() });
    });
  });
}

function expectFailure(run: Run, code: string): void {
  expect(run.stderr, `stdout: ${run.stdout}`).toMatch(new RegExp(`^keyshare: ${code}: \\S.*\\n$`));
  expect(run.code).toBe(1);
}

let svc: TestService;
let scratch: string;
let server: string[];

beforeAll(async () => {
  expect(existsSync(join(ROOT, 'dist', 'cli', 'main.js')), 'dist/ is missing: run `npm run build`').toBe(true);
  scratch = tempDir('keyshare-cli-token-');
  svc = await startTestService();
  server = ['--server', svc.url];
});
afterAll(async () => {
  await svc?.close();
  cleanupTempDirs();
});

describe('keyshare token', () => {
  it('creates an editor token and prints it once as JSON, and the editor may write only inside its scope', async () => {
    const run = await keyshare(['token', 'create', '--role', 'editor', '--scopes', 'cli.acme.io/team-a', 'cli.acme.io/team-c', '--expires', '30d', '--json', ...server, '--data', svc.dataDir]);
    expect(run.code, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout);
    expect(Object.keys(out).sort()).toEqual(['expiresAt', 'id', 'role', 'scopes', 'token']);
    expect(out).toMatchObject({ role: 'editor', scopes: ['cli.acme.io/team-a', 'cli.acme.io/team-c'] });
    const asEditor = ['--server', svc.url, '--token', out.token];
    expect((await keyshare(['scope', 'add', 'cli.acme.io/team-a', ...asEditor])).code).toBe(0);
    expectFailure(await keyshare(['scope', 'add', 'cli.acme.io', ...asEditor]), 'FORBIDDEN');
    // The rest of the matrix goes through the API (test/service/auth/authorization.test.ts).

    const ls = await keyshare(['token', 'ls', '--json', ...server, '--data', svc.dataDir]);
    expect(ls.code, ls.stderr).toBe(0);
    // The secret is everything after `ks_<12-hex id>_` (base64url may itself contain `_`).
    expect(ls.stdout).not.toContain(out.token.slice('ks_'.length + 12 + 1));
    expect(JSON.parse(ls.stdout).tokens.find((t: { id: string }) => t.id === out.id)).toMatchObject({ status: 'active' });

    expect((await keyshare(['token', 'revoke', out.id, ...server, '--data', svc.dataDir])).code).toBe(0);
    expectFailure(await keyshare(['scope', 'ls', ...asEditor]), 'UNAUTHORIZED');
  });

  it('exits 1 with BAD_REQUEST for an editor without scopes, and 2 for an unknown role', async () => {
    expectFailure(await keyshare(['token', 'create', '--role', 'editor', ...server, '--data', svc.dataDir]), 'BAD_REQUEST');
    expect((await keyshare(['token', 'create', '--role', 'root', ...server, '--data', svc.dataDir])).code).toBe(2);
  });

  it('rotates the admin token from init in <data>/admin.token', async () => {
    const file = join(svc.dataDir, 'admin.token');
    const before = readFileSync(file, 'utf8').trim();
    const run = await keyshare(['token', 'rotate-admin', '--json', ...server, '--data', svc.dataDir]);
    expect(run.code, run.stderr).toBe(0);
    const after = readFileSync(file, 'utf8').trim();
    expect(after).not.toBe(before);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(run.stdout)).toMatchObject({ role: 'admin', replaced: before.split('_')[1], file });
    // The secret is everything after `ks_<id>_` (base64url, so it may itself contain '_').
    expect(run.stdout).not.toContain(after.slice('ks_'.length + 12 + 1));
    expectFailure(await keyshare(['scope', 'ls', '--server', svc.url, '--token', before]), 'UNAUTHORIZED');
    expect((await keyshare(['scope', 'ls', ...server, '--data', svc.dataDir])).code).toBe(0);
    svc.token = after;
  });
});

describe('keyshare audit', () => {
  it('lists entries, verifies the chain, and exits 1 with AUDIT_TAMPERED after an edit in the database', async () => {
    const opts = [...server, '--data', svc.dataDir];
    expect((await keyshare(['scope', 'add', 'audit.acme.io', ...opts])).code).toBe(0);
    const ls = await keyshare(['audit', 'ls', '--since', '1h', '--json', ...opts]);
    expect(ls.code, ls.stderr).toBe(0);
    const entries = JSON.parse(ls.stdout).entries;
    expect(entries.at(-1)).toMatchObject({ action: 'scope.create', scope: 'audit.acme.io', outcome: 'ok' });
    const human = await keyshare(['audit', 'ls', ...opts]);
    expect(human.stdout).toMatch(/scope\.create\taudit\.acme\.io/);

    const ok = await keyshare(['audit', 'verify', ...opts]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/intact/);

    await sqlRows(svc.instance.store, `UPDATE audit SET scope = 'elsewhere.io' WHERE seq = 2`);
    const bad = await keyshare(['audit', 'verify', ...opts]);
    expectFailure(bad, 'AUDIT_TAMPERED');
    expect(bad.stderr).toMatch(/entry 2/);
  });
});
