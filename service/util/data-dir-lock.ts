/**
 * One `serve` per data dir (issue 24 row 14): `<data>/serve.lock`, created exclusively (O_EXCL)
 * and holding the owner's pid. A lock whose pid no longer runs (a crash, kill -9) is stale and
 * taken over; so is one naming this very pid (a restarted container where the service is pid 1).
 */
import { openSync, readFileSync, unlinkSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { makeDirs } from '../../shared/fs.js';
import { KeyshareError, Codes } from '../errors.js';

export const lockPath = (dataDir: string) => join(dataDir, 'serve.lock');

function running(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the data dir's lock (creating the dir) or throws DATA_DIR_LOCKED; returns its release. */
export function lockDataDir(dataDir: string): () => void {
  makeDirs(dataDir, 0o700);
  const path = lockPath(dataDir);
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw e;
      const owner = Number(readFileSync(path, 'utf8').trim());
      if (running(owner)) {
        throw new KeyshareError(Codes.DATA_DIR_LOCKED, `${dataDir} is in use by another keyshare serve (pid ${owner}); stop it first, or give this one another --data`);
      }
      unlinkSync(path); // stale: its owner is gone
    }
  }
  return () => {
    try {
      if (Number(readFileSync(path, 'utf8').trim()) === process.pid) unlinkSync(path);
    } catch {
      // already gone
    }
  };
}
