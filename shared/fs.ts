/**
 * `mkdir -p` for directories a user names (--data, --cache, --out): Node 20's recursive
 * mkdirSync never returns when mkdir answers ENOENT under a parent that exists (`/proc/x`:
 * libuv's mkdirp makes the parent and tries again, forever). This makes each missing
 * component in turn, so such a path fails at once with its mkdir's error (ENOENT, EACCES ...),
 * which the CLI turns into a coded error (cli/errors.ts).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

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
