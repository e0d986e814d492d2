/**
 * Issue 21 end to end with the real CLI: 50 clients run `keyshare fetch --report` (each its own
 * process, cache and ID); a revocation made with `revoke --wait-rollout 100%` waits while they
 * are behind (`clients ls --behind`), and returns once all have refreshed; `--dry-run` plans
 * without changing anything; `keyshare diff` shows what the revocation changed.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { readFixtureText } from '../../fixtures/index.js';
import { packageRoot } from '../../service/util/paths.js';
import { expectedSpkiId } from '../service/crypto/helpers.js';
import { cleanupTempDirs, scopePath, startTestService, tempDir, type TestService } from '../support/service.js';

vi.setConfig({ testTimeout: 600_000 });

const BIN = join(packageRoot(), 'bin', 'keyshare.js');
const CLIENTS = 50;
const EC_KEY = readFixtureText('keys/ec-p256.pub.pem');
const KEY_ID = expectedSpkiId(EC_KEY);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function keyshare(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KEYSHARE_')));
  return new Promise((done) => {
    execFile(process.execPath, [BIN, ...args], { cwd: scratch, env: { ...clean, ...env }, timeout: 300_000 }, (error, stdout, stderr) => {
      done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout: stdout.toString(), stderr: stderr.toString() });
    });
  });
}

let svc: TestService;
let scratch: string;
let admin: string[];
let clientToken: string;

/** Client i fetches and reports (its own cache dir keeps its random ID: no --client-id). */
const fetchReport = (i: number) =>
  keyshare(['fetch', '--server', svc.url, '--root', join(svc.dataDir, 'root.json'), '--out', join(scratch, `out-${i}`), '--format', 'json', '--cache', join(scratch, `cache-${i}`), '--report', '--label', `env=${i % 2 ? 'prod' : 'dev'}`], { KEYSHARE_TOKEN: clientToken });

/** Runs the clients, at most 8 processes at a time. */
async function refresh(ids: number[]): Promise<void> {
  for (let i = 0; i < ids.length; i += 8) {
    const runs = await Promise.all(ids.slice(i, i + 8).map(fetchReport));
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    for (const r of runs) expect(r.stderr).not.toContain('warning');
  }
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
const behind = async (version: number) => JSON.parse((await keyshare(['clients', 'ls', '--behind', String(version), '--json', ...admin])).stdout).clients as { clientId: string; labels: Record<string, string> }[];

beforeAll(async () => {
  expect(existsSync(join(packageRoot(), 'dist', 'cli', 'main.js')), 'dist/ is missing: run `npm run build`').toBe(true);
  scratch = tempDir('keyshare-rollout-');
  svc = await startTestService();
  admin = ['--server', svc.url, '--token', svc.token];
  expect((await svc.api('POST', '/scopes', { scope: 'registry.acme.io' })).status).toBe(201);
  expect((await svc.api('POST', `${scopePath('registry.acme.io')}/anchors`, { publicKey: EC_KEY, name: 'ci' })).status).toBe(201);
  clientToken = (await svc.api('POST', '/tokens', { role: 'client' })).body.token;
});
afterAll(async () => {
  await svc?.close();
  cleanupTempDirs();
});

describe('rollout of a revocation to 50 reporting clients', () => {
  it('plans the revocation with --dry-run and changes nothing', async () => {
    const before = svc.instance.publisher.latestMetadata('timestamp')!.version;
    const r = await keyshare(['revoke', 'key', KEY_ID, '--dry-run', '--json', ...admin]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).plan).toEqual([expect.objectContaining({ scope: 'registry.acme.io', anchorsRemoved: [expect.objectContaining({ id: KEY_ID })] })]);
    const text = await keyshare(['revoke', 'key', KEY_ID, '--dry-run', ...admin]);
    expect(text.stdout).toContain(`- publicKey anchor ci ${KEY_ID}`);
    expect(svc.instance.publisher.latestMetadata('timestamp')!.version).toBe(before);
  });

  it('waits with --wait-rollout while clients are behind, and returns when all hold it', async () => {
    await refresh(range(0, CLIENTS));
    const start = svc.instance.publisher.latestMetadata('timestamp')!.version;
    expect(await behind(start + 1)).toHaveLength(CLIENTS);
    // The admin revokes and waits; the clients refresh meanwhile.
    const waiting = keyshare(['revoke', 'key', KEY_ID, '--reason', 'keyCompromise', '--wait-rollout', '100%', '--timeout', '5m', '--json', ...admin]);
    let carried: number | null = null;
    for (let i = 0; i < 600 && carried === null; i++) {
      carried = (await svc.api('GET', `/rollout?id=${KEY_ID}`)).body.revocations[0]?.carriedFrom ?? null;
      if (carried === null) await new Promise((r) => setTimeout(r, 100));
    }
    expect(carried).toBe(start + 1);
    await refresh(range(0, 20));
    const late = await behind(carried!);
    expect(late).toHaveLength(CLIENTS - 20);
    expect((await keyshare(['clients', 'ls', '--behind', String(carried), '--label', 'env=prod', '--json', ...admin])).stdout).toContain('"env": "prod"');
    expect((await svc.api('GET', `/rollout?id=${KEY_ID}`)).body.revocations[0]).toMatchObject({ clients: CLIENTS, holding: 20, percent: 40 });
    await refresh(range(20, CLIENTS));
    const done = await waiting;
    expect(done.code, done.stderr).toBe(0);
    expect(JSON.parse(done.stdout).rollout).toMatchObject({ clients: CLIENTS, holding: CLIENTS, percent: 100, behind: [] });
    expect(await behind(carried!)).toEqual([]);
  });

  it('times out with ROLLOUT_TIMEOUT when the clients do not refresh', async () => {
    const r = await keyshare(['revoke', 'signature', `sha256:${'ab'.repeat(32)}`, '--wait-rollout', '95%', '--timeout', '2s', ...admin]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^keyshare: ROLLOUT_TIMEOUT: .*0 of 50 clients/);
  });

  it('diff shows the revocation in human terms', async () => {
    const r = await keyshare(['diff', '--from', '1', '--scope', 'registry.acme.io', ...admin]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`revoke key ${KEY_ID} (keyCompromise)`);
    expect(r.stdout).toContain('registry.acme.io: create');
  });
});
