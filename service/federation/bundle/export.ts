/**
 * `keyshare bundle export`: this service's repository as one tar file (CONTRACT.md "Offline
 * bundles"), made from the data dir whether or not the service runs (SQLite in WAL mode lets
 * it read and commit next to a running service).
 *
 * Validity. A site may import a bundle weeks after it was made, so the bundle's timestamp and
 * snapshot are valid for `--valid-for`, and so is every targets role in it (a role expiring
 * earlier is re-signed with the longer expiry, as a new version).
 *
 * Versions. An outside TUF client verifies the bundle against this repository's root, and a
 * client may see both the bundle (e.g. through a mirror) and the live repository. Each version
 * number of a role must therefore name one content only, and versions must only go up. The
 * export reserves its versions in the live repository's sequence, in one commit that is
 * checked against concurrent publishes (CONFLICT, then it starts over):
 *   - re-signed targets roles become the live versions too (same content, later expiry);
 *   - the bundle's long-lived snapshot and timestamp are version S+1 / T+1 (stored, so every
 *     version number has its bytes, but never served as the newest);
 *   - a live snapshot and timestamp S+2 / T+2 with the usual short lifetimes follow at once,
 *     so online clients never get the long-lived timestamp as current.
 * The next bundle therefore always has higher versions than this one, which is what the
 * importer's rollback check relies on. A running service notices the new live version within
 * seconds (Publisher.checkExternalWrites) and serves it.
 *
 * --scopes. A filtered bundle holds all the metadata (the bins still list every target, which
 * is valid TUF: a client fetches only the targets it asks for) and only the trust files of
 * the matching scopes, plus index.json, every index shard and every CRL (public revocation
 * data). Scope names
 * outside the filter stay visible in the metadata; their trust documents do not travel.
 *
 * --since (incremental): only the metadata of roles whose version moved since the base bundle,
 * and only the target files those roles did not list then. Roots, timestamp and snapshot
 * always travel. The importer completes it with the files kept from earlier bundles.
 *
 * Streaming: metadata is held in memory (as the publisher does); target files are read from
 * the store one at a time and written through node-tar with back-pressure.
 */
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { MetaFile, MetadataKind } from '@tufjs/models';
import { Header, Pack, ReadEntry } from 'tar';
import { parseScope, scopeContains } from '../../domain/scope.js';
import { scopeOfTrustPath } from '../../domain/trust-index.js';
import { reissuedRecord, signSnapshotAndTimestamp } from '../../repo/writer.js';
import { attachLog } from '../../tlog/log.js';
import { KeyshareError, Codes, isKeyshareError } from '../../errors.js';
import { isInitialized } from '../../instance.js';
import { DEFAULT_EXPIRY, type ExpiryConfig } from '../../repo/layout.js';
import { loadSignersForRoot } from '../../repo/online-keys.js';
import type { OnlineSigners } from '../../repo/keys.js';
import { loadTenantSigners, tenantOfRole } from '../../repo/tenants.js';
import type { Signer } from '../../crypto/signer.js';
import { expiresAt, parseMetadata } from '../../repo/tuf.js';
import { openStore, type MetadataRecord, type Store } from '../../store/index.js';
import { BundleCodes } from '../../../shared/bundle/errors.js';
import { bundleLogSection } from './log-proof.js';
import { extractBundle } from '../../../shared/bundle/extract.js';
import {
  BUNDLE_JSON,
  BUNDLE_MEDIA_TYPE,
  parseManifest,
  TUF_DIR,
  consistentTargetName,
  originOf,
  sha256Hex,
  type BundleFile,
  type BundleManifest,
  type BundleTarget,
} from '../../../shared/bundle/format.js';

export const DEFAULT_VALID_FOR_SECONDS = 30 * 86_400;

export interface ExportProgress {
  files: number;
  totalFiles: number;
  bytes: number;
  totalBytes: number;
}

export interface ExportOptions {
  dataDir: string;
  /** The data dir's database (service/store/open.ts; absent: as configured for the data dir). */
  database?: string | null;
  out: string;
  /** Scope patterns (`*.acme.io`, `registry.acme.io`): only their trust files travel. */
  scopes?: string[];
  validForSeconds?: number;
  gzip?: boolean;
  clock?: () => Date;
  onProgress?: (p: ExportProgress) => void;
  /**
   * An incremental bundle: only what changed since an earlier bundle of this repository, given
   * as its file or its timestamp version. The importer needs that earlier bundle (or a later one).
   */
  since?: { bundle: string } | { timestamp: number };
}

