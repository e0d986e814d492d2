/**
 * `mkdir -p` for directories a user names (--data, --cache, --out): Node 20's recursive
 * mkdirSync never returns when mkdir answers ENOENT under a parent that exists (`/proc/x`:
 * libuv's mkdirp makes the parent and tries again, forever). This makes each missing
 * component in turn, so such a path fails at once with its mkdir's error (ENOENT, EACCES ...),
 * which the CLI turns into a coded error (cli/errors.ts).
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmdirSync, unlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export function makeDirs(dir: string, mode?: number): void {
  const missing: string[] = [];
  for (let d = resolve(dir); !existsSync(d); d = dirname(d)) {
    missing.unshift(d);
    if (dirname(d) === d) break;
  }
  for (const d of missing) {
    try {
      mkdirSync(d, mode === undefined ? {} : { mode });
    } catch (e) {
      // Made by someone else in the meantime: as good as made here.
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}

const ignoreMissing = (e: unknown) => {
  if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
};

/**
 * `rm -f` of one file. Node 20's fs.rmSync loads and runs its JavaScript rimraf for any path,
 * a start-up cost that `keyshare fetch` pays on every run otherwise (issue 25, bench B5).
 */
export function removeFile(path: string): void {
  try {
    unlinkSync(path);
  } catch (e) {
    ignoreMissing(e);
  }
}

/** `rm -rf` of a directory of keyshare's own making (no symlinks followed: each entry is unlinked or, a directory, emptied first). */
export function removeTree(dir: string): void {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    return ignoreMissing(e);
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) removeTree(path);
    else removeFile(path);
  }
  try {
    rmdirSync(dir);
  } catch (e) {
    ignoreMissing(e);
  }
}

/** Copies the files directly in `from` into `to` (made if missing), without node's fs.cpSync (loaded on first use, issue 25). */
export function copyFiles(from: string, to: string, mode = 0o700): void {
  mkdirSync(to, { recursive: true, mode });
  for (const entry of readdirSync(from, { withFileTypes: true })) if (entry.isFile()) copyFileSync(join(from, entry.name), join(to, entry.name));
}
