/**
 * The one safe tar extractor (issue 22: bundles, the OCI bundle artifact and backups share it).
 * It runs before anything in the archive is verified, so it trusts nothing.
 *
 * Caps every size before parsing (STYLE.md "Security habits"): the archive file, the bytes
 * after decompression (a decompression bomb stops at the cap, never in memory), each file,
 * and the number of entries. Only regular files the caller's rules name are written; `..`,
 * absolute paths and links are refused as traversal; devices, FIFOs and anything else, a
 * duplicate, a stream that is not a tar, a compression other than gzip, a gzip inside the
 * gzip, and an archive without its end-of-archive marker (node-tar reads a cut archive as a
 * shorter one) as invalid. Files are created with O_EXCL in a directory no one else writes,
 * so nothing is ever written outside it.
 */
import { closeSync, createReadStream, mkdirSync, openSync, readSync, statSync, writeSync } from 'node:fs';
import { once } from 'node:events';
import { dirname, join, resolve, sep } from 'node:path';
import { createGunzip } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import { KeyshareError, SharedCodes } from './errors.js';

export interface TarLimits {
  /** The archive file as given, compressed or not. */
  maxArchiveBytes: number;
  /** The tar stream after decompression: the decompression-bomb cap. */
  maxTotalBytes: number;
  maxFiles: number;
}

/** What one kind of archive may hold, and the errors it answers with. */
export interface TarRules {
  /** The archive's name in messages: "bundle", "backup". */
  what: string;
  limits: TarLimits;
  /** The size cap of a file at `rel`; throws (through `errors`) for a file the archive may not hold. */
  fileCap(rel: string): number;
  /** Whether a directory entry at `rel` may appear (directories are implied; nothing is written for one). */
  directoryAllowed(rel: string): boolean;
  errors: {
    invalid(message: string, cause?: unknown): KeyshareError;
    tooLarge(message: string): KeyshareError;
    traversal(message: string): KeyshareError;
  };
}

const GZIP = [0x1f, 0x8b];
/** Compressions we do not accept: zstd, xz, bzip2 (node-tar would decompress zstd unmetered). */
const OTHER_MAGIC: [string, number[]][] = [
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ['bzip2', [0x42, 0x5a, 0x68]],
];
const startsWith = (b: Uint8Array, magic: number[]) => magic.every((x, i) => b[i] === x);

/** The relative path to write an entry to, or null for a directory entry. */
export function checkEntry(type: string, rawPath: string, rules: TarRules): string | null {
  const { what, errors } = rules;
  const shown = JSON.stringify(rawPath.slice(0, 200));
  if (type === 'SymbolicLink' || type === 'Link') throw errors.traversal(`the ${what} holds a link (${shown}); ${what}s hold regular files only`);
  const isFile = type === 'File' || type === 'OldFile' || type === 'ContiguousFile';
  if (!isFile && type !== 'Directory') throw errors.invalid(`the ${what} holds a ${type} entry (${shown}); ${what}s hold regular files only`);
  if (rawPath.length === 0 || rawPath.length > 4096 || rawPath.includes('\0')) throw errors.invalid(`an entry has an unusable name (${shown})`);
  if (rawPath.startsWith('/') || rawPath.includes('\\') || /^[a-zA-Z]:/.test(rawPath)) throw errors.traversal(`the entry ${shown} has an absolute path`);
  let parts = rawPath.split('/');
  if (parts[0] === '.') parts = parts.slice(1);
  if (type === 'Directory' && parts[parts.length - 1] === '') parts = parts.slice(0, -1);
  if (parts.includes('..')) throw errors.traversal(`the entry ${shown} leaves the ${what} ("..")`);
  if (parts.length === 0 && type === 'Directory') return null;
  if (parts.some((p) => p === '' || p === '.')) throw errors.invalid(`the entry ${shown} is not a plain relative path`);
  const rel = parts.join('/');
  if (type === 'Directory') {
    if (!rules.directoryAllowed(rel)) throw errors.invalid(`unexpected directory ${shown} in the ${what}`);
    return null;
  }
  return rel;
}

