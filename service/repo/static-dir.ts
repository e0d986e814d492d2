/**
 * A static copy of the published repository (CONTRACT.md "Settings", `--static-dir`): the
 * `/tuf/` layout as plain files, for nginx, an object store or a CDN to serve.
 *
 *   {N}.root.json  root.json  timestamp.json  {V}.{role}.json  targets/{dir}/{sha256}.{name}
 *
 * Each pass reads one published version (a timestamp and the snapshot it names), then writes
 * every file that version needs and the directory does not hold yet: versioned files first,
 * each atomically (a temporary sibling, then rename), and timestamp.json last, atomically. A
 * reader therefore never sees a timestamp whose snapshot, roles or targets are missing
 * (TUF spec 5.5-5.7: a client walks timestamp → snapshot → targets → target files).
 * Versioned files are immutable, so files of older versions stay valid for clients mid-update;
 * they are never deleted here.
 *
 * Passes run one at a time; changes during a pass are coalesced into one more pass.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { MetadataKind } from '@tufjs/models';
import { KeyshareError, Codes } from '../errors.js';
import { parseMetadata } from './tuf.js';

/** A stored metadata version (the store's MetadataRecord, reduced to what is written). */
export interface StaticMetadata {
  role: string;
  version: number;
  bytes: Uint8Array;
}

type MaybePromise<T> = T | Promise<T>;

/** What the static copy reads: the served versions (repo/served.ts) and the stored files (the store). */
export interface StaticSource {
  /** The version being served now, per role (repo/served.ts). */
  latestMetadata(role: string): StaticMetadata | null | undefined;
  getMetadata(role: string, version: number): MaybePromise<StaticMetadata | null>;
  listMetadataVersions(role: 'root'): MaybePromise<StaticMetadata[]>;
  getTarget(sha256: string, path: string): MaybePromise<{ bytes: Uint8Array } | null>;
}

export interface StaticDirOptions {
  /** Told about a failed pass; the next change (or `sync()`) tries again. */
  onError?: (error: unknown) => void;
  /** Told after each pass that wrote a new timestamp. */
  onWritten?: (info: { timestampVersion: number; files: number }) => void;
}

/** TUF spec 5.7.3 with consistent snapshots: a target is stored as `{dir}/{sha256}.{name}`. */
export function consistentTargetName(path: string, sha256: string): string {
  const slash = path.lastIndexOf('/');
  return slash >= 0 ? `${path.slice(0, slash + 1)}${sha256}.${path.slice(slash + 1)}` : `${sha256}.${path}`;
}

interface PlannedFile {
  /** Relative to the static dir, `/`-separated. */
  rel: string;
  bytes: () => MaybePromise<Uint8Array>;
}

export class StaticDir {
  readonly dir: string;
  /** Files known to be in the directory with their final content (versioned files are immutable). */
  private readonly written = new Set<string>();
  private writtenTimestamp = 0;
  private running: Promise<void> | null = null;
  private wanted = false;
  private wantedFull = false;
  private closed = false;

  constructor(
    dir: string,
    private readonly source: StaticSource,
    private readonly options: StaticDirOptions = {},
  ) {
    this.dir = resolve(dir);
  }

  /**
   * Writes the whole current repository: every root version, the newest version of each role,
   * and every current target, replacing what the directory holds (a crash may have left
   * a file half-written). Call once at start-up; rejects if the directory cannot be written.
   */
  async writeAll(): Promise<void> {
    await this.schedule(true);
  }

  /** Writes what the newest published version adds. Never rejects: failures go to `onError`. */
  update(): Promise<void> {
    return this.schedule(false).catch((e) => this.options.onError?.(e));
  }

  /** Finishes the passes already asked for; later changes are ignored. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.running) await this.running.catch(() => {});
  }

  /** The timestamp version that timestamp.json holds, as far as this writer knows (0 before the first pass). */
  get timestampVersion(): number {
    return this.writtenTimestamp;
  }

  private schedule(full: boolean): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.wanted = true;
    this.wantedFull ||= full;
    // Resolves once a pass that started after this call has finished.
    this.running ??= this.loop().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async loop(): Promise<void> {
    while (this.wanted) {
      const full = this.wantedFull;
      this.wanted = false;
      this.wantedFull = false;
      await this.pass(full);
    }
  }

