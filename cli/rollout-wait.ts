/** `revoke --wait-rollout PERCENT --timeout DURATION` (issue 21): polls the rollout until enough reporting clients hold the revocation. */
import { KeyshareError } from '../service/errors.js';
import { parseDuration } from '../service/util/duration.js';
import type { AdminClient } from './client.js';
import type { RevocationRollout } from '../service/rollout.js';
import { CliCodes } from './errors.js';

export const RolloutCodes = {
  /** The rollout did not reach the asked percentage before --timeout. */
  ROLLOUT_TIMEOUT: 'ROLLOUT_TIMEOUT',
} as const;

/** `95%` or `95` as a number in [0, 100]. */
export function parsePercent(text: string): number {
  const m = /^([0-9]{1,3}(?:\.[0-9]+)?)%?$/.exec(text.trim());
  const n = m ? Number(m[1]) : NaN;
  if (!(n >= 0 && n <= 100)) throw new KeyshareError(CliCodes.USAGE, `--wait-rollout takes a percentage from 0 to 100, e.g. 95%, not ${JSON.stringify(text)}`);
  return n;
}

/** Waits until the revocation `id` is held by `percent` of the reporting clients it concerns; ROLLOUT_TIMEOUT after `timeout`. */
export async function waitRollout(client: AdminClient, id: string, percent: number, timeout: string, intervalMs = 1000): Promise<RevocationRollout> {
  const deadline = Date.now() + parseDuration(timeout);
  for (;;) {
    const { revocations } = await client.call<{ revocations: RevocationRollout[] }>('GET', `/rollout?id=${encodeURIComponent(id)}`);
    const r = revocations[0];
    if (r && r.carriedFrom !== null && r.percent >= percent) return r;
    if (Date.now() >= deadline) {
      const where = r ? `${r.holding} of ${r.clients} clients (${r.percent}%) hold it; behind: ${r.behind.slice(0, 10).join(', ')}${r.behind.length > 10 ? ', ...' : ''}` : 'no such revocation';
      throw new KeyshareError(RolloutCodes.ROLLOUT_TIMEOUT, `the revocation did not reach ${percent}% within ${timeout}: ${where}`, { details: r });
    }
    await new Promise((res) => setTimeout(res, intervalMs));
  }
}