export interface ExportResult {
  out: string;
  origin: string;
  createdAt: string;
  expires: string;
  versions: BundleManifest['versions'];
  /** An incremental bundle: the timestamp version it continues; null for a full bundle. */
  since: number | null;
  scopes: number;
  targets: number;
  files: number;
  bytes: number;
  warnings: string[];
}

/** One file of the archive: metadata bytes in memory, or a target read from the store when written. */
type Entry = BundleFile & ({ bytes: Buffer } | { target: { sha256: string; path: string } });

interface Prepared {
  manifest: BundleManifest;
  entries: Entry[];
  warnings: string[];
}

const MAX_ATTEMPTS = 5;
const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

export async function exportBundle(options: ExportOptions): Promise<ExportResult> {
  const validFor = options.validForSeconds ?? DEFAULT_VALID_FOR_SECONDS;
  const since = options.since ? await resolveSince(options.since) : null;
  if (!Number.isInteger(validFor) || validFor < 60) throw new KeyshareError(Codes.BAD_REQUEST, '--valid-for must be at least one minute');
  const given = options.scopes && options.scopes.length > 0 ? [...new Set(options.scopes)] : null;
  for (const p of given ?? []) parseScope(p);
  if (!isInitialized(options.dataDir, options.database)) throw new KeyshareError(Codes.NOT_INITIALIZED, `${options.dataDir} is not initialised (run \`keyshare init\`)`);

  const store = await openStore({ dataDir: options.dataDir, database: options.database });
  try {
    const log = await attachLog(options.dataDir, store); // issue 23: the versions this export publishes are logged
    if (since && since.filter === undefined) {
      const recorded = await store.getMeta(`${EXPORT_SCOPES_META}${since.timestamp}`);
      if (recorded !== null) since.filter = JSON.parse(recorded) as string[] | null;
    }
    const filter = since ? incrementalFilter(given, since) : given;
    let prepared: Prepared | null = null;
    for (let attempt = 1; !prepared; attempt++) {
      try {
        prepared = await prepare(store, options, validFor, filter, since);
      } catch (e) {
        // Another publish landed between our read and our commit: start over from the new state.
        if (!(isKeyshareError(e) && e.code === Codes.CONFLICT) || attempt >= MAX_ATTEMPTS) throw e;
      }
    }
    prepared.manifest.log = await bundleLogSection(store, log, prepared.manifest.versions.timestamp);
    // What this bundle's scope filter was, for a later `--since <its timestamp version>`.
    await store.setMeta(`${EXPORT_SCOPES_META}${prepared.manifest.versions.timestamp}`, JSON.stringify(filter));
    const bytes = await writeArchive(store, prepared, options);
    const m = prepared.manifest;
    return {
      out: options.out,
      origin: m.origin,
      createdAt: m.createdAt,
      expires: m.expires,
      versions: m.versions,
      since: m.since?.timestamp ?? null,
      scopes: m.scopes.included.length,
      targets: m.targets.length,
      files: m.files.length + 1,
      bytes,
      warnings: prepared.warnings,
    };
  } finally {
    await store.close();
  }
}

