/**
 * A witness round that cannot read its inputs (the database went down) is reported and ends:
 * Witnessing.run() is started from timers and events, where a rejection would be unhandled and
 * end the service (seen in the PostgreSQL outage test).
 */
import { describe, expect, it } from 'vitest';
import { Witnessing, type WitnessConfig } from '../../../service/tlog/witnesses.js';
import type { TransparencyLog } from '../../../service/tlog/log.js';
import { addressPolicy } from '../../../service/net/outbound.js';

describe('a witness round whose store fails', () => {
  it('resolves, reports the failure, and runs again when asked', async () => {
    let lists = 0;
    const log = { checkpoint: async () => 'keyshare.test/log\n1\nAAAA\n\n— keyshare.test/log sig\n' } as unknown as TransparencyLog;
    const config = {
      list: async () => {
        lists++;
        throw new Error('Connection terminated unexpectedly');
      },
    } as unknown as WitnessConfig;
    const failures: string[] = [];
    const rounds: number[] = [];
    const witnessing = new Witnessing(log, config, { outbound: addressPolicy(true), onRoundFailed: (m) => failures.push(m), onRound: () => rounds.push(1) });
    await expect(witnessing.run()).resolves.toBeUndefined();
    await expect(witnessing.run()).resolves.toBeUndefined();
    expect(failures).toEqual(['Connection terminated unexpectedly', 'Connection terminated unexpectedly']);
    expect(lists).toBe(2);
    expect(rounds).toEqual([]);
  });
});
