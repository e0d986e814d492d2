/** writeOutDir: --out replaced as a whole by rename, or left exactly as it was. */
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isKeyshareError } from '../../../service/errors.js';
import { writeOutDir } from '../../../sync/client/index.js';
import { cleanupTempDirs, tempDir } from '../../support/service.js';
import { treeSnapshot } from './support.js';

afterAll(() => cleanupTempDirs());

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (isKeyshareError(e)) return e.code;
    throw e;
  }
  throw new Error('expected a refusal');
}

describe('when --out does not exist', () => {
  it('creates it with the files, readable by other users, and nothing beside it', () => {
    const parent = tempDir();
    const out = writeOutDir(join(parent, 'out'), [
      { path: 'policy.json', content: '{}\n' },
      { path: 'keys/a.gpg', content: new Uint8Array([1, 2, 3]) },
    ]);
    expect(readdirSync(parent)).toEqual(['out']);
    expect(treeSnapshot(out)).toEqual({ keys: 'dir', 'keys/a.gpg': expect.any(String), 'policy.json': expect.any(String) });
    expect(statSync(out).mode & 0o777).toBe(0o755);
    expect(statSync(join(out, 'policy.json')).mode & 0o777).toBe(0o644);
  });
});

describe('when --out holds an earlier fetch', () => {
  it('replaces it as a whole: files no longer written are gone', () => {
    const out = join(tempDir(), 'out');
    writeOutDir(out, [{ path: 'old.pem', content: 'old' }, { path: 'policy.json', content: '1' }]);
    writeOutDir(out, [{ path: 'policy.json', content: '2' }]);
    expect(readdirSync(out)).toEqual(['policy.json']);
    expect(readFileSync(join(out, 'policy.json'), 'utf8')).toBe('2');
  });

  it('leaves it untouched when a file cannot be written, and removes the staging dir', () => {
    const parent = tempDir();
    const out = join(parent, 'out');
    writeOutDir(out, [{ path: 'policy.json', content: '1' }]);
    const before = treeSnapshot(out);
    expect(codeOf(() => writeOutDir(out, [{ path: 'policy.json', content: '2' }, { path: '../escape.json', content: 'x' }]))).toBe('OUT_INVALID');
    expect(treeSnapshot(out)).toEqual(before);
    expect(readdirSync(parent)).toEqual(['out']);
  });
});

describe('when --out is not ours to replace', () => {
  it('refuses a directory with files fetch does not write', () => {
    const out = tempDir();
    writeFileSync(join(out, 'registries.conf'), 'x');
    mkdirSync(join(out, 'localkeys'));
    expect(codeOf(() => writeOutDir(out, [{ path: 'policy.json', content: '{}' }]))).toBe('OUT_INVALID');
    expect(readdirSync(out).sort()).toEqual(['localkeys', 'registries.conf']);
  });

  it('refuses a file', () => {
    const file = join(tempDir(), 'out');
    writeFileSync(file, 'x');
    expect(codeOf(() => writeOutDir(file, []))).toBe('OUT_INVALID');
    expect(readFileSync(file, 'utf8')).toBe('x');
  });
});