/** Reads the repository, signs what the bundle needs, reserves the versions (one commit). */
async function prepare(store: Store, options: ExportOptions, validFor: number, filter: string[] | null, since: Since | null): Promise<Prepared> {
  const now = (options.clock ?? (() => new Date()))();
  const createdAt = iso(now);
  const bundleExpires = expiresAt(now, validFor);
  const expiry: ExpiryConfig = { ...DEFAULT_EXPIRY, ...JSON.parse((await store.getMeta('expiry')) ?? '{}') };
  const warnings: string[] = [];

  // One statement: a consistent view of the newest version of every role.
  const latest = new Map((await store.latestMetadataAll()).map((r) => [r.role, r]));
  const timestamp = latest.get('timestamp');
  const snapshotRec = latest.get('snapshot');
  const rootRec = latest.get('root');
  if (!timestamp || !snapshotRec || !rootRec) throw new KeyshareError(Codes.NOT_INITIALIZED, 'the repository has not been published yet');
  const roots = await store.listMetadataVersions('root');
  if (roots.length === 0 || roots[0]!.version !== 1 || roots.some((r, i) => r.version !== i + 1)) {
    throw new KeyshareError(Codes.INTERNAL, 'the root versions in the store are not 1..N');
  }
  const root = parseMetadata(MetadataKind.Root, rootRec.bytes).signed;
  if (Date.parse(root.expires) < Date.parse(bundleExpires)) {
    warnings.push(`root v${root.version} expires at ${root.expires}, before the bundle (${bundleExpires}): sign a new root, or importers will refuse the bundle then`);
  }
  const signers = loadSignersForRoot(options.dataDir, root);
  const origin = originOf(parseMetadata(MetadataKind.Root, roots[0]!.bytes).signed.toJSON());

  // Every targets role the snapshot lists, re-signed when it would expire before the bundle.
  const oldSnapshot = parseMetadata(MetadataKind.Snapshot, snapshotRec.bytes).signed;
  const roleRecords = new Map<string, MetadataRecord>();
  let tenantKeys: Map<string, Signer> | undefined;
  const tenantSigners = () => (tenantKeys ??= loadTenantSigners(options.dataDir));
  const resigned: MetadataRecord[] = [];
  for (const [file, meta] of Object.entries(oldSnapshot.meta)) {
    const role = file.replace(/\.json$/, '');
    const rec = latest.get(role)?.version === meta.version ? latest.get(role)! : await store.getMetadata(role, meta.version);
    if (!rec) throw new KeyshareError(Codes.INTERNAL, `${role} version ${meta.version}, which the snapshot names, is not in the store`);
    // A tenant's role and bins are signed by the tenant's key (service/repo/tenants.ts); an
    // offline tenant's key is not here, so its roles go into the bundle as they are.
    const tenant = tenantOfRole(role);
    const signer = tenant === null ? signers.targets : tenantSigners().get(tenant);
    if (signer && Date.parse(rec.expires) < Date.parse(bundleExpires)) {
      // The same role, content unchanged, as the next version with a later expiry, through the one
      // metadata writer. The trust role and the hashed bins are delegated to the targets key
      // (Publisher.bootstrap), a tenant's role and bins to the tenant's key.
      const next = await reissuedRecord(rec.role, parseMetadata(MetadataKind.Targets, rec.bytes).signed, { version: rec.version + 1, expires: bundleExpires }, signer);
      resigned.push(next);
      roleRecords.set(role, next);
    } else {
      roleRecords.set(role, rec);
    }
  }
  const meta: Record<string, MetaFile> = {};
  for (const [role, rec] of [...roleRecords].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) meta[`${role}.json`] = new MetaFile({ version: rec.version });

  const sv = oldSnapshot.version;
  const tv = timestamp.version;
  const base = since ? await baseOf(store, since, origin, tv) : null;
  // The repository's one metadata writer (service/repo/writer.ts) signs both pairs.
  const [bundleSnapshot, bundleTimestamp] = await signSnapshotAndTimestamp({ signers, meta, snapshotVersion: sv + 1, timestampVersion: tv + 1, snapshotExpires: bundleExpires, timestampExpires: bundleExpires });
  const [liveSnapshot, liveTimestamp] = await signSnapshotAndTimestamp({
    signers,
    meta,
    snapshotVersion: sv + 2,
    timestampVersion: tv + 2,
    snapshotExpires: expiresAt(now, expiry.snapshot),
    timestampExpires: expiresAt(now, expiry.timestamp),
  });

  // Target files: every target of the top-level targets role and of the delegated roles.
  // Incremental: only roles whose version moved since the base, and only their new targets.
  // Keyed by path and digest: two roles may list the same target (a scope moving into a
  // tenant's role while its old bin still lists it), and the archive holds each file once.
  const targetFiles = new Map<string, BundleTarget>();
  for (const [role, rec] of roleRecords) {
    const baseVersion = base?.meta.get(role);
    const old = baseVersion === undefined ? null : baseVersion === rec.version ? 'same' : await store.getMetadata(role, baseVersion);
    const known = new Set(old && old !== 'same' ? Object.values(parseMetadata(MetadataKind.Targets, old.bytes).signed.targets).map((t) => `${t.path}\n${t.hashes.sha256}`) : []);
    for (const t of Object.values(parseMetadata(MetadataKind.Targets, rec.bytes).signed.targets)) {
      const sha = t.hashes.sha256;
      if (!sha) throw new KeyshareError(Codes.INTERNAL, `target ${t.path} has no sha256`);
      const file = { path: t.path, length: t.length, sha256: sha };
      if (old !== 'same' && !known.has(`${t.path}\n${sha}`)) targetFiles.set(`${t.path}\n${sha}`, file);
    }
  }
  const included: string[] = [];
  const selected = [...targetFiles.values()]
    .filter((t) => {
      const scope = scopeOfTrustPath(t.path);
      if (scope === null) return true; // index.json and its shards, CRLs, any other target
      const keep = !filter || filter.some((p) => scopeContains(p, scope));
      if (keep) included.push(scope);
      return keep;
    })
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

  // The files, in archive order: roots, timestamp, snapshot, targets roles, target files.
  const entries: Entry[] = [];
  const addBytes = (name: string, bytes: Buffer) => entries.push({ path: `${TUF_DIR}/${name}`, length: bytes.length, sha256: sha256Hex(bytes), bytes });
  for (const r of roots) addBytes(`${r.version}.root.json`, r.bytes);
  addBytes('timestamp.json', bundleTimestamp.bytes);
  addBytes(`${bundleSnapshot.version}.snapshot.json`, bundleSnapshot.bytes);
  for (const [role, rec] of roleRecords) if (base?.meta.get(role) !== rec.version) addBytes(`${rec.version}.${role}.json`, rec.bytes);
  for (const t of selected) {
    entries.push({ path: `${TUF_DIR}/targets/${consistentTargetName(t.path, t.sha256)}`, length: t.length, sha256: t.sha256, target: { sha256: t.sha256, path: t.path } });
  }

  const manifest: BundleManifest = {
    mediaType: BUNDLE_MEDIA_TYPE,
    origin,
    createdAt,
    expires: bundleExpires,
    versions: { root: root.version, timestamp: bundleTimestamp.version, snapshot: bundleSnapshot.version, targets: roleRecords.get('targets')?.version ?? 0 },
    scopes: { filter, included: [...new Set(included)].sort() },
    since: base ? { timestamp: base.timestamp, snapshot: base.snapshot } : null,
    targets: selected,
    files: entries.map(({ path, length, sha256 }) => ({ path, length, sha256 })),
  };

  // Reserve the versions: fails with CONFLICT if a publish landed since our read.
  await store.commitPublish({
    upToSeq: 0, // consumes no dirty marks: pending changes go out with the next publish
    docs: [],
    targets: [],
    metadata: [...resigned, bundleSnapshot, bundleTimestamp, liveSnapshot, liveTimestamp],
    publishedAt: now.toISOString(),
    baseTimestampVersion: tv,
  });
  return { manifest, entries, warnings };
}

