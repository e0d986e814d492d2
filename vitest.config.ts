import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // KEYSHARE_TEST_DATABASE=postgres: one PostgreSQL cluster for the run (test/support/database.ts).
    // Then the Debian tools the end-to-end tests drive: installed or asked for, never skipped.
    globalSetup: ['test/support/system-tools-global.ts', 'test/support/postgres-global.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Many tests wait on child processes and sockets rather than CPU: on a 2-core CI machine
    // vitest's default (cores - 1 = one worker) leaves the machine idle most of the time.
    poolOptions: { forks: { maxForks: 3, minForks: 1 } },
  },
});
