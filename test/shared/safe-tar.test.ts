/**
 * The one safe tar extractor (shared/safe-tar.ts) under a caller's rules, as backups use it: a
 * cap per file name, the directories allowed, and the caller's error codes. Bundles' refusals
 * are test/sync/bundle/extract.test.ts.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KeyshareError } from '../../shared/errors.js';
import { extractTar, type TarRules } from '../../shared/safe-tar.js';
import { cleanupTempDirs, tempDir } from '../support/service.js';
import { gzip, rawTar, type RawEntry } from '../sync/bundle/support.js';

afterAll(cleanupTempDirs);

const rules: TarRules = {
  what: 'archive',
  limits: { maxArchiveBytes: 1 << 20, maxTotalBytes: 1 << 20, maxFiles: 10 },
  fileCap(rel) {
    if (rel === 'big.db') return 4096;
    if (rel === 'small.json' || rel.startsWith('keys/')) return 16;
    throw new KeyshareError('X_INVALID', `unexpected ${rel}`);
  },
  directoryAllowed: (rel) => rel === 'keys',
  errors: {
    invalid: (m, cause) => new KeyshareError('X_INVALID', m, { cause }),
    tooLarge: (m) => new KeyshareError('X_TOO_LARGE', m),
    traversal: (m) => new KeyshareError('X_TRAVERSAL', m),
  },
};

async function run(entries: RawEntry[], wrap: (b: Buffer) => Buffer = (b) => b) {
  const dir = tempDir('keyshare-safe-tar-');
  const file = join(dir, 'a.tar');
  writeFileSync(file, wrap(rawTar(entries)));
  const dest = join(dir, 'out');
  try {
    return { files: await extractTar(file, dest, rules), dir };
  } catch (e) {
    return { code: (e as KeyshareError).code, dir };
  }
}

describe('extractTar under the caller rules', () => {
  it('writes the files the rules name, each under its own cap, in the directories they allow', async () => {
    const r = await run([{ path: 'keys/', type: 'Directory' }, { path: 'keys/k1', data: 'k' }, { path: 'big.db', data: 'd'.repeat(4096) }, { path: 'small.json', data: '{}' }], gzip);
    expect(r.code).toBeUndefined();
    expect(Object.fromEntries(r.files!)).toEqual({ 'keys/k1': 1, 'big.db': 4096, 'small.json': 2 });
  });

  it('refuses a file over its own cap, though another name may be larger', async () => {
    expect((await run([{ path: 'small.json', data: 'x'.repeat(17) }])).code).toBe('X_TOO_LARGE');
  });

  it('refuses what the rules do not name, and directories they do not allow', async () => {
    expect((await run([{ path: 'other', data: '1' }])).code).toBe('X_INVALID');
    expect((await run([{ path: 'tuf/', type: 'Directory' }])).code).toBe('X_INVALID');
  });

  it('refuses links and escapes with the traversal error, before anything is written outside', async () => {
    const link = await run([{ path: 'small.json', type: 'SymbolicLink', linkpath: '/etc/passwd' }]);
    expect(link.code).toBe('X_TRAVERSAL');
    const up = await run([{ path: 'keys/../../evil', data: 'x' }]);
    expect(up.code).toBe('X_TRAVERSAL');
    expect(existsSync(join(up.dir, 'evil'))).toBe(false);
  });

  it('refuses a gzip inside the gzip, and more files than the limit', async () => {
    expect((await run([{ path: 'small.json', data: '{}' }], (b) => gzip(gzip(b)))).code).toBe('X_INVALID');
    const many = Array.from({ length: 11 }, (_, i) => ({ path: `keys/k${i}`, data: 'k' }));
    expect((await run(many)).code).toBe('X_TOO_LARGE');
  });
});