/** The base of an incremental export; `filter` is its --scopes (null: all), undefined while unknown. */
type Since = { timestamp: number; origin: string | null; filter?: string[] | null };

/** Meta key prefix: the scope filter of the bundle exported with a given timestamp version. */
const EXPORT_SCOPES_META = 'bundle_export_scopes:';

/**
 * Issue 24 row 2: an incremental bundle holds the scopes its base held, never more. Without
 * --scopes it inherits the base's filter; with other --scopes it is refused, since the importer
 * would get scopes that the base excluded (or lose track of those it included).
 */
function incrementalFilter(given: string[] | null, since: Since): string[] | null {
  const show = (f: string[] | null) => (f ? f.join(' ') : 'every scope');
  if (since.filter === undefined) {
    if (given) return given;
    throw new KeyshareError(
      BundleCodes.BUNDLE_SCOPE_MISMATCH,
      `cannot tell which scopes the base bundle (timestamp version ${since.timestamp}) held: give --since the base bundle's file, or --scopes as it was exported`,
    );
  }
  if (given === null) return since.filter;
  const same = since.filter !== null && since.filter.length === given.length && given.every((p) => since.filter!.includes(p));
  if (!same) {
    throw new KeyshareError(
      BundleCodes.BUNDLE_SCOPE_MISMATCH,
      `the base bundle holds ${show(since.filter)}, and this export names --scopes ${show(given)}: an incremental bundle must keep its base's scopes (drop --scopes to inherit them, or export a full bundle)`,
    );
  }
  return given;
}