/** The archive's size, checked against the limit before anything is read. */
function archiveSize(file: string, rules: TarRules): number {
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw rules.errors.invalid(`${file} is not a regular file`);
    size = st.size;
  } catch (e) {
    if (e instanceof KeyshareError) throw e;
    throw new KeyshareError(SharedCodes.FILE_NOT_READABLE, `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (size > rules.limits.maxArchiveBytes) throw rules.errors.tooLarge(`the ${rules.what} is ${size} bytes; the limit is ${rules.limits.maxArchiveBytes}`);
  return size;
}

/** Whether the archive is gzip-compressed; other compressions are refused. */
function isGzip(file: string, rules: TarRules): boolean {
  const head = Buffer.alloc(8);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  for (const [name, magic] of OTHER_MAGIC) {
    if (startsWith(head, magic)) throw rules.errors.invalid(`the ${rules.what} is ${name}-compressed; use a plain or gzip-compressed tar`);
  }
  return startsWith(head, GZIP);
}

/** Extracts `file` into the empty directory `dest`; returns each file written with its size. */
export async function extractTar(file: string, dest: string, rules: TarRules): Promise<Map<string, number>> {
  const { what, limits, errors } = rules;
  archiveSize(file, rules);
  const gzip = isGzip(file, rules);

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
      const rel = checkEntry(entry.type, entry.path, rules);
      if (rel === null) return void entry.resume();
      const cap = rules.fileCap(rel);
      if (++count > limits.maxFiles) throw errors.tooLarge(`the ${what} holds more than ${limits.maxFiles} files`);
      if (entry.size > cap) throw errors.tooLarge(`${rel} is ${entry.size} bytes; the limit for it is ${cap}`);
      const target = join(root, rel);
      // Belt and braces: checkEntry already refused anything that could leave `root`.
      if (!target.startsWith(root + sep)) throw errors.traversal(`the entry ${JSON.stringify(rel)} leaves the ${what}`);
      let out: number;
      try {
        mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
        out = openSync(target, 'wx', 0o600);
      } catch (e) {
        throw errors.invalid(`${rel} appears twice in the ${what}, or clashes with a directory`, e);
      }
      openFds.add(out);
      let written = 0;
      entry.on('data', (chunk: Buffer) => {
        if (failure) return;
        written += chunk.length;
        if (written > cap) return fail(errors.tooLarge(`${rel} is larger than its limit (${cap})`));
        writeSync(out, chunk);
      });
      entry.on('end', () => {
        closeSync(out);
        openFds.delete(out);
        if (written !== entry.size) return fail(errors.invalid(`${rel} is cut short (the archive is truncated)`));
        files.set(rel, written);
      });
    } catch (e) {
      fail(e);
      entry.resume();
    }
  };

  const parser = new Parser({ strict: true, maxMetaEntrySize: 64 * 1024, onReadEntry: onEntry });
  parser.on('error', (e: Error) => fail(errors.invalid(`not a valid tar archive: ${e.message}`, e)));
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
        if (startsWith(chunk, GZIP) || OTHER_MAGIC.some(([, m]) => startsWith(chunk, m))) throw errors.invalid(`the ${what} is compressed twice`);
      }
      first = false;
      total += chunk.length;
      if (total > limits.maxTotalBytes) throw errors.tooLarge(`the ${what} expands to more than ${limits.maxTotalBytes} bytes (decompression bomb?)`);
      if (!parser.write(chunk)) await Promise.race([once(parser, 'drain'), ended]);
      if (failure || sawEof) break;
    }
  } catch (e) {
    fail(e instanceof KeyshareError ? e : errors.invalid(`cannot read the ${what}: ${(e as Error).message}`, e));
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
  if (!sawEof) throw errors.invalid('the archive is truncated: it has no end-of-archive marker');
  return files;
}
