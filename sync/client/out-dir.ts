/**
 * Writing --out: every file goes into a temporary sibling directory, which then replaces --out
 * by rename. The old --out stays until the new one is in place, so readers see the old files
 * or the new ones, never a mix (between the two renames the path is briefly absent: POSIX has
 * no atomic exchange of two directories). A fetch that fails never gets here.
 *
 * fetch replaces only what it wrote itself (issue 15): beside the files it writes a manifest,
 * MANIFEST, naming each file with its SHA-256. An existing --out is replaced only when every
 * entry in it, at any depth, is a file the manifest names, unchanged, or a directory holding
 * one. Anything else (a file of the user's, an edited file, a symlink, an empty directory of
 * the user's) stops the fetch with OUT_INVALID, naming it, before anything changes.
 * An --out from a keyshare without manifests is replaced only when it holds nothing but files
 * this fetch writes again under the same names, so that nothing is lost that is not rewritten.
 */
import { randomBytes } from 'node:crypto';
import { sha256Hex } from '../../shared/hash.js';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { KeyshareError } from '../../shared/errors.js';
import { makeDirs, removeTree } from '../../shared/fs.js';
import type { OutputFile } from '../formats/types.js';
import { FetchCodes } from './errors.js';

/** The manifest's name in --out. No format writes a name starting with a dot. */
export const MANIFEST = '.keyshare-fetch.json';
const MANIFEST_MEDIA_TYPE = 'application/vnd.keyshare.fetch-manifest.v1+json';
/** A manifest is a list of paths and hashes: far below this. */
const MAX_MANIFEST_BYTES = 8 * 1024 * 1024;
/** An --out with more entries than this is not one fetch wrote (bounded walk). */
const MAX_ENTRIES = 100_000;

export interface OutManifest {
  mediaType: typeof MANIFEST_MEDIA_TYPE;
  /** Every file fetch wrote, by relative POSIX path, with the SHA-256 hex of its content. */
  files: { path: string; sha256: string }[];
}

function outInvalid(message: string): KeyshareError {
  return new KeyshareError(FetchCodes.OUT_INVALID, message);
}

/** The manifest of `files`, as written beside them. */
export function outManifest(files: readonly OutputFile[]): OutManifest {
  return {
    mediaType: MANIFEST_MEDIA_TYPE,
    files: files.map((f) => ({ path: f.path, sha256: sha256Hex(f.content) })).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
  };
}

interface Entry {
  /** Relative POSIX path. */
  path: string;
  kind: 'file' | 'dir' | 'other';
}

/** Every entry under `dir`, never following a symlink, at most MAX_ENTRIES. */
function walk(dir: string, prefix = '', into: Entry[] = []): Entry[] {
  for (const name of readdirSync(join(dir, ...prefix.split('/').filter(Boolean))).sort()) {
    const path = prefix ? `${prefix}/${name}` : name;
    const st = lstatSync(join(dir, ...path.split('/')));
    const kind = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : 'other';
    into.push({ path, kind });
    if (into.length > MAX_ENTRIES) throw outInvalid(`refusing to replace ${dir}: it holds more than ${MAX_ENTRIES} entries, far more than keyshare fetch writes`);
    if (kind === 'dir') walk(dir, path, into);
  }
  return into;
}

function readManifest(out: string): Map<string, string> {
  const file = join(out, MANIFEST);
  const bad = (why: string) =>
    outInvalid(`refusing to replace ${out}: its ${MANIFEST} ${why}, so what keyshare fetch wrote there is unknown; check the directory by hand, or use a new one`);
  if (lstatSync(file).size > MAX_MANIFEST_BYTES) throw bad('is too large');
  let parsed: Partial<OutManifest>;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<OutManifest>;
  } catch {
    throw bad('is not JSON');
  }
  if (parsed?.mediaType !== MANIFEST_MEDIA_TYPE || !Array.isArray(parsed.files)) throw bad(`is not a manifest (${MANIFEST_MEDIA_TYPE})`);
  const files = new Map<string, string>();
  for (const f of parsed.files) {
    if (typeof f?.path !== 'string' || typeof f.sha256 !== 'string') throw bad('has a malformed entry');
    files.set(f.path, f.sha256);
  }
  return files;
}

/** `path` and each directory above it. */
function withParents(paths: Iterable<string>): Set<string> {
  const all = new Set<string>();
  for (const p of paths) {
    const parts = p.split('/');
    for (let i = 1; i <= parts.length; i++) all.add(parts.slice(0, i).join('/'));
  }
  return all;
}

