/**
 * Issue 16, finding 8: with umask 000 and a data dir that already exists, every file the
 * service creates in it is 0600 and every directory 0700; `serve` warns about wider modes.
 */
import { chmodSync, lstatSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { initDataDir, openInstance } from '../../service/instance.js';
import { widerThanPrivate } from '../../service/util/private-files.js';
import { prepareDataDir } from '../support/database.js';
import { cleanupTempDirs, tempDir } from '../support/service.js';

afterAll(() => cleanupTempDirs());

function modes(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (p: string) => {
    const st = lstatSync(p);
    out[p.slice(dir.length) || '/'] = (st.mode & 0o777).toString(8);
    if (st.isDirectory()) for (const n of readdirSync(p)) walk(join(p, n));
  };
  walk(dir);
  return out;
}

describe('when the umask is 000 and the data dir already exists', () => {
  it('creates every file 0600 and every directory 0700', async () => {
    const dataDir = join(tempDir(), 'data');
    const old = process.umask(0);
    try {
      mkdirSync(dataDir, { mode: 0o777 });
      await prepareDataDir(dataDir);
      // keyshare.yaml (PostgreSQL pass) is the operator's file, not the service's.
      const yaml = join(dataDir, 'keyshare.yaml');
      try {
        chmodSync(yaml, 0o600);
      } catch {
        // SQLite pass: no keyshare.yaml
      }
      await initDataDir({ dataDir });
      const instance = await openInstance({ dataDir });
      await instance.close();
    } finally {
      process.umask(old);
    }
    const found = modes(dataDir);
    expect(Object.keys(found).length).toBeGreaterThan(4);
    for (const [path, mode] of Object.entries(found)) {
      const isDir = lstatSync(join(dataDir, path)).isDirectory();
      expect(`${path} ${mode}`).toBe(`${path} ${isDir ? '700' : '600'}`);
    }
    expect(widerThanPrivate(dataDir)).toEqual([]);
  });

  it('serve warns about entries with wider modes', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'root.json'), '{}', { mode: 0o644 });
    chmodSync(join(dir, 'root.json'), 0o644);
    chmodSync(dir, 0o700);
    expect(widerThanPrivate(dir)).toEqual([{ path: join(dir, 'root.json'), mode: '0644' }]);
  });
});
