/**
 * Safe extraction of a bundle into a fresh directory, before anything is verified.
 *
 * Caps every size before parsing (STYLE.md "Security habits"): the archive file, the bytes
 * after decompression (a decompression bomb stops at the cap, never in memory), each file,
 * and the number of entries. Only regular files named `bundle.json` or `tuf/...` are
 * written; `..`, absolute paths and links are PATH_TRAVERSAL; devices, FIFOs and anything
 * else are BUNDLE_INVALID; so are duplicates, a stream that is not a tar, and an archive
 * without its end-of-archive marker (node-tar reads a cut archive as a shorter one).
 * Files are created with O_EXCL in a directory no one else writes, so nothing is ever
 * written outside it.
 */
import { closeSync, mkdirSync, openSync, readSync, statSync, writeSync } from 'node:fs';
import { createReadStream } from 'node:fs';
import { once } from 'node:events';
import { dirname, join, resolve, sep } from 'node:path';
import { createGunzip } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import { KeyshareError } from '../../service/errors.js';
import { BundleCodes, bundleError } from './errors.js';
import { BUNDLE_JSON, TUF_DIR } from './format.js';
import { SharedCodes } from '../../shared/errors.js';

export interface ExtractLimits {
  /** The archive file as given, compressed or not. */
  maxArchiveBytes: number;
  /** The tar stream after decompression: the decompression-bomb cap. */
  maxTotalBytes: number;
  maxFileBytes: number;
  maxFiles: number;
}

const MiB = 1024 * 1024;
export const DEFAULT_LIMITS: ExtractLimits = {
  maxArchiveBytes: 1024 * MiB,
  maxTotalBytes: 2048 * MiB,
  maxFileBytes: 64 * MiB,
  maxFiles: 250_000,
};

const GZIP = [0x1f, 0x8b];
/** Compressions we do not accept: zstd, xz, bzip2 (node-tar would decompress zstd unmetered). */
const OTHER_MAGIC: [string, number[]][] = [
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ['bzip2', [0x42, 0x5a, 0x68]],
];
const startsWith = (b: Uint8Array, magic: number[]) => magic.every((x, i) => b[i] === x);

const invalid = (m: string, cause?: unknown) => bundleError(BundleCodes.BUNDLE_INVALID, m, cause);
const tooLarge = (m: string) => bundleError(BundleCodes.BUNDLE_TOO_LARGE, m);
const traversal = (m: string) => bundleError(BundleCodes.PATH_TRAVERSAL, m);

/** The relative path to write an entry to, or null for a directory entry (directories are implied). */
export function checkEntry(type: string, rawPath: string): string | null {
  const shown = JSON.stringify(rawPath.slice(0, 200));
  if (type === 'SymbolicLink' || type === 'Link') throw traversal(`the bundle holds a link (${shown}); bundles hold regular files only`);
  const isFile = type === 'File' || type === 'OldFile' || type === 'ContiguousFile';
  if (!isFile && type !== 'Directory') throw invalid(`the bundle holds a ${type} entry (${shown}); bundles hold regular files only`);
  if (rawPath.length === 0 || rawPath.length > 4096 || rawPath.includes('\0')) throw invalid(`an entry has an unusable name (${shown})`);
  if (rawPath.startsWith('/') || rawPath.includes('\\') || /^[a-zA-Z]:/.test(rawPath)) throw traversal(`the entry ${shown} has an absolute path`);
  let parts = rawPath.split('/');
  if (parts[0] === '.') parts = parts.slice(1);
  if (type === 'Directory' && parts[parts.length - 1] === '') parts = parts.slice(0, -1);
  if (parts.includes('..')) throw traversal(`the entry ${shown} leaves the bundle ("..")`);
  if (parts.length === 0 && type === 'Directory') return null;
  if (parts.some((p) => p === '' || p === '.')) throw invalid(`the entry ${shown} is not a plain relative path`);
  const rel = parts.join('/');
  if (type === 'Directory') {
    if (rel !== TUF_DIR && !rel.startsWith(`${TUF_DIR}/`)) throw invalid(`unexpected directory ${shown} in the bundle`);
    return null;
  }
  if (rel !== BUNDLE_JSON && !rel.startsWith(`${TUF_DIR}/`)) throw invalid(`unexpected file ${shown}: a bundle holds bundle.json and tuf/ only`);
  return rel;
}