function refuse(out: string, foreign: string[], why: string): KeyshareError {
  const named = foreign.slice(0, 3).join(', ') + (foreign.length > 3 ? ` and ${foreign.length - 3} more` : '');
  return outInvalid(`refusing to replace ${out}: ${named} ${why}; nothing was changed. Move it out of ${out} (or use a directory of fetch's own)`);
}

/**
 * Checks that `out` may be replaced by a fetch writing `writing` (relative paths): absent, or
 * holding only what keyshare fetch wrote there (see the file comment). Throws OUT_INVALID.
 * Returns the manifest found (every file in it checked unchanged), else null.
 */
export function checkOutDir(out: string, writing: readonly string[] = []): Map<string, string> | null {
  let st;
  try {
    st = lstatSync(out);
  } catch {
    return null;
  }
  if (!st.isDirectory()) throw outInvalid(`${out} exists and is not a directory`);
  const entries = walk(out);
  const manifest = entries.some((e) => e.path === MANIFEST && e.kind === 'file') ? readManifest(out) : null;
  if (manifest) {
    const ours = withParents(manifest.keys());
    const foreign = entries.filter((e) => e.path !== MANIFEST && (e.kind === 'other' || !ours.has(e.path) || (e.kind === 'file' && !manifest.has(e.path)))).map((e) => e.path);
    if (foreign.length > 0) throw refuse(out, foreign, `${foreign.length === 1 ? 'is' : 'are'} not in ${MANIFEST}: keyshare fetch did not write ${foreign.length === 1 ? 'it' : 'them'}`);
    const changed = entries
      .filter((e) => e.kind === 'file' && e.path !== MANIFEST && sha256Hex(readFileSync(join(out, ...e.path.split('/')))) !== manifest.get(e.path))
      .map((e) => e.path);
    if (changed.length > 0) throw refuse(out, changed, `${changed.length === 1 ? 'was' : 'were'} changed since keyshare fetch wrote ${changed.length === 1 ? 'it' : 'them'}`);
    return manifest;
  }
  // No manifest: an --out from an earlier keyshare, or not fetch's at all. Safe only when the
  // new fetch rewrites every file under the same name (and removes no directory of the user's).
  const next = withParents(writing);
  const nextFiles = new Set(writing);
  const foreign = entries.filter((e) => e.kind === 'other' || !next.has(e.path) || (e.kind === 'file' && !nextFiles.has(e.path))).map((e) => e.path);
  if (foreign.length > 0) {
    throw refuse(out, foreign, `${foreign.length === 1 ? 'is' : 'are'} not written by this fetch, and there is no ${MANIFEST} saying keyshare fetch wrote ${foreign.length === 1 ? 'it' : 'them'} (an --out from keyshare before manifests, or not fetch's)`);
  }
  return null;
}

/**
 * Whether `out` already holds exactly `files` (issue 25: a refresh that changed nothing writes
 * nothing): its manifest, whose every file checkOutDir found unchanged, lists the same paths
 * and hashes, and each file has the mode it would be written with.
 */
function holdsAlready(out: string, manifest: Map<string, string> | null, files: readonly OutputFile[]): boolean {
  if (!manifest || manifest.size !== files.length) return false;
  return files.every(
    (f) => manifest.get(f.path) === sha256Hex(f.content) && (lstatSync(join(out, ...f.path.split('/'))).mode & 0o777) === (f.mode ?? 0o644),
  );
}

function safePath(root: string, relative: string): string {
  const parts = relative.split('/');
  if (relative === '' || relative === MANIFEST || relative.startsWith('/') || parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw outInvalid(`refusing to write the path ${JSON.stringify(relative)}`);
  }
  return join(root, ...parts);
}

/** Replaces `outDir` with exactly `files` and their manifest (unless it holds them already). Returns the absolute path written. */
export function writeOutDir(outDir: string, files: OutputFile[]): string {
  const out = resolve(outDir);
  if (holdsAlready(out, checkOutDir(out, files.map((f) => f.path)), files)) return out;
  const parent = dirname(out);
  makeDirs(parent);
  const stage = mkdtempSync(join(parent, `.${basename(out)}.new-`));
  try {
    for (const f of files) {
      const target = safePath(stage, f.path);
      mkdirSync(dirname(target), { recursive: true, mode: 0o755 });
      // Regular files only (notation: no symlinks); `wx` never follows an existing link.
      writeFileSync(target, f.content, { mode: f.mode ?? 0o644, flag: 'wx' });
    }
    writeFileSync(join(stage, MANIFEST), JSON.stringify(outManifest(files), null, 2) + '\n', { mode: 0o644, flag: 'wx' });
    chmodSync(stage, 0o755);
  } catch (e) {
    removeTree(stage);
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
    removeTree(stage);
    throw outInvalid(`cannot replace ${out}: ${(e as Error).message}`);
  }
  if (moved) removeTree(old);
}
