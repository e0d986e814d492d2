/**
 * Untrusted OpenPGP keys are parsed and their self-signatures verified in a worker thread with
 * a CPU time limit (issue 16, finding 1): whatever slipped past the allow-list
 * (pgp-packets.ts) costs at most PGP_TIME_LIMIT_MS of one worker, never the event loop. A
 * worker that runs over is terminated and replaced (worker-pool.ts, one worker: the limit is then
 * the parse's own CPU time). The worker (pgp-worker.ts) only calls openpgp.js and reports plain
 * facts; pgp.ts makes every decision.
 */
import { KeyshareError, Codes } from '../errors.js';
import { WorkerPool, workerModule } from './worker-pool.js';
import type { PgpTask } from './pgp-worker.js';

export const PGP_TIME_LIMIT_MS = 2_000;

/** What openpgp.js says about the keys in some input. */
export interface PgpFacts {
  keys: number;
  private: boolean;
  version: number;
  fingerprint: string;
  /** ms since the epoch; 'never'; or null when no valid self-signature gives an expiry. */
  expiry: number | 'never' | null;
  userIds: string[];
  armored: string;
  binary: Uint8Array;
  created: number;
}

const pool = new WorkerPool({ module: workerModule('pgp-worker', import.meta.url), size: 1 });

/** Parses and verifies OpenPGP input in the worker, within `limitMs`. */
export function pgpFactsInWorker(input: PgpTask, limitMs = PGP_TIME_LIMIT_MS): Promise<PgpFacts> {
  const timeout = () => new KeyshareError(Codes.BAD_PGP_KEY, `the OpenPGP key took more than ${limitMs} ms to parse and verify`);
  return pool.run<PgpFacts>(input, limitMs, timeout, Codes.BAD_PGP_KEY);
}
