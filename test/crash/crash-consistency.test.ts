/**
 * Crash consistency, short form (test/crash/harness.ts): `keyshare serve` killed with SIGKILL
 * at random moments during publishes, apply files, CRL adds, upstream syncs and a bundle import, then checked
 * after every restart. `npm run soak` runs the long form (KEYSHARE_CRASH_KILLS, default 200 there).
 * Runs the built CLI (bin/keyshare.js → dist/, built by `npm test`'s pretest).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupTempDirs } from '../support/service.js';
import { runCampaign } from './harness.js';

const KILLS = Number(process.env.KEYSHARE_CRASH_KILLS ?? '8');
const SEED = Number(process.env.KEYSHARE_CRASH_SEED ?? Date.now() % 2 ** 31);

afterAll(() => cleanupTempDirs());

describe('when the service is killed at random moments while admins write', () => {
  it(`keeps every acknowledged change, shows nothing half-applied, and serves a repository that verifies (${KILLS} kills)`, { timeout: 120_000 + KILLS * 30_000 }, async () => {
    const lines: string[] = [];
    const result = await runCampaign({ kills: KILLS, seed: SEED, log: (l) => lines.push(l) }).catch((e) => {
      throw new Error(`campaign with KEYSHARE_CRASH_SEED=${SEED} failed: ${(e as Error).message}\n${lines.join('\n')}`, { cause: e });
    });
    expect(result.kills).toBe(KILLS);
    // The kills land among writes: some acknowledged before, some cut off in flight.
    expect(result.acknowledged).toBeGreaterThan(0);
  });
});
