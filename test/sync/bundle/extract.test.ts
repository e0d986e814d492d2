/**
 * Safe extraction (shared/bundle/extract.ts): limits, path traversal, links and devices, archives
 * that are not tars or are cut short, and decompression bombs. Nothing is written outside the
 * destination, whatever the archive says.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createGzip } from 'node:zlib';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { afterAll, describe, expect, it } from 'vitest';
import { Header } from 'tar';
import { DEFAULT_LIMITS, extractBundle, type ExtractLimits } from '../../../shared/bundle/extract.js';
import { cleanupTempDirs, tempDir } from '../../support/service.js';
import { gzip, rawTar, type RawEntry } from './support.js';

afterAll(cleanupTempDirs);

async function extract(archive: Buffer, limits: Partial<ExtractLimits> = {}) {
  const dir = tempDir('keyshare-extract-');
  const file = join(dir, 'bundle.tar');
  writeFileSync(file, archive);
  const dest = join(dir, 'out', 'bundle');
  const files = await extractBundle(file, dest, { ...DEFAULT_LIMITS, ...limits });
  return { dir, dest, files };
}

async function refusal(archive: Buffer, limits: Partial<ExtractLimits> = {}): Promise<{ code: string; dir: string }> {
  const dir = tempDir('keyshare-extract-');
  const file = join(dir, 'bundle.tar');
  writeFileSync(file, archive);
  const dest = join(dir, 'out', 'bundle');
  try {
    await extractBundle(file, dest, { ...DEFAULT_LIMITS, ...limits });
  } catch (e) {
    return { code: (e as { code: string }).code, dir };
  }
  throw new Error('the archive was accepted');
}

const ok: RawEntry[] = [
  { path: 'bundle.json', data: '{}' },
  { path: 'tuf/', type: 'Directory' },
  { path: 'tuf/1.root.json', data: '{"signed":{}}' },
  { path: 'tuf/targets/trust/registry.acme.io/' + 'a'.repeat(64) + '.team-a.json', data: 'x'.repeat(1000) },
];

describe('extracting a well-formed bundle', () => {
  it('writes its regular files, plain or gzip-compressed', async () => {
    for (const archive of [rawTar(ok), gzip(rawTar(ok))]) {
      const { dest, files } = await extract(archive);
      expect([...files.keys()].sort()).toEqual(['bundle.json', 'tuf/1.root.json', ok[3]!.path].sort());
      expect(readFileSync(join(dest, ok[3]!.path), 'utf8')).toBe('x'.repeat(1000));
    }
  });
});

describe('when an entry tries to leave the bundle', () => {
  it.each([
    ['a .. path', { path: '../evil.json', data: 'pwned' }],
    ['a .. inside the path', { path: 'tuf/../../evil.json', data: 'pwned' }],
    ['an absolute path', { path: '/tmp/keyshare-evil.json', data: 'pwned' }],
    ['a symbolic link', { path: 'tuf/link', type: 'SymbolicLink', linkpath: '/etc/passwd' }],
    ['a hard link', { path: 'tuf/hard', type: 'Link', linkpath: 'bundle.json' }],
    ['a backslash path', { path: '..\\evil.json', data: 'pwned' }],
  ] as [string, RawEntry][])('refuses %s with PATH_TRAVERSAL and writes nothing outside', async (_what, entry) => {
    const { code, dir } = await refusal(rawTar([ok[0]!, entry, ok[2]!]));
    expect(code).toBe('PATH_TRAVERSAL');
    expect(existsSync(join(dir, 'evil.json'))).toBe(false);
    expect(existsSync(join(dir, 'out', 'evil.json'))).toBe(false);
    expect(existsSync('/tmp/keyshare-evil.json')).toBe(false);
  });
});

describe('when an entry is not a regular file or is out of place', () => {
  it.each([
    ['a character device', { path: 'tuf/dev', type: 'CharacterDevice' }],
    ['a FIFO', { path: 'tuf/fifo', type: 'FIFO' }],
    ['a file outside tuf/', { path: 'notes.txt', data: 'hi' }],
    ['a duplicate entry', { path: 'bundle.json', data: '{"again":1}' }],
  ] as [string, RawEntry][])('refuses %s with BUNDLE_INVALID', async (_what, entry) => {
    expect((await refusal(rawTar([ok[0]!, entry]))).code).toBe('BUNDLE_INVALID');
  });
});

describe('when the archive is not a tar, or is cut short', () => {
  it('refuses text with BUNDLE_INVALID', async () => {
    expect((await refusal(Buffer.from('this is not a tar archive\n'.repeat(100)))).code).toBe('BUNDLE_INVALID');
  });
  it('refuses random bytes, gzip-compressed, with BUNDLE_INVALID', async () => {
    expect((await refusal(gzip(Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251))))).code).toBe('BUNDLE_INVALID');
  });
  it('refuses an empty file with BUNDLE_INVALID', async () => {
    expect((await refusal(Buffer.alloc(0))).code).toBe('BUNDLE_INVALID');
  });
  it('refuses a tar cut in the middle of a file, or between entries, with BUNDLE_INVALID', async () => {
    const tar = rawTar(ok);
    for (const cut of [700, 1100, 1536, tar.length - 1024]) {
      expect((await refusal(tar.subarray(0, cut))).code, `cut at ${cut}`).toBe('BUNDLE_INVALID');
    }
  });
  it('refuses a truncated gzip with BUNDLE_INVALID', async () => {
    const gz = gzip(rawTar(ok));
    expect((await refusal(gz.subarray(0, gz.length - 20))).code).toBe('BUNDLE_INVALID');
  });
  it('refuses a gzip inside a gzip with BUNDLE_INVALID', async () => {
    expect((await refusal(gzip(gzip(rawTar(ok))))).code).toBe('BUNDLE_INVALID');
  });
});

describe('when the archive is over a limit', () => {
  it('refuses a decompression bomb at the cap, with BUNDLE_TOO_LARGE', async () => {
    // 64 MiB of zeros behind tar headers, a few tens of KiB on disk: stopped at 8 MiB.
    const dir = tempDir('keyshare-bomb-');
    const file = join(dir, 'bomb.tar.gz');
    const gz = createGzip({ level: 9 });
    const out = createWriteStream(file);
    gz.pipe(out);
    const zeros = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < 16; i++) {
      const h = new Header({ path: `tuf/zeros-${i}`, type: 'File', size: 4 * zeros.length, mode: 0o644, mtime: new Date(0) });
      h.encode();
      gz.write(h.block!);
      for (let j = 0; j < 4; j++) gz.write(zeros);
    }
    gz.end(Buffer.alloc(1024));
    await once(out, 'close');
    expect(readFileSync(file).length).toBeLessThan(200_000);
    let code = '';
    try {
      await extractBundle(file, join(dir, 'out'), { ...DEFAULT_LIMITS, maxTotalBytes: 8 * 1024 * 1024 });
    } catch (e) {
      code = (e as { code: string }).code;
    }
    expect(code).toBe('BUNDLE_TOO_LARGE');
    // It stopped early: far less than 64 MiB reached the disk.
    const written = readdirSync(join(dir, 'out', 'tuf')).length;
    expect(written).toBeLessThanOrEqual(3);
  });
  it('refuses too many files, a file over the per-file limit, and an archive over the size limit', async () => {
    expect((await refusal(rawTar(ok), { maxFiles: 2 })).code).toBe('BUNDLE_TOO_LARGE');
    expect((await refusal(rawTar(ok), { maxFileBytes: 500 })).code).toBe('BUNDLE_TOO_LARGE');
    expect((await refusal(rawTar(ok), { maxArchiveBytes: 1000 })).code).toBe('BUNDLE_TOO_LARGE');
  });
});
