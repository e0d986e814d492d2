/**
 * Issue 21: `keyshare diff` on bundles. Two full bundles of one origin, verified offline against
 * its root as `bundle import` does, compare as the server's own diff between their versions; a
 * bundle that does not verify, or of another origin, has no diff.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFixtureText } from '../../fixtures/index.js';
import { expectedSpkiId } from '../service/crypto/helpers.js';
import { exportBundle } from '../../service/federation/bundle/export.js';
import { diffBundles } from '../../sync/bundle/diff.js';
import { cleanupTempDirs, startTestService, tempDir, type TestService } from '../support/service.js';

const run = promisify(execFile);
const EC = readFixtureText('keys/ec-p256.pub.pem');
const ED = readFixtureText('keys/ed25519.pub.pem');
let S: TestService;
let other: TestService;
let work: string;
let root: Buffer;
let b1: string;
let b2: string;
let v1: number;
let v2: number;

beforeAll(async () => {
  work = tempDir('keyshare-bundle-diff-');
  [S, other] = await Promise.all([startTestService(), startTestService()]);
  root = readFileSync(join(S.dataDir, 'root.json'));
  await S.instance.service.apply({
    scopes: [
      { scope: 'registry.acme.io', level: 'strict', anchors: [{ publicKey: EC, name: 'ec' }] },
      { scope: 'registry.acme.io/team-a', anchors: [{ publicKey: ED, name: 'ed' }] },
      { scope: 'other.example.com' },
    ],
  } as never);
  await S.instance.publisher.flush();
  b1 = join(work, 'b1.tar.gz');
  v1 = (await exportBundle({ dataDir: S.dataDir, out: b1 })).versions.timestamp;
  // A leak: the registry's key is revoked everywhere, team-a becomes audit, a scope goes.
  expect((await S.api('POST', '/revocations', { kind: 'key', id: expectedSpkiId(EC), reason: 'keyCompromise' })).status).toBe(201);
  expect((await S.api('POST', '/apply', { scopes: [{ scope: 'registry.acme.io/team-a', level: 'audit', anchors: [{ publicKey: ED, name: 'ed' }] }] })).status).toBe(200);
  expect((await S.api('DELETE', '/scopes/other.example.com')).status).toBe(200);
  await S.instance.publisher.flush();
  b2 = join(work, 'b2.tar.gz');
  v2 = (await exportBundle({ dataDir: S.dataDir, out: b2 })).versions.timestamp;
}, 120_000);
afterAll(async () => {
  await Promise.all([S, other].map((s) => s?.close()));
  cleanupTempDirs();
});

describe('diff on bundles', () => {
  it('equals the server diff between the two bundles\' versions', async () => {
    const offline = await diffBundles({ bundle: b2, from: b1, root });
    expect(offline).toMatchObject({ from: v1, to: v2 });
    const online = await S.api('GET', `/diff?from=${v1}&to=${v2}`);
    expect(online.status).toBe(200);
    expect(offline.changes).toEqual(online.body.changes);
    expect(offline.changes.map((c) => [c.scope, c.change])).toEqual([
      ['other.example.com', 'remove'],
      ['registry.acme.io', 'update'],
      ['registry.acme.io/team-a', 'update'],
    ]);
    expect(offline.changes[2]).toMatchObject({ level: { from: 'strict', to: 'audit' }, anchorsRemoved: [{ id: expectedSpkiId(EC) }], revoked: [{ id: expectedSpkiId(EC) }] });
    // --scope, and one bundle alone (against an empty repository).
    expect((await diffBundles({ bundle: b2, from: b1, root, scope: 'registry.acme.io/team-a' })).changes.map((c) => c.scope)).toEqual(['registry.acme.io/team-a']);
    expect((await diffBundles({ bundle: b1, root })).changes.every((c) => c.change === 'create')).toBe(true);
  });

  it('through the CLI, offline (no server, no token)', async () => {
    const rootFile = join(work, 'root.json');
    writeFileSync(rootFile, root);
    const cli = join(process.cwd(), 'bin', 'keyshare.js');
    const { stdout } = await run(process.execPath, [cli, 'diff', '--bundle', b2, '--from-bundle', b1, '--root', rootFile, '--server', 'http://127.0.0.1:9'], { env: { ...process.env, KEYSHARE_TOKEN: '' } });
    expect(stdout).toContain(`from version ${v1} to ${v2}:`);
    expect(stdout).toMatch(/registry\.acme\.io\/team-a: update, level strict → audit/);
    expect(stdout).toContain(`- publicKey anchor ec ${expectedSpkiId(EC)} (from registry.acme.io)`);
  });

  it('refuses a bundle that does not verify against the root, and bundles of two origins', async () => {
    const otherRoot = readFileSync(join(other.dataDir, 'root.json'));
    await expect(diffBundles({ bundle: b2, from: b1, root: otherRoot })).rejects.toMatchObject({ code: expect.stringMatching(/^[A-Z_]+$/) });
    const ob = join(work, 'other.tar.gz');
    await exportBundle({ dataDir: other.dataDir, out: ob });
    await expect(diffBundles({ bundle: b2, from: ob, root })).rejects.toBeTruthy();
  });
});
