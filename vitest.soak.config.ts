/**
 * `npm run soak`: the long forms of the reliability tests (issue 10). The same test files as
 * `npm test`, scaled up through the environment (each can be overridden):
 *   KEYSHARE_CRASH_KILLS           SIGKILLs of keyshare serve (test/crash), default 200
 *   KEYSHARE_FUZZ_SCALE            x the property-test runs of test/fuzz, default 20
 *   KEYSHARE_CONCURRENCY_SECONDS   how long clients and writers race (test/concurrency), default 60
 * plus the attack suite and the resource limits, once. Seeds are printed on failure
 * (KEYSHARE_CRASH_SEED, KEYSHARE_FUZZ_SEED replay one).
 */
import { defineConfig } from 'vitest/config';

const env = (name: string, fallback: string) => process.env[name] ?? fallback;

export default defineConfig({
  test: {
    include: ['test/crash/**/*.test.ts', 'test/fuzz/**/*.test.ts', 'test/concurrency/**/*.test.ts', 'test/attacks/**/*.test.ts', 'test/limits/**/*.test.ts'],
    env: {
      KEYSHARE_CRASH_KILLS: env('KEYSHARE_CRASH_KILLS', '200'),
      KEYSHARE_FUZZ_SCALE: env('KEYSHARE_FUZZ_SCALE', '20'),
      KEYSHARE_CONCURRENCY_SECONDS: env('KEYSHARE_CONCURRENCY_SECONDS', '60'),
    },
    testTimeout: 4 * 3600_000,
    hookTimeout: 600_000,
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
