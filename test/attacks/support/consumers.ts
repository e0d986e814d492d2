/**
 * The consumers of a keyshare repository, each run the way users run it, against whatever an
 * attacker serves:
 *  - `fetch`: the CLI command (in-process), --format json into --out, with a --cache;
 *  - `check`: the CLI command (in-process), a key against a repository, with a --cache;
 *  - `bundle import`: the importer into a store, from a bundle made of the served files;
 *  - `upstream federate` and `upstream mirror`: one sync of an upstream row pointing at the
 *    server (service/federation/upstream/sync.ts), with its cache in a data dir.
 * Each returns the refusal code (null when it accepted), and shows its "last good state": what
 * a refusal must leave exactly as it was.
 */
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { vi } from 'vitest';
import { checkCommand } from '../../../cli/commands/check.js';
import { fetchCommand } from '../../../cli/commands/fetch-command.js';
import { isKeyshareError } from '../../../service/errors.js';
import type { Store } from '../../../service/store/index.js';
import { freshStore } from '../../support/database.js';
import { dumpTable } from '../../support/store.js';
import { federationClient, importBundle } from '../../support/federation.js';
import { BUNDLE_MEDIA_TYPE, originOf } from '../../../shared/bundle/format.js';
import { syncUpstream } from '../../../service/federation/upstream/sync.js';
import { ANY_ADDRESS } from '../../../service/net/outbound.js';
import { rawTar } from '../../sync/bundle/support.js';
import { tempDir } from '../../support/service.js';
import { consistentName, sha256 } from './repository.js';
import type { EvilServer } from './server.js';

export type ConsumerName = 'fetch' | 'check' | 'bundle import' | 'upstream federate' | 'upstream mirror';
export const CONSUMERS: ConsumerName[] = ['fetch', 'check', 'bundle import', 'upstream federate', 'upstream mirror'];
/** The consumers that read a repository over HTTP (a misbehaving server means nothing to a bundle). */
export const HTTP_CONSUMERS: ConsumerName[] = ['fetch', 'check', 'upstream federate', 'upstream mirror'];

export interface Consumer {
  readonly name: ConsumerName;
  /** Consumes the repository as served now: null when accepted, else the refusal's code. */
  run(files: Map<string, Buffer>): Promise<string | null>;
  /** What a refusal must leave unchanged. */
  state(): unknown | Promise<unknown>;
  close(): void | Promise<void>;
}

/** Every file under `dir` with its sha256 (the lock file aside: it exists only while a fetch runs). */
export function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!existsSync(dir)) return out;
  for (const entry of readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort()) {
    if (entry === 'lock') continue;
    const st = lstatSync(join(dir, entry));
    out[entry] = st.isDirectory() ? 'dir' : st.isFile() ? createHash('sha256').update(readFileSync(join(dir, entry))).digest('hex') : 'other';
  }
  return out;
}

/** The message of the last refusal a CLI command gave, for a failing assertion to show. */
export let lastRefusal = '';

/** Runs a CLI command in-process, its stdout swallowed; the KeyshareError it throws is the outcome. */
async function runCommand(make: () => Command, args: string[]): Promise<string | null> {
  const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  const cmd = make().exitOverride();
  try {
    await cmd.parseAsync(args, { from: 'user' });
    return null;
  } catch (e) {
    if (isKeyshareError(e)) {
      lastRefusal = `${e.code}: ${e.message}`;
      return e.code;
    }
    throw e;
  } finally {
    write.mockRestore();
  }
}

class HttpConsumer implements Consumer {
  readonly cache = tempDir('keyshare-attack-cache-');
  readonly out = join(tempDir('keyshare-attack-out-'), 'out');
  private readonly rootFile: string;

  constructor(
    readonly name: 'fetch' | 'check',
    private readonly server: EvilServer,
    pinnedRoot: Buffer,
    private readonly key: string,
    private readonly repository: string,
  ) {
    this.rootFile = join(tempDir('keyshare-attack-root-'), 'root.json');
    writeFileSync(this.rootFile, pinnedRoot);
  }

  async run(files: Map<string, Buffer>): Promise<string | null> {
    this.server.files = files;
    const common = ['--server', this.server.url, '--root', this.rootFile, '--cache', this.cache, '--json'];
    if (this.name === 'fetch') return runCommand(fetchCommand, [...common, '--out', this.out, '--format', 'json']);
    return runCommand(checkCommand, [this.repository, ...common, '--key', this.key]);
  }

  state(): unknown {
    return { cache: tree(this.cache), out: tree(this.out) };
  }

  close(): void {}
}

/**
 * The files of a bundle, picked from what a repository serves the way a TUF client walks it:
 * every root, timestamp.json, the snapshot it names, the roles that names, their targets.
 * bundle.json matches the files (an attacker fixes it up: it is not signed).
 */