/** `--since`: a bundle file (its bundle.json) or a timestamp version. */
async function resolveSince(since: NonNullable<ExportOptions['since']>): Promise<Since> {
  if ('timestamp' in since) {
    if (!Number.isSafeInteger(since.timestamp) || since.timestamp < 1) throw new KeyshareError(Codes.BAD_REQUEST, '--since takes a bundle file or a timestamp version');
    return { timestamp: since.timestamp, origin: null };
  }
  const scratch = mkdtempSync(join(tmpdir(), 'keyshare-since-'));
  try {
    const files = await extractBundle(since.bundle, scratch);
    if (!files.has(BUNDLE_JSON)) throw new KeyshareError(BundleCodes.BUNDLE_INVALID, `${since.bundle} has no bundle.json`);
    const m = parseManifest(readFileSync(join(scratch, BUNDLE_JSON)));
    return { timestamp: m.versions.timestamp, origin: m.origin, filter: m.scopes.filter };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The base of an incremental bundle: its timestamp and snapshot versions, and the snapshot's role versions. */
async function baseOf(store: Store, since: Since, origin: string, currentTimestamp: number): Promise<{ timestamp: number; snapshot: number; meta: Map<string, number> }> {
  if (since.origin !== null && since.origin !== origin) {
    throw new KeyshareError(Codes.BAD_REQUEST, `the --since bundle comes from origin ${since.origin}, not from this repository (${origin})`);
  }
  if (since.timestamp > currentTimestamp) throw new KeyshareError(Codes.BAD_REQUEST, `--since names timestamp version ${since.timestamp}, newer than this repository's (${currentTimestamp})`);
  const gone = (what: string) =>
    new KeyshareError(Codes.NOT_FOUND, `${what} of the --since base (timestamp version ${since.timestamp}) is no longer in the store: export a full bundle`);
  const ts = await store.getMetadata('timestamp', since.timestamp);
  if (!ts) throw gone('the timestamp');
  const snapshotVersion = parseMetadata(MetadataKind.Timestamp, ts.bytes).signed.snapshotMeta.version;
  const snapshot = await store.getMetadata('snapshot', snapshotVersion);
  if (!snapshot) throw gone('the snapshot');
  const meta = new Map(Object.entries(parseMetadata(MetadataKind.Snapshot, snapshot.bytes).signed.meta).map(([file, m]) => [file.replace(/\.json$/, ''), m.version]));
  return { timestamp: since.timestamp, snapshot: snapshotVersion, meta };
}

/** Streams the archive to `<out>.partial-*`, then renames it: no half-written bundle under the real name. */
async function writeArchive(store: Store, prepared: Prepared, options: ExportOptions): Promise<number> {
  const gzip = options.gzip ?? /\.(tgz|gz)$/.test(options.out);
  const tmp = `${options.out}.partial-${process.pid}`;
  const mtime = new Date(prepared.manifest.createdAt);
  const pack = new Pack({ portable: true, gzip: gzip ? { level: 9 } : undefined });
  const written = pipeline(pack, createWriteStream(tmp, { mode: 0o644 }));
  // An error on the file side ends the pipeline; stop feeding the pack then.
  let failed: unknown = null;
  written.catch((e) => (failed = e));
  const totalBytes = prepared.entries.reduce((n, e) => n + e.length, 0);
  const progress: ExportProgress = { files: 0, totalFiles: prepared.entries.length, bytes: 0, totalBytes };

  const add = async (path: string, bytes: Buffer) => {
    if (failed) throw failed;
    const entry = new ReadEntry(new Header({ path, mode: 0o644, size: bytes.length, type: 'File', mtime }));
    entry.end(bytes);
    if (!pack.write(entry)) await Promise.race([once(pack, 'drain'), written]);
  };
  try {
    await add(BUNDLE_JSON, Buffer.from(JSON.stringify(prepared.manifest, null, 2) + '\n'));
    for (const e of prepared.entries) {
      let bytes: Buffer;
      if ('bytes' in e) bytes = e.bytes;
      else {
        const t = await store.getTarget(e.target.sha256, e.target.path);
        if (!t || sha256Hex(t.bytes) !== e.sha256 || t.bytes.length !== e.length) {
          throw new KeyshareError(Codes.INTERNAL, `target ${e.target.path} in the store does not match its metadata`);
        }
        bytes = t.bytes;
      }
      await add(e.path, bytes);
      progress.files++;
      progress.bytes += bytes.length;
      options.onProgress?.({ ...progress });
    }
    pack.end();
    await written;
    renameSync(tmp, options.out);
  } catch (e) {
    pack.destroy?.();
    rmSync(tmp, { force: true });
    throw e;
  }
  return statSync(options.out).size;
}
