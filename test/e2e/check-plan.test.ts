/**
 * Issue 21: `keyshare check --plan`: given the plan of a change (a --dry-run --json answer) and
 * an inventory of (repository, key ID, signature digest), which would stop verifying, per scope.
 * A running service, the built CLI, and a verified fetch against the pinned root.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFixtureText } from '../../fixtures/index.js';
import { expectedSpkiId } from '../service/crypto/helpers.js';
import { cleanupTempDirs, startTestService, tempDir, type TestService } from '../support/service.js';

const run = promisify(execFile);
const EC = expectedSpkiId(readFixtureText('keys/ec-p256.pub.pem'));
const ED = expectedSpkiId(readFixtureText('keys/ed25519.pub.pem'));
const SIG = `sha256:${'ab'.repeat(32)}`;
let S: TestService;
let work: string;

beforeAll(async () => {
  S = await startTestService();
  work = tempDir('keyshare-check-plan-');
  const r = await S.api('POST', '/apply', {
    scopes: [
      { scope: 'registry.acme.io', anchors: [{ publicKey: readFixtureText('keys/ec-p256.pub.pem'), name: 'ec' }] },
      { scope: 'registry.acme.io/team-a', anchors: [{ publicKey: readFixtureText('keys/ed25519.pub.pem'), name: 'ed' }] },
      { scope: 'other.example.com', anchors: [{ publicKey: readFixtureText('keys/ed25519.pub.pem'), name: 'ed' }] },
    ],
  });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  await S.instance.publisher.flush();
});
afterAll(async () => {
  await S?.close();
  cleanupTempDirs();
});

async function checkPlan(plan: unknown, inventory: string) {
  writeFileSync(join(work, 'plan.json'), JSON.stringify(plan));
  writeFileSync(join(work, 'inventory.txt'), inventory);
  const { stdout } = await run(process.execPath, [
    join(process.cwd(), 'bin', 'keyshare.js'),
    'check', '--plan', join(work, 'plan.json'), '--inventory', join(work, 'inventory.txt'),
    '--server', S.url, '--root', join(S.dataDir, 'root.json'), '--cache', join(work, 'cache'), '--json',
  ]);
  return JSON.parse(stdout) as { stops: number; results: { repository: string; scope: string; before: string; after: string; stops: boolean }[] };
}

describe('check --plan', () => {
  const inventory = [
    '# repository, key, signature',
    `registry.acme.io/team-a/app ${EC} ${SIG}`,
    `registry.acme.io/team-a/app, ${ED}`,
    `registry.acme.io/web ${EC}`,
    `other.example.com/x ${ED} ${SIG}`,
  ].join('\n');

  it('names what a key revocation would stop, per scope, and changes nothing', async () => {
    const plan = (await S.api('POST', '/revocations?dryRun=true', { kind: 'key', id: EC, reason: 'keyCompromise' })).body;
    const r = await checkPlan(plan, inventory);
    expect(r.results.map((x) => [x.repository, x.scope, x.before, x.after, x.stops])).toEqual([
      ['registry.acme.io/team-a/app', 'registry.acme.io/team-a', 'trusted', 'revoked', true],
      ['registry.acme.io/team-a/app', 'registry.acme.io/team-a', 'trusted', 'trusted', false],
      ['registry.acme.io/web', 'registry.acme.io', 'trusted', 'revoked', true],
      ['other.example.com/x', 'other.example.com', 'trusted', 'trusted', false],
    ]);
    expect(r.stops).toBe(2);
    expect((await S.api('GET', '/revocations')).body.keys).toEqual([]);
  });

  it('a signature revocation at one scope, and an anchor removal', async () => {
    const sig = (await S.api('POST', '/revocations?dryRun=true', { kind: 'signature', digest: SIG, scope: 'other.example.com' })).body;
    expect((await checkPlan(sig, inventory)).results.map((x) => x.stops)).toEqual([false, false, false, true]);
    const rm = (await S.api('DELETE', `/scopes/${encodeURIComponent('registry.acme.io/team-a')}/anchors/${encodeURIComponent(ED)}?dryRun=true`)).body;
    expect((await checkPlan(rm, inventory)).results.map((x) => x.stops)).toEqual([false, true, false, false]);
  });

  it('refuses an inventory line it cannot read, naming it', async () => {
    const plan = { plan: [] };
    await expect(checkPlan(plan, 'registry.acme.io/web not-a-key')).rejects.toMatchObject({ stderr: expect.stringContaining('line 1: expected REPOSITORY KEY_ID') });
  });
});
