/**
 * Writing --out: every file goes into a temporary sibling directory, which then replaces --out
 * by rename. The old --out stays until the new one is in place, so readers see the old files
 * or the new ones, never a mix (between the two renames the path is briefly absent: POSIX has
 * no atomic exchange of two directories). A fetch that fails never gets here.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { KeyshareError } from '../../service/errors.js';
import type { OutputFile } from '../formats/index.js';
import { FetchCodes } from './errors.js';

/**
 * Top-level names a fetch writes (notation: truststore/, trustpolicy*.json; containers:
 * policy.json, keys/, registries.d/; pem: *.pem; json: *.json). An existing --out holding
 * anything else is refused rather than replaced: `--out /etc/containers` must not wipe
 * registries.conf.
 */
const OURS = /^(truststore|keys|registries\.d|[^/]+\.json|[^/]+\.pem)$/;

function outInvalid(message: string): KeyshareError {
  return new KeyshareError(FetchCodes.OUT_INVALID, message);
}

/** Checks that `out` may be replaced: absent, or a directory of files a fetch writes. */
export function checkOutDir(out: string): void {
  let st;
  try {
    st = lstatSync(out);
  } catch {
    return;
  }
  if (!st.isDirectory()) throw outInvalid(`${out} exists and is not a directory`);
  const foreign = readdirSync(out).filter((name) => !OURS.test(name));
  if (foreign.length > 0) {
    throw outInvalid(`refusing to replace ${out}: it holds ${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', ...' : ''}, which keyshare fetch does not write; use a directory of its own`);
  }
}

function safePath(root: string, relative: string): string {
  const parts = relative.split('/');
  if (relative === '' || relative.startsWith('/') || parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw outInvalid(`refusing to write the path ${JSON.stringify(relative)}`);
  }
  return join(root, ...parts);
}

/** Replaces `outDir` with exactly `files`. Returns the absolute path written. */
export function writeOutDir(outDir: string, files: OutputFile[]): string {
  const out = resolve(outDir);
  checkOutDir(out);
  const parent = dirname(out);
  mkdirSync(parent, { recursive: true });
  const stage = mkdtempSync(join(parent, `.${basename(out)}.new-`));
  try {
    for (const f of files) {
      const target = safePath(stage, f.path);
      mkdirSync(dirname(target), { recursive: true, mode: 0o755 });
      // Regular files only (notation: no symlinks); `wx` never follows an existing link.
      writeFileSync(target, f.content, { mode: f.mode ?? 0o644, flag: 'wx' });
    }
    chmodSync(stage, 0o755);
  } catch (e) {
    rmSync(stage, { recursive: true, force: true });
    throw e instanceof KeyshareError ? e : outInvalid(`cannot write ${out}: ${(e as Error).message}`);
  }
  swap(stage, out);
  return out;
}

function swap(stage: string, out: string): void {
  const old = join(dirname(out), `.${basename(out)}.old-${randomBytes(4).toString('hex')}`);
  let moved = false;
  try {
    try {
      renameSync(out, old);
      moved = true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    renameSync(stage, out);
  } catch (e) {
    // Put the old --out back: a failed write leaves it as it was.
    if (moved) renameSync(old, out);
    rmSync(stage, { recursive: true, force: true });
    throw outInvalid(`cannot replace ${out}: ${(e as Error).message}`);
  }
  if (moved) rmSync(old, { recursive: true, force: true });
}