export function bundleFrom(files: Map<string, Buffer>, now = new Date()): Buffer {
  const parse = (b: Buffer | undefined): any => {
    try {
      return b ? JSON.parse(b.toString('utf8')) : undefined;
    } catch {
      return undefined;
    }
  };
  const picked = new Map<string, Buffer>();
  const pick = (path: string) => {
    const b = files.get(path);
    if (b) picked.set(path, b);
    return b;
  };
  for (const p of files.keys()) if (/^\d+\.root\.json$/.test(p)) pick(p);
  const timestamp = parse(pick('timestamp.json'));
  const snapshotVersion = timestamp?.signed?.meta?.['snapshot.json']?.version;
  const snapshot = parse(pick(`${snapshotVersion}.snapshot.json`));
  const targetsList: { path: string; length: number; sha256: string }[] = [];
  let targetsVersion = 1;
  for (const [file, meta] of Object.entries<any>(snapshot?.signed?.meta ?? {})) {
    const role = parse(pick(`${meta?.version}.${file}`));
    if (file === 'targets.json') targetsVersion = meta.version;
    for (const [path, t] of Object.entries<any>(role?.signed?.targets ?? {})) {
      const sha = t?.hashes?.sha256;
      if (typeof sha === 'string' && pick(`targets/${consistentName(path, sha)}`)) targetsList.push({ path, length: t.length, sha256: sha });
    }
  }
  const roots = [...picked.keys()].flatMap((p) => /^(\d+)\.root\.json$/.exec(p)?.[1] ?? []).map(Number);
  const root1 = parse(files.get('1.root.json'));
  const positive = (v: unknown) => (Number.isSafeInteger(v) && (v as number) >= 1 ? (v as number) : 1);
  const manifest = {
    mediaType: BUNDLE_MEDIA_TYPE,
    origin: originOf(root1?.signed ?? {}),
    createdAt: now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    expires: typeof timestamp?.signed?.expires === 'string' ? timestamp.signed.expires : now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    versions: { root: Math.max(1, ...roots), timestamp: positive(timestamp?.signed?.version), snapshot: positive(snapshotVersion), targets: positive(targetsVersion) },
    scopes: { filter: null, included: [] },
    targets: targetsList,
    files: [...picked].map(([p, b]) => ({ path: `tuf/${p}`, length: b.length, sha256: sha256(b) })),
  };
  return rawTar([{ path: 'bundle.json', data: JSON.stringify(manifest) }, ...[...picked].map(([p, b]) => ({ path: `tuf/${p}`, data: b }))]);
}

/** The rows of `tables` in a consumer's own store (either dialect). */
async function rows(store: Store, tables: string[]): Promise<Record<string, Record<string, unknown>[]>> {
  return Object.fromEntries(await Promise.all(tables.map(async (t) => [t, await dumpTable(store, t)] as const)));
}

class BundleConsumer implements Consumer {
  readonly name = 'bundle import' as const;
  private readonly opened = freshStore();
  private readonly dir = tempDir('keyshare-attack-bundle-');
  private n = 0;

  constructor(private readonly pinnedRoot: Buffer) {}

  async run(files: Map<string, Buffer>): Promise<string | null> {
    const file = join(this.dir, `${++this.n}.tar`);
    writeFileSync(file, bundleFrom(files));
    try {
      await importBundle({ file, root: this.pinnedRoot, store: await this.opened, tmpDir: this.dir });
      return null;
    } catch (e) {
      if (isKeyshareError(e)) return e.code;
      throw e;
    }
  }

  /** Every row a bundle import can write. */
  async state(): Promise<unknown> {
    return rows(await this.opened, ['scopes', 'anchors', 'revocations', 'upstreams', 'upstream_files', 'dirty', 'meta']);
  }

  async close(): Promise<void> {
    await (await this.opened).close();
  }
}

class UpstreamConsumer implements Consumer {
  private readonly opened = freshStore();
  private readonly dataDir = tempDir('keyshare-attack-upstream-');
  /** The upstream row, written before the first run. */
  private readonly ready: Promise<void>;

  constructor(
    readonly name: 'upstream federate' | 'upstream mirror',
    private readonly server: EvilServer,
    pinnedRoot: Buffer,
  ) {
    const mode = name === 'upstream federate' ? 'federate' : 'mirror';
    this.ready = this.opened.then((store) => store.putUpstream({ name: 'up', url: server.url, mode, scopes: null, root: pinnedRoot, state: null, timestampVersion: null, lastSuccessAt: null, lastError: null, createdAt: new Date().toISOString() }));
  }

  async run(files: Map<string, Buffer>): Promise<string | null> {
    await this.ready;
    this.server.files = files;
    const outcome = await syncUpstream({ client: federationClient, store: await this.opened, dataDir: this.dataDir, publisher: { notify: async () => null }, limits: { requestTimeoutMs: 5_000 }, outbound: ANY_ADDRESS }, 'up');
    return outcome.ok ? null : outcome.error!.code;
  }

  /** Everything a sync writes, but the upstream's lastError (a failed sync records why, and nothing else). */
  async state(): Promise<unknown> {
    const store = await this.opened;
    const tables = await rows(store, ['scopes', 'anchors', 'revocations', 'upstream_files', 'dirty']);
    return { ...tables, upstreams: (await dumpTable(store, 'upstreams')).map(({ last_error: _, ...rest }) => rest), cache: tree(this.dataDir) };
  }

  async close(): Promise<void> {
    await (await this.opened).close();
  }
}

export function makeConsumer(name: ConsumerName, server: EvilServer, pinnedRoot: Buffer, check: { key: string; repository: string }): Consumer {
  if (name === 'bundle import') return new BundleConsumer(pinnedRoot);
  if (name === 'upstream federate' || name === 'upstream mirror') return new UpstreamConsumer(name, server, pinnedRoot);
  return new HttpConsumer(name, server, pinnedRoot, check.key, check.repository);
}
