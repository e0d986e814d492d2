/**
 * Files and directories that only the service's user may read: 0600 files and 0700
 * directories whatever the umask (issue 16, finding 8; STYLE.md "Private keys at rest are
 * 0600"). The one place that creates them: the data dir, its keys, its database, root.json,
 * admin.token, and backups; and the client's log state (sync/client/log-state.ts).
 */
import { chmodSync, closeSync, fchmodSync, lstatSync, openSync, readdirSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { makeDirs } from './fs.js';

export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_DIR_MODE = 0o700;

/** Creates `dir` (and missing parents) and makes it 0700. */
export function makePrivateDir(dir: string): void {
  makeDirs(dir, PRIVATE_DIR_MODE);
  chmodSync(dir, PRIVATE_DIR_MODE);
}

/** Writes `path` as a 0600 file (fchmod after open: an existing file keeps no wider mode). `wx` refuses an existing file. */
export function writePrivateFile(path: string, data: string | Uint8Array, flag: 'w' | 'wx' = 'w'): void {
  const fd = openSync(path, flag, PRIVATE_FILE_MODE);
  try {
    fchmodSync(fd, PRIVATE_FILE_MODE);
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at);
  } finally {
    closeSync(fd);
  }
}

/** Atomic 0600 write: a temporary sibling, then rename (readers see the old file or the new one). */
export function writePrivateFileAtomic(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writePrivateFile(tmp, data);
  renameSync(tmp, path);
}

/** Makes sure `path` exists as a 0600 file, e.g. before SQLite opens it (its -wal and -shm files then get the same mode). */
export function ensurePrivateFile(path: string): void {
  const fd = openSync(path, 'a', PRIVATE_FILE_MODE);
  try {
    fchmodSync(fd, PRIVATE_FILE_MODE);
  } finally {
    closeSync(fd);
  }
}

/** Entries under `dir` (itself included, symlinks not followed) that group or others may use: for `serve` to warn about. */
export function widerThanPrivate(dir: string, depth = 3): { path: string; mode: string }[] {
  const out: { path: string; mode: string }[] = [];
  const walk = (p: string, level: number) => {
    let st;
    try {
      st = lstatSync(p);
    } catch {
      return;
    }
    if (st.isSymbolicLink()) return;
    if (st.mode & 0o077) out.push({ path: p, mode: (st.mode & 0o777).toString(8).padStart(4, '0') });
    if (st.isDirectory() && level < depth) for (const name of readdirSync(p)) walk(join(p, name), level + 1);
  };
  walk(dir, 0);
  return out;
}