/** Extracts `file` into the empty directory `dest`; returns each file written with its size. */
export async function extractBundle(file: string, dest: string, limits: ExtractLimits = DEFAULT_LIMITS): Promise<Map<string, number>> {
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw invalid(`${file} is not a regular file`);
    size = st.size;
  } catch (e) {
    if (e instanceof KeyshareError) throw e;
    throw new KeyshareError(SharedCodes.FILE_NOT_READABLE, `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (size > limits.maxArchiveBytes) throw tooLarge(`the bundle is ${size} bytes; the limit is ${limits.maxArchiveBytes}`);
  const head = Buffer.alloc(8);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  for (const [name, magic] of OTHER_MAGIC) if (startsWith(head, magic)) throw invalid(`the bundle is ${name}-compressed; use a plain or gzip-compressed tar`);
  const gzip = startsWith(head, GZIP);

  const root = resolve(dest);
  const files = new Map<string, number>();
  const openFds = new Set<number>();
  let failure: unknown = null;
  const fail = (e: unknown) => {
    failure ??= e;
  };
  let sawEof = false;
  let count = 0;

  const onEntry = (entry: ReadEntry) => {
    if (failure) return void entry.resume();
    try {
      const rel = checkEntry(entry.type, entry.path);
      if (rel === null) return void entry.resume();
      if (++count > limits.maxFiles) throw tooLarge(`the bundle holds more than ${limits.maxFiles} files`);
      if (entry.size > limits.maxFileBytes) throw tooLarge(`${rel} is ${entry.size} bytes; the limit per file is ${limits.maxFileBytes}`);
      const target = join(root, rel);
      // Belt and braces: checkEntry already refused anything that could leave `root`.
      if (!target.startsWith(root + sep)) throw traversal(`the entry ${JSON.stringify(rel)} leaves the bundle`);
      let out: number;
      try {
        mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
        out = openSync(target, 'wx', 0o600);
      } catch (e) {
        throw invalid(`${rel} appears twice in the bundle, or clashes with a directory`, e);
      }
      openFds.add(out);
      let written = 0;
      entry.on('data', (chunk: Buffer) => {
        if (failure) return;
        written += chunk.length;
        if (written > limits.maxFileBytes) return fail(tooLarge(`${rel} is larger than the limit per file (${limits.maxFileBytes})`));
        writeSync(out, chunk);
      });
      entry.on('end', () => {
        closeSync(out);
        openFds.delete(out);
        if (written !== entry.size) return fail(invalid(`${rel} is cut short (the archive is truncated)`));
        files.set(rel, written);
      });
    } catch (e) {
      fail(e);
      entry.resume();
    }
  };

  const parser = new Parser({ strict: true, maxMetaEntrySize: 64 * 1024, onReadEntry: onEntry });
  parser.on('error', (e: Error) => fail(invalid(`not a valid tar archive: ${e.message}`, e)));
  parser.on('eof', () => (sawEof = true));
  const ended = new Promise<void>((res) => {
    parser.on('end', () => res());
    parser.on('close', () => res());
    parser.on('error', () => res());
  });

  const source = createReadStream(file);
  const stream = gzip ? source.pipe(createGunzip()) : source;
  if (gzip) source.on('error', (e) => stream.destroy(e));
  let total = 0;
  let first = true;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (first && gzip) {
        // A gzip inside the gzip would be decompressed by node-tar, past our meter.
        if (startsWith(chunk, GZIP) || OTHER_MAGIC.some(([, m]) => startsWith(chunk, m))) throw invalid('the bundle is compressed twice');
      }
      first = false;
      total += chunk.length;
      if (total > limits.maxTotalBytes) throw tooLarge(`the bundle expands to more than ${limits.maxTotalBytes} bytes (decompression bomb?)`);
      if (!parser.write(chunk)) await Promise.race([once(parser, 'drain'), ended]);
      if (failure || sawEof) break;
    }
  } catch (e) {
    fail(e instanceof KeyshareError ? e : invalid(`cannot read the bundle: ${(e as Error).message}`, e));
  } finally {
    source.destroy();
    if (stream !== source) stream.destroy();
  }
  if (!failure) {
    parser.end();
    await ended;
  }
  for (const fd of openFds) closeSync(fd);
  if (failure) throw failure;
  if (!sawEof) throw invalid('the archive is truncated: it has no end-of-archive marker');
  return files;
}
