/**
 * Errors that say what to do (issue 15, "Errors that do not say what to do"): one test per row
 * of the table, through the built CLI, against one service started for the file.
 */
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { packageRoot } from '../../service/util/paths.js';
import { cleanupTempDirs, startTestService, tempDir, type TestService } from '../support/service.js';
import { fileSystemError } from '../../cli/errors.js';

vi.setConfig({ testTimeout: 120_000 });

const BIN = join(packageRoot(), 'bin', 'keyshare.js');
let svc: TestService;
let scratch: string;
let other: Server;
let otherUrl: string;

/** Runs the CLI with no KEYSHARE_* variables but those given; resolves with exit code and stderr. */
function keyshare(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stderr: string }> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KEYSHARE_')));
  return new Promise((done) => {
    execFile(process.execPath, [BIN, ...args], { cwd: scratch, env: { ...clean, ...env }, timeout: 90_000 }, (error, _stdout, stderr) => {
      done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stderr: stderr.toString() });
    });
  });
}

beforeAll(async () => {
  expect(existsSync(join(packageRoot(), 'dist', 'cli', 'main.js')), 'dist/ is missing: run `npm run build`').toBe(true);
  scratch = tempDir('keyshare-errors-');
  svc = await startTestService();
  // A web server that is not keyshare: 404 for everything, as a reverse proxy's default site.
  other = createServer((_req, res) => res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>Not Found</h1>'));
  await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
  otherUrl = `http://127.0.0.1:${(other.address() as { port: number }).port}`;
});
afterAll(async () => {
  await svc?.close();
  await new Promise((r) => other?.close(r));
  cleanupTempDirs();
});

describe('a wrong token', () => {
  it('names the token source that was used and how to make a new one', async () => {
    const advice = /keyshare token create --role admin.*admin\.token/;
    const flag = await keyshare(['scope', 'ls', '--server', svc.url, '--token', 'ks_0123456789ab_wrong']);
    expect(flag.stderr).toMatch(/^keyshare: UNAUTHORIZED: .*refused the token from --token/);
    expect(flag.stderr).toMatch(advice);
    const env = await keyshare(['scope', 'ls', '--server', svc.url], { KEYSHARE_TOKEN: 'ks_0123456789ab_wrong' });
    expect(env.stderr).toMatch(/refused the token from KEYSHARE_TOKEN/);
    const data = join(scratch, 'data');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(data, { recursive: true });
    writeFileSync(join(data, 'admin.token'), 'ks_0123456789ab_wrong\n');
    const file = await keyshare(['scope', 'ls', '--server', svc.url, '--data', data]);
    expect(file.stderr).toContain(`refused the token from ${join(data, 'admin.token')}`);
    expect(file.code).toBe(1);
  });
});

describe('--server without a scheme', () => {
  it('is CONFIG_INVALID with an example of a URL', async () => {
    const r = await keyshare(['scope', 'ls', '--server', '127.0.0.1:8080', '--token', svc.token]);
    expect(r.stderr).toMatch(/^keyshare: CONFIG_INVALID: --server must be a URL such as http:\/\/127\.0\.0\.1:8080/);
    expect(r.code).toBe(1);
    const env = await keyshare(['scope', 'ls', '--token', svc.token], { KEYSHARE_SERVER: 'localhost:8080' });
    expect(env.stderr).toMatch(/^keyshare: CONFIG_INVALID: KEYSHARE_SERVER must be a URL such as http:\/\/127\.0\.0\.1:8080/);
  });
});

describe('a port in use', () => {
  it('is LISTEN_FAILED, naming the address and --listen', async () => {
    const listen = svc.url.replace('http://', '');
    const r = await keyshare(['serve', '--data', join(scratch, 'second'), '--listen', listen]);
    expect(r.stderr).toContain(`keyshare: LISTEN_FAILED: ${listen} is in use; choose another with --listen`);
    expect(r.code).toBe(1);
  });
});

describe('an admin command against a server that is not keyshare', () => {
  it('is NOT_KEYSHARE', async () => {
    const r = await keyshare(['scope', 'ls', '--server', otherUrl, '--token', svc.token]);
    expect(r.stderr).toMatch(new RegExp(`^keyshare: NOT_KEYSHARE: ${otherUrl} did not answer as a keyshare service \\(no /api/v1/openapi\\.json\\)`));
    expect(r.code).toBe(1);
  });
});

describe('a text file as --cert', () => {
  it('says it is neither a PEM nor a DER certificate', async () => {
    writeFileSync(join(scratch, 'notes.txt'), 'my root CA is the one from the wiki\n');
    await svc.api('POST', '/scopes', { scope: 'registry.acme.io' });
    const r = await keyshare(['anchor', 'add', 'registry.acme.io', '--cert', 'notes.txt', '--server', svc.url, '--token', svc.token]);
    expect(r.stderr).toMatch(/^keyshare: BAD_CERTIFICATE: neither a PEM nor a DER certificate/);
    expect(r.code).toBe(1);
  });
});

describe('a scope or anchor that does not exist', () => {
  it('names the command that lists them', async () => {
    const scope = await keyshare(['scope', 'show', 'nothere.acme.io', '--server', svc.url, '--token', svc.token]);
    expect(scope.stderr).toBe('keyshare: SCOPE_NOT_FOUND: scope "nothere.acme.io" is not defined: `keyshare scope ls` lists the scopes; `keyshare scope add SCOPE` defines one\n');
    expect(scope.code).toBe(1);
    await svc.api('POST', '/scopes', { scope: 'registry.acme.io' });
    const anchor = await keyshare(['anchor', 'rm', 'registry.acme.io', `sha256:${'ab'.repeat(32)}`, '--server', svc.url, '--token', svc.token]);
    expect(anchor.stderr).toMatch(/^keyshare: ANCHOR_NOT_FOUND: .*: `keyshare scope show SCOPE` lists a scope's anchors with their IDs$/m);
  });
});

describe('mistakes that used to be INTERNAL', () => {
  it('an output path in a missing directory is PATH_NOT_FOUND', async () => {
    const r = await keyshare(['bundle', 'export', '--out', join(scratch, 'missing', 'trust.tar'), '--data', svc.dataDir]);
    expect(r.stderr).toMatch(/^keyshare: PATH_NOT_FOUND: .*missing.*create the directory first/);
    expect(r.code).toBe(1);
  });

  // Node's recursive mkdir never returned under /proc (issue 25): the execFile time limit fails a spin.
  it('a data dir or cache that cannot be made (/proc/x) is PATH_NOT_FOUND, not a spin', async () => {
    const init = await keyshare(['init', '--data', '/proc/keyshare-x']);
    expect(init.stderr).toMatch(/^keyshare: PATH_NOT_FOUND: \/proc\/keyshare-x: no such file or directory/);
    expect(init.code).toBe(1);
    const fetch = await keyshare(['fetch', '--server', svc.url, '--root', join(svc.dataDir, 'root.json'), '--out', join(scratch, 'out-proc'), '--format', 'json', '--cache', '/proc/keyshare-y/cache']);
    expect(fetch.stderr).toMatch(/^keyshare: [A-Z_]+: .*\/proc\/keyshare-y/);
    expect(fetch.code).toBe(1);
  });

  it('maps every file-system error a user causes to its own code', () => {
    const err = (code: string) => Object.assign(new Error(code), { code, path: '/x' });
    expect(['ENOENT', 'EACCES', 'EROFS', 'EISDIR', 'ENOSPC'].map((c) => fileSystemError(err(c))?.code)).toEqual(['PATH_NOT_FOUND', 'PERMISSION_DENIED', 'PERMISSION_DENIED', 'PATH_INVALID', 'NO_SPACE']);
    expect(fileSystemError(new Error('other'))).toBeNull();
  });

  it('an apply file that is not a mapping is APPLY_INVALID', async () => {
    writeFileSync(join(scratch, 'list.yaml'), '- scope: registry.acme.io\n');
    const r = await keyshare(['apply', 'list.yaml', '--server', svc.url, '--token', svc.token]);
    expect(r.stderr).toMatch(/^keyshare: APPLY_INVALID: list\.yaml is not a trust file/);
  });
});
