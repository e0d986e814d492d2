/**
 * Issue 16, finding 3 (follower side): a feed that answers at once with no newer version (every
 * slot held, or an upstream that does not wait) must not make the follower hot-loop. The pause
 * schedule of service/federation/upstream/manager.ts, simulated over time with a feed that answers instantly.
 */
import { describe, expect, it } from 'vitest';
import { quietDelay } from '../../../../service/federation/upstream/manager.js';

/** Feed requests a follower makes in `seconds` against a feed that answers at once, never with a newer version. */
function requestsIn(seconds: number, pollMs: number, random: () => number): number {
  let t = 0;
  let quiet = 0;
  let n = 0;
  while (t < seconds * 1000) {
    n++;
    quiet = quietDelay(quiet, pollMs, random);
    t += quiet;
  }
  return n;
}

describe('when the feed answers at once with no newer version', () => {
  for (const [name, random] of [['least jitter', () => 0], ['most jitter', () => 0.999], ['random jitter', Math.random]] as const) {
    it(`makes at most 2 feed requests a second (${name})`, () => {
      expect(requestsIn(10, 60_000, random) / 10).toBeLessThanOrEqual(2);
      expect(requestsIn(60, 60_000, random) / 60).toBeLessThan(0.5);
    });
  }

  it('never waits longer than the poll interval, so a change is still seen within it', () => {
    let quiet = 0;
    for (let i = 0; i < 50; i++) {
      quiet = quietDelay(quiet, 5_000, () => 0.999);
      expect(quiet).toBeLessThanOrEqual(5_000);
    }
    expect(quiet).toBeGreaterThanOrEqual(3_750);
  });
});