  private async pass(full: boolean): Promise<void> {
    const timestamp = this.source.latestMetadata('timestamp');
    if (!timestamp) throw new KeyshareError(Codes.NOT_INITIALIZED, 'the repository has not been published yet');
    if (!full && timestamp.version === this.writtenTimestamp) return;
    if (full) this.written.clear();
    const plan = await this.plan(timestamp);
    let files = 0;
    for (const f of plan.versioned) {
      if (this.written.has(f.rel)) continue;
      await this.writeAtomic(f.rel, await f.bytes());
      this.written.add(f.rel);
      files++;
    }
    // The newest root at a fixed name, for people and tools that want "the" root; not for pinning.
    await this.writeAtomic('root.json', plan.root.bytes);
    // Last: the file that makes the version above visible to clients.
    await this.writeAtomic('timestamp.json', timestamp.bytes);
    this.writtenTimestamp = timestamp.version;
    this.options.onWritten?.({ timestampVersion: timestamp.version, files: files + 2 });
  }

  /** Every versioned file that the version `timestamp` names, in write order. */
  private async plan(timestamp: StaticMetadata): Promise<{ root: StaticMetadata; versioned: PlannedFile[] }> {
    const src = this.source;
    const at = async (role: string, version: number): Promise<StaticMetadata> => {
      const latest = src.latestMetadata(role);
      const rec = latest && latest.version === version ? latest : await src.getMetadata(role, version);
      if (!rec) throw new KeyshareError(Codes.INTERNAL, `${role} version ${version} is not in the store`);
      return rec;
    };
    const versioned: PlannedFile[] = [];
    const add = (rec: StaticMetadata) => versioned.push({ rel: `${rec.version}.${rec.role}.json`, bytes: () => rec.bytes });

    // TUF spec 5.3: clients walk every root version from the one they trust.
    const roots = await src.listMetadataVersions('root');
    if (roots.length === 0) throw new KeyshareError(Codes.INTERNAL, 'no root in the store');
    for (const r of roots) add(r);
    const root = roots[roots.length - 1]!;

    const snapshotVersion = parseMetadata(MetadataKind.Timestamp, Buffer.from(timestamp.bytes)).signed.snapshotMeta.version;
    const snapshot = await at('snapshot', snapshotVersion);
    const roles: StaticMetadata[] = [];
    for (const [file, meta] of Object.entries(parseMetadata(MetadataKind.Snapshot, Buffer.from(snapshot.bytes)).signed.meta)) {
      roles.push(await at(file.replace(/\.json$/, ''), meta.version));
    }
    // Target files before the roles that list them, and those before the snapshot.
    for (const rec of roles) {
      const targets = parseMetadata(MetadataKind.Targets, Buffer.from(rec.bytes)).signed.targets;
      for (const t of Object.values(targets)) {
        const sha = t.hashes.sha256;
        if (!sha) throw new KeyshareError(Codes.INTERNAL, `target ${t.path} has no sha256`);
        versioned.push({
          rel: `targets/${consistentTargetName(t.path, sha)}`,
          bytes: async () => {
            const target = await src.getTarget(sha, t.path);
            if (!target) throw new KeyshareError(Codes.INTERNAL, `target ${t.path} (${sha}) is not in the store`);
            return target.bytes;
          },
        });
      }
    }
    for (const rec of roles) add(rec);
    add(snapshot);
    return { root, versioned };
  }

  /** Writes one file atomically: a temporary sibling in the same directory, then rename. */
  private async writeAtomic(rel: string, bytes: Uint8Array): Promise<void> {
    const path = resolve(this.dir, rel);
    const inside = relative(this.dir, path);
    // Target paths come from our own metadata, but a path must never leave the directory.
    if (inside === '' || inside.startsWith('..') || inside.split(sep).includes('..')) {
      throw new KeyshareError(Codes.INTERNAL, `refusing to write ${JSON.stringify(rel)} outside the static dir`);
    }
    const tmp = join(dirname(path), `.${randomBytes(6).toString('hex')}.tmp`);
    try {
      await mkdir(dirname(path), { recursive: true });
      await writeFile(tmp, bytes, { mode: 0o644 });
      await rename(tmp, path);
    } catch (e) {
      await unlink(tmp).catch(() => {});
      throw new KeyshareError(Codes.STATIC_DIR_WRITE, `cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
    }
  }
}
