/**
 * Fuzzing bundle archives (sync/bundle): tar edge cases through the importer's extraction
 * (links, devices, `..`, absolute and odd paths, duplicates, lying sizes, missing end
 * markers, gzip) and byte-level mutations of a valid bundle through the whole import.
 * Properties: extracted, or refused with BUNDLE_INVALID, BUNDLE_TOO_LARGE or PATH_TRAVERSAL;
 * nothing is ever written outside the scratch directory, and only regular files inside it;
 * an import is refused with a code and leaves the store as it was, or it verifies.
 */
import { existsSync, lstatSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../service/store/index.js';
import { extractBundle, type ExtractLimits } from '../../shared/bundle/extract.js';
import { importBundle } from '../support/federation.js';
import { cleanupTempDirs, tempDir } from '../support/service.js';
import { rawTar, type RawEntry } from '../sync/bundle/support.js';
import { bundleFrom } from '../attacks/support/consumers.js';
import { TestRepository } from '../attacks/support/repository.js';
import { dumpStore, mutated, outcome, runs } from './support.js';

afterAll(() => cleanupTempDirs());

const LIMITS: ExtractLimits = { maxArchiveBytes: 256 * 1024, maxTotalBytes: 512 * 1024, maxFileBytes: 64 * 1024, maxFiles: 50 };
const EXTRACT_CODES = ['ok', 'BUNDLE_INVALID', 'BUNDLE_TOO_LARGE', 'PATH_TRAVERSAL'];

const segment = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('tuf', 'targets', 'trust', '1.root.json', 'timestamp.json', 'bundle.json', 'x.json') },
  { weight: 2, arbitrary: fc.constantFrom('..', '.', '', ' ', '~', '\\', 'C:', '..\\..', '%2e%2e', 'a\u0000b', 'TUF', 'é', '\u202e') },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 1, arbitrary: fc.constant('a'.repeat(120)) },
);
const entryPath = fc.oneof(
  fc.array(segment, { minLength: 1, maxLength: 5 }).map((s) => s.join('/')),
  fc.array(segment, { minLength: 1, maxLength: 3 }).map((s) => `/${s.join('/')}`),
  fc.constantFrom('bundle.json', 'tuf/1.root.json', './tuf/x', 'tuf/', 'tuf//x', 'tuf/../../etc/passwd', '/etc/passwd'),
);
const entry: fc.Arbitrary<RawEntry> = fc.record(
  {
    path: entryPath,
    type: fc.constantFrom('File', 'File', 'File', 'Directory', 'SymbolicLink', 'Link', 'CharacterDevice', 'FIFO'),
    data: fc.oneof(fc.constant(''), fc.string({ maxLength: 64 }), fc.uint8Array({ maxLength: 700 }).map((b) => Buffer.from(b))),
    linkpath: fc.constantFrom('/etc/passwd', '../../x', 'tuf/1.root.json', undefined),
    size: fc.option(fc.nat(100_000), { nil: undefined }),
  },
  { requiredKeys: ['path'] },
);
const archive = fc
  .record({ entries: fc.array(entry, { maxLength: 6 }), endMarker: fc.boolean(), gzip: fc.boolean(), cut: fc.option(fc.nat(), { nil: undefined }) })
  .map(({ entries, endMarker, gzip, cut }) => {
    let tar: Buffer;
    try {
      tar = rawTar(entries, { endMarker });
    } catch {
      tar = Buffer.from('not a tar'); // a header node-tar cannot even encode
    }
    if (cut !== undefined) tar = tar.subarray(0, cut % (tar.length + 1));
    return gzip ? gzipSync(tar) : tar;
  });

/** Every entry under `dir`: what the extraction left on disk. */
function listing(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort() : [];
}

describe('extracting hostile tar archives', () => {
  it('extracts regular files inside the scratch directory only, or refuses with a bundle code', async () => {
    const root = tempDir('keyshare-fuzz-extract-');
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.oneof(archive, mutated([rawTar([{ path: 'bundle.json', data: '{}' }, { path: 'tuf/1.root.json', data: 'x'.repeat(600) }])])), async (bytes) => {
        const box = join(root, String(++n));
        mkdirSync(box);
        const file = join(box, 'in.tar');
        writeFileSync(file, bytes);
        const dest = join(box, 'out');
        let files: Map<string, number> | undefined;
        const r = await outcome(async () => {
          files = await extractBundle(file, dest, LIMITS);
        });
        expect(EXTRACT_CODES).toContain(r);
        // Nothing outside `out` (the archive aside), nothing but files and directories inside.
        expect(readdirSync(box).sort()).toEqual(existsSync(dest) ? ['in.tar', 'out'] : ['in.tar']);
        for (const p of listing(dest)) {
          const st = lstatSync(join(dest, p));
          expect(st.isFile() || st.isDirectory(), p).toBe(true);
        }
        if (r === 'ok') {
          for (const [rel, size] of files!) {
            expect(rel === 'bundle.json' || rel.startsWith('tuf/'), rel).toBe(true);
            expect(lstatSync(join(dest, rel)).size).toBe(size);
          }
        }
      }),
      runs(400),
    );
    // The scratch root holds only the per-case boxes: nothing escaped through `..` or a link.
    expect(readdirSync(root).every((d) => /^\d+$/.test(d))).toBe(true);
  });
});

describe('importing mutated bundles', () => {
  it('imports a bundle that still verifies, or refuses it with a code and changes nothing', async () => {
    const repo = TestRepository.create();
    const good = bundleFrom(repo.files);
    const dir = tempDir('keyshare-fuzz-import-');
    const store = SqliteStore.memory();
    let n = 0;
    try {
      await fc.assert(
        fc.asyncProperty(fc.oneof(mutated([good]), mutated([gzipSync(good)])), async (bytes) => {
          const file = join(dir, `${++n}.tar`);
          writeFileSync(file, bytes);
          const before = await dumpStore(store);
          const r = await outcome(() => importBundle({ file, root: repo.root(1), store, tmpDir: dir, limits: LIMITS }));
          if (r !== 'ok') expect(await dumpStore(store), `refused with ${r}: nothing stored`).toEqual(before);
        }),
        runs(150),
      );
    } finally {
      await store.close();
    }
    // Every scratch directory was removed, refused or not.
    expect(readdirSync(dir).every((f) => f.endsWith('.tar'))).toBe(true);
  });
});
