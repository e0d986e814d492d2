/**
 * `keyshare backup` and `keyshare restore` (issue 10).
 *
 * A backup is one tar file (mode 0600: it holds private keys):
 *   backup.json    what it holds: time, versions, every file with its length and SHA-256
 *   keyshare.db    a consistent online snapshot of the database (SQLite's backup API through
 *                  the store), taken while the service keeps running and writing
 *   root.json      the newest root in that snapshot
 *   admin.token, keyshare.yaml   when the data dir has them
 *   keys/...       the signing keys (online keys, staged next keys, PKCS#11 key URIs, and the
 *                  root keys while they are still in the data dir)
 *
 * Restore refuses a data dir that already holds anything, extracts with limits (regular files
 * with known names only), and verifies before anything lands: every digest, SQLite's
 * integrity check, the root chain 1..N, the timestamp, snapshot and every targets role
 * against the keys that delegate them, every target file against its signed hashes, and the
 * online keys the root names. Only then does the directory appear, by one rename.
 *
 * Versions. The live service may have published after the backup was taken, and clients that
 * saw those versions refuse anything lower (ROLLBACK). So by default restore re-signs every
 * role with versions `versionJump` above the backup's (the content stays as backed up) and
 * says so. `sameVersions` restores the exact versions instead, with a warning that clients
 * that saw later ones will refuse the repository until it publishes past them.
 */
