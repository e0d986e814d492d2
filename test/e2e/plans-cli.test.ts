/**
 * Issue 21, plans through the built CLI: `scope add`, `anchor block`, `anchor unblock` and
 * `upstream rm` with `--dry-run` print the plan (or its --json) and change nothing.
 * (test/service/http/plans.test.ts and test/e2e/upstream-plan.test.ts prove each plan equals
 * the diff the write then publishes.)
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFixtureText } from '../../fixtures/index.js';
import { expectedSpkiId } from '../service/crypto/helpers.js';
import { cleanupTempDirs, startTestService, type TestService } from '../support/service.js';

const EC_PEM = readFixtureText('keys/ec-p256.pub.pem');
const EC = expectedSpkiId(EC_PEM);
let S: TestService;

beforeAll(async () => {
  S = await startTestService();
  const r = await S.api('POST', '/apply', { scopes: [{ scope: 'registry.acme.io', anchors: [{ publicKey: EC_PEM, name: 'ec' }] }, { scope: 'registry.acme.io/team-a' }] });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  await S.instance.publisher.flush();
});
afterAll(async () => {
  await S?.close();
  cleanupTempDirs();
});

/** The built CLI against S, as its admin. */
function keyshare(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [join(process.cwd(), 'bin', 'keyshare.js'), ...args, '--server', S.url, '--token', S.token], { timeout: 60_000 }, (error, stdout, stderr) =>
      done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
    );
  });
}

const timestampVersion = () => S.instance.publisher.latestMetadata('timestamp')!.version;

describe('--dry-run through the CLI', () => {
  it('scope add prints the new scope with the anchor it inherits, and creates nothing', async () => {
    const before = timestampVersion();
    const text = await keyshare('scope', 'add', 'registry.acme.io/team-b', '--dry-run');
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('dry run, nothing was changed; the plan:');
    expect(text.stdout).toMatch(/registry\.acme\.io\/team-b: create/);
    expect(text.stdout).toContain(`+ publicKey anchor ec ${EC} (from registry.acme.io)`);
    const json = await keyshare('scope', 'add', 'registry.acme.io/team-b', '--dry-run', '--json');
    expect(JSON.parse(json.stdout)).toMatchObject({ dryRun: true, published: null, plan: [{ scope: 'registry.acme.io/team-b', change: 'create' }] });
    expect(((await S.api('GET', '/scopes')).body.scopes as { scope: string }[]).map((s) => s.scope)).not.toContain('registry.acme.io/team-b');
    await S.instance.publisher.flush();
    expect(timestampVersion()).toBe(before);
  });

  it('anchor block and unblock print what each scope would lose or get back, and change nothing', async () => {
    const block = await keyshare('anchor', 'block', 'registry.acme.io', EC, '--dry-run', '--json');
    expect(block.code, block.stderr).toBe(0);
    const plan = JSON.parse(block.stdout).plan as { scope: string; anchorsRemoved: { id: string }[] }[];
    expect(plan.map((p) => [p.scope, p.anchorsRemoved.map((a) => a.id)])).toEqual([
      ['registry.acme.io', [EC]],
      ['registry.acme.io/team-a', [EC]],
    ]);
    expect((await S.api('GET', '/blocks')).body.blocks).toEqual([]);
    // Lifting a block that is not there is refused, as the unblock would be.
    const missing = await keyshare('anchor', 'unblock', 'registry.acme.io', EC, '--dry-run');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`NOT_FOUND: anchor ${EC} is not blocked at registry.acme.io`);
    // A real block, then the plan of lifting it: both scopes get the anchor back, and it stays blocked.
    expect((await keyshare('anchor', 'block', 'registry.acme.io', EC)).code).toBe(0);
    const unblock = await keyshare('anchor', 'unblock', 'registry.acme.io', EC, '--dry-run');
    expect(unblock.code, unblock.stderr).toBe(0);
    expect(unblock.stdout).toContain(`registry.acme.io/team-a: update\n    + publicKey anchor ec ${EC} (from registry.acme.io)`);
    expect(((await S.api('GET', '/blocks')).body.blocks as { anchorId: string }[]).map((b) => b.anchorId)).toEqual([EC]);
  });

  it('upstream rm of an upstream that is not followed is refused, as the rm would be', async () => {
    const r = await keyshare('upstream', 'rm', 'nowhere', '--dry-run');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('UPSTREAM_NOT_FOUND');
  });
});
