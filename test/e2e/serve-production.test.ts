/**
 * Issue 24, "Defaults and docs": in production mode (--production, KEYSHARE_PRODUCTION, or a
 * listen address other than loopback), `serve` on an empty or mistyped data dir refuses with
 * INIT_REQUIRED instead of making a new development repository, and creates nothing.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { productionMode } from '../../service/restore-guard.js';
import { cleanupTempDirs, tempDir } from '../support/service.js';

afterAll(() => cleanupTempDirs());

describe('serve in production mode', () => {
  it('tells production mode from a development start', () => {
    expect(productionMode({ flag: false, listen: '127.0.0.1:8080' })).toBeNull();
    expect(productionMode({ flag: false, listen: 'localhost:8080' })).toBeNull();
    expect(productionMode({ flag: false, listen: '[::1]:8080' })).toBeNull();
    expect(productionMode({ flag: true, listen: '127.0.0.1:8080' })).toBe('--production');
    expect(productionMode({ flag: false, env: '1', listen: '127.0.0.1:8080' })).toBe('KEYSHARE_PRODUCTION');
    expect(productionMode({ flag: false, env: '0', listen: '127.0.0.1:8080' })).toBeNull();
    expect(productionMode({ flag: false, listen: '0.0.0.0:8080' })).toMatch(/not a loopback address/);
  });

  it('refuses to initialise an empty data dir with INIT_REQUIRED, creating nothing', async () => {
    const parent = tempDir();
    const dataDir = join(parent, 'mistyped');
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KEYSHARE_')));
    const run = await new Promise<{ code: number; stderr: string }>((done) =>
      execFile(process.execPath, [join(process.cwd(), 'bin', 'keyshare.js'), 'serve', '--data', dataDir, '--listen', '0.0.0.0:0'], { env, timeout: 60_000 }, (e, _o, stderr) =>
        done({ code: e ? (typeof e.code === 'number' ? e.code : -1) : 0, stderr: String(stderr) }),
      ),
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^keyshare: INIT_REQUIRED: \S+ holds no keyshare repository.*production mode \(--listen 0\.0\.0\.0:0 is not a loopback address\).*keyshare init/);
    expect(existsSync(dataDir) ? readdirSync(dataDir) : []).toEqual([]);
  }, 60_000);
});
