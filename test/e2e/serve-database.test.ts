/**
 * `keyshare serve --database postgres://...` is refused until the store has a PostgreSQL
 * dialect (issue 11): exit 1, one line `keyshare: CONFIG_INVALID: ...`, nothing created.
 * Runs the built CLI (bin/keyshare.js → dist/, built by `npm test`'s pretest).
 */
import { afterAll, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cleanupTempDirs, tempDir } from '../support/service.js';

const BIN = join(process.cwd(), 'bin', 'keyshare.js');

afterAll(() => cleanupTempDirs());

it('refuses --database postgres:// with CONFIG_INVALID, without echoing the URL or creating the data dir', () => {
  const data = join(tempDir(), 'data');
  const r = spawnSync(process.execPath, [BIN, 'serve', '--data', data, '--listen', '127.0.0.1:0', '--database', 'postgres://ks:secret@127.0.0.1:1/keyshare'], {
    encoding: 'utf8',
    env: { ...process.env, KEYSHARE_DATABASE_URL: '' },
    timeout: 60_000,
  });
  expect(r.status).toBe(1);
  const lines = r.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^keyshare: CONFIG_INVALID: database: PostgreSQL \(postgres:\/\/\.\.\.\) is not supported yet/);
  expect(r.stderr).not.toContain('secret');
  expect(existsSync(data)).toBe(false);
});
