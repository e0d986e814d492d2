/**
 * Writing notation's CRL cache (`fetch --format notation --notation-crl-cache DIR`): the
 * entries from sync/formats/notation-crl-cache.ts go into `DIR/crl`, DIR being notation's cache
 * dir ({NOTATION_CACHE}, e.g. ~/.cache/notation). Only verified CRL bytes reach here (the
 * caller fetched them as TUF targets).
 *
 * Each entry is written to a temporary file in the same directory and renamed over its name,
 * as notation does itself, so that a concurrent `notation verify` reads the old entry or the
 * new one. Rename replaces a symlink at that name rather than following it: only regular files
 * are written. An entry that is newer than ours (a CRL notation downloaded since) stays.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, lstatSync, mkdirSync, openSync, readSync, renameSync, rmSync, writeFileSync, constants } from 'node:fs';
import { join, resolve } from 'node:path';
import { KeyshareError } from '../../shared/errors.js';
import { makeDirs } from '../../shared/fs.js';
import { NOTATION_CRL_CACHE, notationCrlCacheDecision, type NotationCrlCacheAction, type NotationCrlCacheEntry } from '../formats/notation-crl-cache.js';
import { FetchCodes } from './errors.js';

/** An existing entry larger than this is not read (STYLE.md: cap what is read); ours replaces it. */
const MAX_ENTRY_BYTES = 128 * 1024 * 1024;

export interface SeededEntry {
  url: string;
  file: string;
  issuer: string;
  action: NotationCrlCacheAction;
}

function invalid(message: string): KeyshareError {
  return new KeyshareError(FetchCodes.CRL_CACHE_INVALID, message);
}

/** `{cacheRoot}/crl`, checked: absent (it will be created) or a real directory, not a link. */
export function notationCrlDir(cacheRoot: string): string {
  const dir = join(resolve(cacheRoot), NOTATION_CRL_CACHE.subdir);
  for (const path of [resolve(cacheRoot), dir]) {
    let st;
    try {
      st = lstatSync(path);
    } catch {
      continue;
    }
    if (!st.isDirectory()) throw invalid(`${path} exists and is not a directory (a symlink is not followed)`);
  }
  return dir;
}

/** The bytes of a regular file at `path`, or null when there is none (or it is not a regular file, or too large). */
function readEntry(path: string): Uint8Array | null {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return null;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.size > MAX_ENTRY_BYTES) return null;
    const buf = Buffer.alloc(st.size);
    let off = 0;
    while (off < st.size) {
      const n = readSync(fd, buf, off, st.size - off, off);
      if (n === 0) break;
      off += n;
    }
    return buf.subarray(0, off);
  } finally {
    closeSync(fd);
  }
}

/** Writes the entries into `{cacheRoot}/crl`; returns what was done with each. */
export function seedNotationCrlCache(cacheRoot: string, entries: NotationCrlCacheEntry[]): { dir: string; entries: SeededEntry[] } {
  const dir = notationCrlDir(cacheRoot);
  // notation creates its cache dir 0700 (notation-go NewFileCache).
  makeDirs(dir, 0o700);
  const done: SeededEntry[] = [];
  for (const e of entries) {
    const target = join(dir, e.file);
    const decision = notationCrlCacheDecision(readEntry(target), e.der);
    if (decision !== 'write') {
      done.push({ url: e.url, file: e.file, issuer: e.issuer, action: decision });
      continue;
    }
    const tmp = join(dir, `.keyshare-${randomBytes(6).toString('hex')}.tmp`);
    try {
      writeFileSync(tmp, e.content, { mode: 0o600, flag: 'wx' });
      renameSync(tmp, target);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw invalid(`cannot write ${target}: ${(err as Error).message}`);
    }
    done.push({ url: e.url, file: e.file, issuer: e.issuer, action: 'written' });
  }
  return { dir, entries: done };
}