import { chmodSync, copyFileSync, createReadStream, writeFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, rmdirSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { sha256Stream } from '../shared/hash.js';
import { sha256Hex as sha256 } from './crypto/encoding.js';
import { Metadata, MetadataKind, type Root, type Targets } from '@tufjs/models';
import { KeyshareError, Codes, isKeyshareError } from './errors.js';
import { makeDirs } from '../shared/fs.js';
import { extractTar, type TarRules } from '../shared/safe-tar.js';
import { dbPath, isInitialized, rootPath } from './instance.js';
import { keysDir } from './repo/keys.js';
import { DEFAULT_EXPIRY, type ExpiryConfig } from './repo/layout.js';
import { loadSignersForRoot } from './repo/online-keys.js';
import { parseMetadata } from './repo/tuf.js';
import { jumpVersions } from './repo/version-jump.js';
import { RESTORED_FROM_META } from './restore-guard.js';
import { AuditLog } from './audit/log.js';
import { attachLog } from './tlog/log.js';
import { SqliteStore, databaseKind, storeDatabase, type Store } from './store/index.js';

export const BackupCodes = {
  /** Not a keyshare backup: not a tar, a missing or malformed backup.json, unknown files, a damaged database. */
  BACKUP_INVALID: 'BACKUP_INVALID',
  /** Over a size or file-count limit. */
  BACKUP_TOO_LARGE: 'BACKUP_TOO_LARGE',
  /** An entry with `..`, an absolute path, or a link. */
  PATH_TRAVERSAL: 'PATH_TRAVERSAL',
  /** A file that differs from its digest in backup.json, or metadata that differs from its signed hashes. */
  HASH_MISMATCH: 'HASH_MISMATCH',
  /** The repository in the backup does not verify against its own root chain. */
  BAD_SIGNATURE: 'BAD_SIGNATURE',
  /** restore --data names a directory that already holds files. */
  DATA_DIR_NOT_EMPTY: 'DATA_DIR_NOT_EMPTY',
  /** The database is PostgreSQL: back it up with pg_dump (docs/DEPLOYMENT.md). */
  BACKUP_NOT_EMBEDDED: 'BACKUP_NOT_EMBEDDED',
  /** Issue 24 row 11: the data dir to back up is damaged (integrity check, audit chain, or the stored repository); --force keeps a copy marked damaged. */
  SOURCE_DAMAGED: 'SOURCE_DAMAGED',
  /** The backup's audit log does not verify (edited, deleted or cut off entries), or the backup is marked damaged; restore --force restores it anyway. */
  BACKUP_DAMAGED: 'BACKUP_DAMAGED',
} as const;

export const BACKUP_MEDIA_TYPE = 'application/vnd.keyshare.backup.v1+json';
export const BACKUP_JSON = 'backup.json';
/** By default a restore re-signs every role this many versions above the backup's. */
export const DEFAULT_VERSION_JUMP = 1_000_000;

const DB_FILE = 'keyshare.db';
const OPTIONAL_FILES = ['admin.token', 'keyshare.yaml'];
const KEY_FILE = /^keys\/[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const MiB = 1024 * 1024;
const LIMITS = { maxDbBytes: 64 * 1024 * MiB, maxFileBytes: MiB, maxFiles: 1000 };

export interface BackupFile {
  path: string;
  length: number;
  sha256: string;
}

export interface BackupManifest {
  mediaType: typeof BACKUP_MEDIA_TYPE;
  createdAt: string;
  /** The newest version of each top-level role in the database copy. */
  versions: { root: number; timestamp: number; snapshot: number; targets: number };
  files: BackupFile[];
  /** Set when `backup --force` kept a copy of a damaged source: what the checks found. */
  damaged?: string[];
}


async function fileSha256(file: string): Promise<string> {
  const h = sha256Stream();
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}
const invalid = (m: string, cause?: unknown) => new KeyshareError(BackupCodes.BACKUP_INVALID, m, { cause });

// ---- backup ----

export interface BackupOptions {
  dataDir: string;
  /** The data dir's database (store/open.ts; absent: as configured): only the embedded one can be backed up here. */
  database?: string | null;
  out: string;
  clock?: () => Date;
  /** Keep a copy of a damaged source anyway, marked damaged in backup.json. */
  force?: boolean;
}

export interface BackupResult {
  out: string;
  createdAt: string;
  versions: BackupManifest['versions'];
  files: number;
  bytes: number;
  /** What was found damaged (only with force). */
  damaged?: string[];
}

/**
 * Issue 24 row 11: what is wrong with a database copy, before it is kept as a backup or
 * restored: SQLite's integrity check, the audit log's hash chain, and the stored repository
 * against its own root chain (as a client would check it). Empty when all is well.
 */
async function damageOf(store: SqliteStore, rootJson: Buffer): Promise<string[]> {
  const found: string[] = [];
  const integrity = store.integrityCheck();
  if (integrity !== 'ok') found.push(`database integrity check: ${integrity}`);
  try {
    const audit = await new AuditLog(store).verify();
    if (!audit.ok) found.push(`audit log: ${audit.problem ?? 'the chain does not verify'}${audit.firstBadSeq !== undefined ? ` (entry ${audit.firstBadSeq})` : ''}`);
  } catch (e) {
    found.push(`audit log: cannot be read: ${(e as Error).message}`);
  }
  try {
    await verifyStoredRepository(store, rootJson);
  } catch (e) {
    found.push(`repository: ${isKeyshareError(e) ? `${e.code}: ` : ''}${(e as Error).message}`);
  }
  return found;
}

async function newestVersions(store: Store): Promise<BackupManifest['versions']> {
  const latest = new Map((await store.latestMetadataAll()).map((r) => [r.role, r.version]));
  const v = (role: string) => latest.get(role) ?? 0;
  return { root: v('root'), timestamp: v('timestamp'), snapshot: v('snapshot'), targets: v('targets') };
}

/**
 * Backup and restore copy the embedded SQLite database file. A PostgreSQL database is backed up
 * with its own tools (pg_dump), and the data dir's keys and root.json as files.
 */
function assertEmbedded(dataDir: string, database: string | null | undefined): void {
  if (databaseKind(storeDatabase({ dataDir, database })) === 'embedded') return;
  throw new KeyshareError(
    BackupCodes.BACKUP_NOT_EMBEDDED,
    'backup and restore copy the embedded SQLite database; this data dir uses PostgreSQL: back the database up with pg_dump, and keys/ and root.json as files (docs/DEPLOYMENT.md, "Backups")',
  );
}

export async function createBackup(options: BackupOptions): Promise<BackupResult> {
  const { dataDir } = options;
  assertEmbedded(dataDir, options.database);
  if (!isInitialized(dataDir, options.database)) throw new KeyshareError(Codes.NOT_INITIALIZED, `${dataDir} is not initialised (run \`keyshare init\`)`);
  const createdAt = (options.clock ?? (() => new Date()))().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const out = resolve(options.out);
  const scratch = mkdtempSync(join(dirname(out), `.${basename(out)}.backup-`));
  try {
    // The database first: SQLite's backup API copies a consistent state while writers go on.
    const live = SqliteStore.open(dbPath(dataDir));
    try {
      await live.backupTo(join(scratch, DB_FILE));
      chmodSync(join(scratch, DB_FILE), 0o600);
    } finally {
      await live.close();
    }
    const copy = SqliteStore.open(join(scratch, DB_FILE));
    let versions: BackupManifest['versions'];
    let root: Buffer;
    let damaged: string[];
    try {
      versions = await newestVersions(copy);
      root = Buffer.from((await copy.latestMetadata('root'))?.bytes ?? readFileSync(rootPath(dataDir)));
      damaged = await damageOf(copy, root);
    } finally {
      await copy.close();
    }
    if (damaged.length > 0 && !options.force) {
      throw new KeyshareError(
        BackupCodes.SOURCE_DAMAGED,
        `${dataDir} is damaged, so no backup was written: ${damaged.join('; ')}. Restore the last good backup, or keep a copy anyway with --force (marked damaged)`,
        { details: { damaged } },
      );
    }
    rmSync(join(scratch, `${DB_FILE}-wal`), { force: true });
    rmSync(join(scratch, `${DB_FILE}-shm`), { force: true });

    // The files, laid out in the scratch dir as in the archive: the database is streamed, never held in memory.
    writeFileSync(join(scratch, 'root.json'), root, { mode: 0o600 });
    const paths = [DB_FILE, 'root.json'];
    for (const name of OPTIONAL_FILES) {
      const file = join(dataDir, name);
      if (existsSync(file) && lstatSync(file).isFile()) {
        copyFileSync(file, join(scratch, name));
        paths.push(name);
      }
    }
    const keys = keysDir(dataDir);
    mkdirSync(join(scratch, 'keys'), { mode: 0o700 });
    for (const name of existsSync(keys) ? readdirSync(keys).sort() : []) {
      const file = join(keys, name);
      if (!lstatSync(file).isFile()) continue; // only regular files travel: no links, no directories
      if (!KEY_FILE.test(`keys/${name}`)) throw invalid(`cannot back up ${file}: an unexpected file name in the keys directory`);
      copyFileSync(file, join(scratch, 'keys', name));
      paths.push(`keys/${name}`);
    }
    const files: BackupFile[] = [];
    for (const path of paths) files.push({ path, length: statSync(join(scratch, path)).size, sha256: await fileSha256(join(scratch, path)) });
    const manifest: BackupManifest = { mediaType: BACKUP_MEDIA_TYPE, createdAt, versions, files, ...(damaged.length ? { damaged } : {}) };
    writeFileSync(join(scratch, BACKUP_JSON), JSON.stringify(manifest, null, 2) + '\n');
    const { create } = await import('tar');
    const tmp = join(scratch, '.backup.tar');
    await create({ cwd: scratch, file: tmp, portable: true, mtime: new Date(createdAt) }, [BACKUP_JSON, ...paths]);
    chmodSync(tmp, 0o600);
    renameSync(tmp, out);
    return { out, createdAt, versions, files: paths.length + 1, bytes: statSync(out).size, ...(damaged.length ? { damaged } : {}) };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** When a backup was taken: its backup.json's createdAt (for `revocations replay --since FILE`). */
export async function backupCreatedAt(file: string): Promise<string> {
  const { list } = await import('tar');
  let text: string | null = null;
  let failure: unknown = null;
  try {
    await list({
      file,
      onReadEntry: (entry) => {
        if (entry.path.replace(/^\.\//, '') !== BACKUP_JSON || entry.size > MiB) return void entry.resume();
        const chunks: Buffer[] = [];
        entry.on('data', (c: Buffer) => chunks.push(c));
        entry.on('end', () => (text = Buffer.concat(chunks).toString('utf8')));
      },
    });
  } catch (e) {
    failure = e;
  }
  const createdAt = text ? (JSON.parse(text) as Partial<BackupManifest>).createdAt : undefined;
  if (typeof createdAt !== 'string' || Number.isNaN(Date.parse(createdAt))) throw invalid(`${file} is not a keyshare backup (no backup.json with createdAt)`, failure);
  return createdAt;
}

// ---- restore ----

export interface RestoreOptions {
  file: string;
  dataDir: string;
  /** As BackupOptions.database: a restore writes the embedded database. */
  database?: string | null;
  /** Serve exactly the backed-up versions (clients that saw later ones refuse them until the next publishes pass them). */
  sameVersions?: boolean;
  /** How far above the backup's versions the restored repository starts (default DEFAULT_VERSION_JUMP). */
  versionJump?: number;
  clock?: () => Date;
  /** Restore a backup whose audit log does not verify, or that is marked damaged, with a warning. */
  force?: boolean;
}

export interface RestoreResult {
  dataDir: string;
  createdAt: string;
  /** The versions in the backup, and those the restored service serves. */
  backedUp: BackupManifest['versions'];
  serving: { timestamp: number };
  versionJump: number;
  warnings: string[];
}

/** Is `dir` absent, or an empty directory? */
function usable(dir: string): boolean {
  if (!existsSync(dir)) return true;
  return statSync(dir).isDirectory() && readdirSync(dir).length === 0;
}

export async function restoreBackup(options: RestoreOptions): Promise<RestoreResult> {
  const dataDir = resolve(options.dataDir);
  assertEmbedded(dataDir, options.database);
  const now = (options.clock ?? (() => new Date()))();
  const jump = options.sameVersions ? 0 : (options.versionJump ?? DEFAULT_VERSION_JUMP);
  if (!Number.isSafeInteger(jump) || jump < 0) throw new KeyshareError(Codes.BAD_REQUEST, '--version-jump must be a whole number of versions');
  if (isInitialized(dataDir, options.database) || !usable(dataDir)) {
    throw new KeyshareError(BackupCodes.DATA_DIR_NOT_EMPTY, `${dataDir} already holds files: restore into a new, empty data dir`);
  }
  makeDirs(dirname(dataDir));
  const scratch = mkdtempSync(join(dirname(dataDir), `.${basename(dataDir)}.restore-`));
  try {
    const extracted = await extractBackup(options.file, scratch);
    const manifest = await checkManifest(scratch, extracted);
    const store = SqliteStore.open(join(scratch, DB_FILE));
    const warnings: string[] = [];
    let serving: number;
    try {
      const integrity = store.integrityCheck();
      if (integrity !== 'ok') throw invalid(`the database in the backup is damaged: ${integrity}`);
      const root = await verifyStoredRepository(store, readFileSync(join(scratch, 'root.json')));
      // Issue 24 row 11: a tampered audit log is not restored silently.
      const audit = await new AuditLog(store).verify();
      const damage = [...(manifest.damaged ?? []), ...(audit.ok ? [] : [`audit log: ${audit.problem ?? 'the chain does not verify'}`])];
      if (damage.length > 0 && !options.force) {
        throw new KeyshareError(BackupCodes.BACKUP_DAMAGED, `the backup is damaged: ${damage.join('; ')}. Restore an older backup, or this one with --force`, { details: { damaged: damage } });
      }
      if (damage.length > 0) warnings.push(`restored a damaged backup (--force): ${damage.join('; ')}`);
      // The online keys the newest root names must be among the backed-up keys.
      const signers = loadSignersForRoot(scratch, root);
      const ts = (await store.latestMetadata('timestamp'))!.version;
      if (jump > 0) {
        await attachLog(scratch, store); // issue 23: the jumped versions are logged
        const expiry: ExpiryConfig = { ...DEFAULT_EXPIRY, ...JSON.parse((await store.getMeta('expiry')) ?? '{}') };
        const r = await jumpVersions({ store, signers, expiry, jump, now });
        serving = r.to;
        warnings.push(
          `restored the backup of ${manifest.createdAt}: changes made after it are lost. Every role was re-signed ${jump} versions above the backup's ` +
            `(timestamp ${r.from} -> ${r.to}), so that clients which saw versions published after the backup accept the restored repository. ` +
            `The transparency log is back at the backup's too: clients that verified a later checkpoint refuse it (LOG_INCONSISTENT) until their log state (<cache>/log) is removed.`,
        );
        if (r.skipped.length) warnings.push(`roles signed by keys this service does not hold kept their versions (${r.skipped.join(', ')}): their signers must publish new versions`);
      } else {
        serving = ts;
        warnings.push(
          `restored the backup of ${manifest.createdAt} with its versions unchanged (timestamp ${ts}): clients that saw a later version refuse this repository (ROLLBACK) ` +
            'until it publishes past that version. Without --same-versions, restore re-signs every role above any version clients can have seen.',
        );
      }
      // Until a serve checks it against what was published since (service/restore-guard.ts).
      await store.setMeta(RESTORED_FROM_META, JSON.stringify({ createdAt: manifest.createdAt, restoredAt: now.toISOString(), versions: manifest.versions, versionJump: jump }));
    } finally {
      await store.close();
    }
    // Issue 16, finding 8: every file in the data dir is 0600, root.json included.
    for (const f of extracted.keys()) chmodSync(join(scratch, f), 0o600);
    chmodSync(scratch, 0o700);
    // Everything verified: the data dir appears at once.
    if (existsSync(dataDir)) rmdirSync(dataDir);
    renameSync(scratch, dataDir);
    return { dataDir, createdAt: manifest.createdAt, backedUp: manifest.versions, serving: { timestamp: serving }, versionJump: jump, warnings };
  } catch (e) {
    rmSync(scratch, { recursive: true, force: true });
    if (isKeyshareError(e)) throw e;
    throw invalid(`cannot restore ${options.file}: ${(e as Error).message}`, e);
  }
}

async function checkManifest(dir: string, extracted: Map<string, number>): Promise<BackupManifest> {
  if (!extracted.has(BACKUP_JSON)) throw invalid('not a keyshare backup: it has no backup.json');
  let m: BackupManifest;
  try {
    m = JSON.parse(readFileSync(join(dir, BACKUP_JSON), 'utf8'));
  } catch (e) {
    throw invalid('backup.json is not JSON', e);
  }
  if (m?.mediaType !== BACKUP_MEDIA_TYPE || typeof m.createdAt !== 'string' || !Array.isArray(m.files)) throw invalid(`backup.json is not a ${BACKUP_MEDIA_TYPE} document`);
  const listed = new Map<string, BackupFile>();
  for (const f of m.files) {
    if (typeof f?.path !== 'string' || typeof f.sha256 !== 'string' || !Number.isSafeInteger(f.length)) throw invalid('backup.json lists a malformed file');
    listed.set(f.path, f);
  }
  for (const path of extracted.keys()) if (path !== BACKUP_JSON && !listed.has(path)) throw invalid(`${path} is in the archive but not in backup.json`);
  for (const f of listed.values()) {
    if (!extracted.has(f.path)) throw invalid(`${f.path} is listed in backup.json but missing from the archive`);
    if (extracted.get(f.path) !== f.length || (await fileSha256(join(dir, f.path))) !== f.sha256) {
      throw new KeyshareError(BackupCodes.HASH_MISMATCH, `${f.path} does not match its digest in backup.json (corrupted or tampered with)`);
    }
  }
  for (const needed of [DB_FILE, 'root.json']) if (!listed.has(needed)) throw invalid(`the backup has no ${needed}`);
  return m;
}

/**
 * The repository in the database verifies against its own root chain: root 1..N (each step
 * signed by both thresholds, TUF spec 5.3.4), the newest timestamp, the snapshot it names
 * (its length and hashes), every role the snapshot lists (its version, signed by whoever
 * delegates it), and every target file (its length and hashes). Expiry is not checked: the
 * restored service re-signs. Returns the newest root.
 */
export async function verifyStoredRepository(store: Store, rootJson: Buffer): Promise<Root> {
  const bad = (m: string, cause?: unknown) => new KeyshareError(BackupCodes.BAD_SIGNATURE, m, { cause });
  const check = (what: string, f: () => void) => {
    try {
      f();
    } catch (e) {
      if (isKeyshareError(e)) throw e;
      throw bad(`${what}: ${(e as Error).message}`, e);
    }
  };
  const roots = await store.listMetadataVersions('root');
  if (roots.length === 0 || roots.some((r, i) => r.version !== i + 1)) throw invalid('the root versions in the backup are not 1..N');
  let trusted = parseMetadata(MetadataKind.Root, roots[0]!.bytes);
  check('root v1', () => trusted.verifyDelegate(MetadataKind.Root, trusted));
  for (const rec of roots.slice(1)) {
    const next = parseMetadata(MetadataKind.Root, rec.bytes);
    check(`root v${rec.version}`, () => {
      trusted.verifyDelegate(MetadataKind.Root, next);
      next.verifyDelegate(MetadataKind.Root, next);
    });
    trusted = next;
  }
  if (!Buffer.from(roots[roots.length - 1]!.bytes).equals(rootJson)) throw invalid('root.json is not the newest root in the database');
  const root = trusted;
  const tsRec = await store.latestMetadata('timestamp');
  if (!tsRec) throw invalid('the backup has no timestamp');
  const ts = parseMetadata(MetadataKind.Timestamp, tsRec.bytes);
  check('timestamp', () => root.verifyDelegate(MetadataKind.Timestamp, ts));
  const snapRec = await store.getMetadata('snapshot', ts.signed.snapshotMeta.version);
  if (!snapRec) throw invalid(`snapshot version ${ts.signed.snapshotMeta.version}, which the timestamp names, is missing`);
  try {
    ts.signed.snapshotMeta.verify(snapRec.bytes);
  } catch (e) {
    throw new KeyshareError(BackupCodes.HASH_MISMATCH, `the snapshot differs from the timestamp's hashes: ${(e as Error).message}`, { cause: e });
  }
  const snapshot = parseMetadata(MetadataKind.Snapshot, snapRec.bytes);
  check('snapshot', () => root.verifyDelegate(MetadataKind.Snapshot, snapshot));
  const roles = new Map<string, Metadata<Targets>>();
  for (const [file, meta] of Object.entries(snapshot.signed.meta)) {
    const role = file.replace(/\.json$/, '');
    const rec = await store.getMetadata(role, meta.version);
    if (!rec) throw invalid(`${role} version ${meta.version}, which the snapshot names, is missing`);
    roles.set(role, parseMetadata(MetadataKind.Targets, rec.bytes));
  }
  const top = roles.get(MetadataKind.Targets);
  if (!top) throw invalid('the snapshot names no targets role');
  check('targets', () => root.verifyDelegate(MetadataKind.Targets, top));
  for (const [name, md] of roles) {
    if (name === MetadataKind.Targets) continue;
    const parent = [...roles.values()].find((p) => p.signed.delegations?.roles?.[name] !== undefined || p.signed.delegations?.succinctRoles?.isDelegatedRole(name));
    if (!parent) throw invalid(`no role delegates ${name}`);
    check(name, () => parent.verifyDelegate(name, md));
  }
  for (const md of roles.values()) {
    for (const t of Object.values(md.signed.targets)) {
      const sha = t.hashes.sha256;
      const rec = sha ? await store.getTarget(sha, t.path) : null;
      if (!rec || rec.bytes.length !== t.length || sha256(rec.bytes) !== sha) throw new KeyshareError(BackupCodes.HASH_MISMATCH, `target ${t.path} is missing or differs from its signed hashes`);
    }
  }
  return root.signed;
}

/** What a backup may hold (shared/safe-tar.ts: the one safe extractor). */
const BACKUP_TAR_RULES: TarRules = {
  what: 'backup',
  limits: { maxArchiveBytes: LIMITS.maxDbBytes + 64 * MiB, maxTotalBytes: LIMITS.maxDbBytes + 64 * MiB, maxFiles: LIMITS.maxFiles },
  fileCap(rel) {
    if (rel !== BACKUP_JSON && rel !== DB_FILE && rel !== 'root.json' && !OPTIONAL_FILES.includes(rel) && !KEY_FILE.test(rel)) throw invalid(`unexpected file ${JSON.stringify(rel.slice(0, 200))} in the backup`);
    return rel === DB_FILE ? LIMITS.maxDbBytes : LIMITS.maxFileBytes;
  },
  directoryAllowed: (rel) => rel === 'keys',
  errors: {
    invalid,
    tooLarge: (m) => new KeyshareError(BackupCodes.BACKUP_TOO_LARGE, m),
    traversal: (m) => new KeyshareError(BackupCodes.PATH_TRAVERSAL, m),
  },
};

/** Extracts a backup into the empty directory `dest`, with limits; returns each file with its size. */
function extractBackup(file: string, dest: string): Promise<Map<string, number>> {
  return extractTar(file, dest, BACKUP_TAR_RULES);
}

