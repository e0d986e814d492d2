/**
 * `keyshare bundle import`: verification first, then one store transaction (CONTRACT.md
 * "Offline bundles"). The importer is an orchestrator in the tuf-js `updater.ts` mould: it
 * extracts (shared/bundle/extract.ts, with limits), verifies (the client library's verifyBundle,
 * through federation's port ports.ts: bundle.json digests, the root chain, the TUF client workflow
 * pinned to --root), checks the bundle is newer than
 * the last one from the same origin, and only then writes:
 *
 *  - the imported scopes, with their anchors and revocations, `source = bundle:<origin>`
 *    (service/federation/federate.ts, shared with online upstreams); the publisher republishes
 *    them under this service's own root;
 *  - the CRLs the documents list for the CA anchors imported, read from the bundle's verified
 *    targets and stored with the checks of `crl add` (service/federation/carry-crls.ts, shared with
 *    online upstreams): the newest CRL of a CA wins (RFC 5280 5.2.3); a refused one (ROLLBACK,
 *    CRL_EXPIRED, ...) is left out and reported in `crlErrors` while the rest lands;
 *  - the origin as an upstream row named `<origin>` (url `bundle:<origin>`, mode `mirror`,
 *    the newest verified root, the versions seen), and the bundle's repository files in
 *    upstream_files, served byte for byte under /mirrors/<origin>/tuf/.
 *
 * Incremental bundles (`export --since`) carry only what changed: the files kept from the
 * earlier bundles complete them before verification, and a missing base is BUNDLE_GAP.
 *
 * Idempotent: the same bundle again changes nothing. Works on the data dir whether or not the
 * service runs: the writes mark scopes dirty, and a running service's publisher notices the
 * change within seconds (Publisher.checkExternalWrites); a stopped one publishes at start.
 *
 * What a bundle does to scopes of its origin: scopes the origin's signed index (index.json and
 * its shards; or an index v1 from before issue 17) no longer lists are removed here. A scope the index lists but the bundle does not carry (a --scopes
 * export) keeps what an earlier bundle brought, and is reported in `notInBundle`. A scope that
 * another origin or an online upstream also defines is merged (the union of anchors, each
 * with its source), as for online upstreams. A scope defined locally here is a conflict: the
 * import is refused (SCOPE_EXISTS) and nothing changes (an online sync, which nobody watches,
 * leaves such a scope out and reports it in the upstream's lastError instead).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { KeyshareError, Codes } from '../../errors.js';
import { isInitialized } from '../../instance.js';
import { parseMetadata } from '../../repo/tuf.js';
import { MetadataKind } from '@tufjs/models';
import { openStore, type Store } from '../../store/index.js';
import { BundleCodes, bundleError } from '../../../shared/bundle/errors.js';
import { DEFAULT_LIMITS, extractBundle, type ExtractLimits } from '../../../shared/bundle/extract.js';
import { contributionsFromStore, documentReader, federateOrigin, fromContributions, parseIndex, toContributions, type Contributions, type FederatedScope } from '../federate.js';
import { crlProblem, federatedCrls, type CrlListing, type CrlRefusal } from '../carry-crls.js';
import { selfIdentity } from '../identity.js';
import { bundleHop } from '../source.js';
import { BUNDLE_JSON, SOURCE_PREFIX, TUF_DIR, parseManifest, type BundleManifest, type VerifiedBundle } from '../../../shared/bundle/format.js';
import type { FederationClient } from '../ports.js';
import { checkBundleLog, type KeptLog } from './log-proof.js';
import { INDEX_TARGET, logKeyStated } from '../../../shared/trust-index.js';

export interface ImportOptions {
  /** The client library, behind federation's port (ports.ts): verifies the bundle and its log checkpoint. */
  client: FederationClient;
  /** The bundle file (tar, or gzip-compressed tar). */
  file: string;
  /** The pinned root.json of the origin, out of band (never taken from the bundle). */
  root: Buffer;
  /** The data dir to import into; or an open store (in-process, e.g. tests). */
  dataDir?: string;
  /** With `dataDir`: its database (service/store/open.ts; absent: as configured for the data dir). */
  database?: string | null;
  store?: Store;
  /** Called after the commit when the importer runs inside a service (publish now). */
  publisher?: { notify(): Promise<unknown> };
  clock?: () => Date;
  limits?: Partial<ExtractLimits>;
  /** Where the scratch directory goes (default: the OS temp dir). */
  tmpDir?: string;
}

export interface ImportResult {
  origin: string;
  source: string;
  /** False when this exact bundle was imported before: nothing was written. */
  changed: boolean;
  createdAt: string;
  expires: string;
  versions: { root: number; timestamp: number; snapshot: number };
  scopes: { created: string[]; updated: string[]; removed: string[]; unchanged: number; notInBundle: string[] };
  anchors: { added: number; updated: number; removed: number };
  revocationsAdded: number;
  /** The CA anchors whose CRL from the bundle was stored (newer than the one held). */
  crlsUpdated: string[];
  /** CRLs of the bundle that were refused (e.g. ROLLBACK: older than the one held); the rest of the import landed. */
  crlErrors: CrlRefusal[];
  /** Where this service serves the origin's repository byte for byte. */
  mirror: string;
}

/** What the upstream row's `state` holds for a bundle origin. */
export interface BundleState {
  kind: 'bundle';
  rootVersion: number;
  timestampVersion: number;
  timestampSha256: string;
  snapshotVersion: number;
  roleVersions: Record<string, number>;
  createdAt: string;
  expires: string;
  importedAt: string;
  scopes: string[];
  /** What this origin brings to federated scopes (service/federation/federate.ts); absent before it was kept. */
  federated?: Contributions;
  /** Issue 23: the origin's log key, pinned at the first bundle that had a log, and the newest checkpoint verified. */
  log?: KeptLog;
}

export const bundleSource = (origin: string) => `${SOURCE_PREFIX}${origin}`;
export const mirrorPath = (origin: string) => `/mirrors/${origin}/tuf/`;

const rollback = (m: string) => bundleError(BundleCodes.ROLLBACK, m);

/** The keys and threshold of each top-level role of a root, to tell a rotation. */
function roleKeys(rootBytes: Buffer, role: 'timestamp' | 'snapshot'): string {
  const r = parseMetadata(MetadataKind.Root, rootBytes).signed.roles[role];
  return JSON.stringify([[...(r?.keyIDs ?? [])].sort(), r?.threshold]);
}

/**
 * TUF spec 5.3.11: whether the timestamp or snapshot keys changed between the root trusted from
 * the last bundle and the bundle's root. Then the trusted timestamp and snapshot are dropped,
 * which is how a repository recovers from a fast-forward attack (versions pushed up with a
 * compromised key start again lower).
 */
export function timestampOrSnapshotRotated(trustedRoot: Buffer, bundleRoot: Buffer): boolean {
  return (['timestamp', 'snapshot'] as const).some((role) => roleKeys(trustedRoot, role) !== roleKeys(bundleRoot, role));
}

/**
 * TUF spec 5.4.3, 5.5.5 across bundles: no version may go down from the last bundle imported
 * from the same origin, unless the timestamp or snapshot keys were rotated since (5.3.11: the
 * trusted timestamp and snapshot are dropped; the root version still may not go down).
 * Returns 'same' for that very bundle again (idempotent import).
 */
export function compareWithPrevious(prev: BundleState | null, v: VerifiedBundle, rotated = false): 'first' | 'same' | 'newer' {
  if (!prev) return 'first';
  const ts = v.timestamp.version;
  if (ts === prev.timestampVersion && v.timestamp.sha256 === prev.timestampSha256) return 'same';
  if (rotated) {
    if (v.root.version < prev.rootVersion) throw rollback(`the bundle's root is version ${v.root.version}, older than version ${prev.rootVersion} already trusted`);
    return 'newer';
  }
  if (ts < prev.timestampVersion) {
    throw rollback(`the bundle's timestamp is version ${ts}, older than version ${prev.timestampVersion} imported from origin ${v.origin} (created ${prev.createdAt})`);
  }
  if (ts === prev.timestampVersion) {
    throw rollback(`the bundle's timestamp version ${ts} differs from the one already imported with that version`);
  }
  if (v.root.version < prev.rootVersion) throw rollback(`the bundle's root is version ${v.root.version}, older than version ${prev.rootVersion} already trusted`);
  if (v.snapshot.version < prev.snapshotVersion) throw rollback(`the bundle's snapshot is version ${v.snapshot.version}, older than version ${prev.snapshotVersion}`);
  for (const [role, version] of Object.entries(prev.roleVersions)) {
    const now = v.snapshot.meta[role];
    if (now === undefined) throw rollback(`the bundle's snapshot lacks ${role}, which the last bundle had`);
    if (now < version) throw rollback(`the bundle's ${role} is version ${now}, older than version ${version}`);
  }
  return 'newer';
}

export async function importBundle(options: ImportOptions): Promise<ImportResult> {
  const now = (options.clock ?? (() => new Date()))();
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const scratch = mkdtempSync(join(options.tmpDir ?? tmpdir(), 'keyshare-bundle-'));
  try {
    const dir = join(scratch, 'bundle');
    const extracted = await extractBundle(options.file, dir, limits);
    return await withStore(options, async (store) => {
      const manifest = extracted.has(BUNDLE_JSON) ? parseManifest(readFileSync(join(dir, BUNDLE_JSON))) : null;
      if (manifest) await completeIncremental(store, dir, manifest);
      // The newest root earlier bundles of this origin brought (verifyBundle checks the origin).
      const trusted = manifest ? await previousBundle(store, manifest.origin) : null;
      const verified = await options.client.verifyBundle(dir, extracted, options.root, now, join(scratch, 'work'), trusted?.root);
      return apply(store, verified, now, options);
    });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The upstream row of a bundle origin imported before, with its state; null if none. */
async function previousBundle(store: Store, origin: string): Promise<{ root: Buffer; state: BundleState } | null> {
  const upstream = await store.getUpstream(origin);
  if (!upstream || upstream.url !== bundleSource(origin) || (upstream.state as BundleState | null)?.kind !== 'bundle') return null;
  return { root: upstream.root, state: upstream.state as unknown as BundleState };
}

/**
 * An incremental bundle continues from an earlier one: this site must hold that base or a later
 * bundle of the same origin (else BUNDLE_GAP). The files kept from the earlier bundles go into
 * the extracted repository where the bundle has none, and verification then covers the whole.
 * Nothing here is trusted yet: what does not verify is refused or dropped by verifyBundle.
 */
async function completeIncremental(store: Store, dir: string, manifest: BundleManifest): Promise<void> {
  if (!manifest.since) return;
  const prev = (await previousBundle(store, manifest.origin))?.state ?? null;
  if (!prev || prev.timestampVersion < manifest.since.timestamp) throw gapError(manifest.origin, manifest.since.timestamp, prev?.timestampVersion ?? null);
  const tufDir = join(dir, TUF_DIR);
  for (const f of await store.listUpstreamFiles(manifest.origin)) {
    const file = join(tufDir, ...f.path.split('/'));
    if (existsSync(file)) continue;
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, f.bytes, { flag: 'wx' });
  }
}

/**
 * BUNDLE_GAP: an incremental bundle continuing from version `since` of `origin`, where this site
 * holds `held` (null: nothing of that origin). `remedy` says what to import instead (through a
 * registry: a full bundle's tag); by default, the bundles in between or a full one.
 */
export function gapError(origin: string, since: number, held: number | null, remedy: { text: string; fullBundle: string | null } = { text: 'import the bundles in between first, or a full bundle', fullBundle: null }): KeyshareError {
  return new KeyshareError(
    BundleCodes.BUNDLE_GAP,
    `this incremental bundle continues from timestamp version ${since} of origin ${origin}, ` +
      (held !== null ? `but the last bundle imported here is version ${held}` : 'and no bundle of that origin was imported here') +
      `: it needs version ${since} or later first; ${remedy.text}`,
    { details: { origin, needs: since, held, fullBundle: remedy.fullBundle } },
  );
}

/** The timestamp version of the last bundle of `origin` imported here, or null (none). */
export async function heldBundleVersion(options: Pick<ImportOptions, 'store' | 'dataDir' | 'database'>, origin: string): Promise<number | null> {
  return withStore(options, async (store) => (await previousBundle(store, origin))?.state.timestampVersion ?? null);
}

async function withStore<T>(options: Pick<ImportOptions, 'store' | 'dataDir' | 'database'>, fn: (store: Store) => Promise<T>): Promise<T> {
  if (options.store) return fn(options.store);
  if (!options.dataDir) throw new KeyshareError(Codes.CONFIG_INVALID, 'importBundle needs a data dir or a store');
  if (!isInitialized(options.dataDir, options.database)) throw new KeyshareError(Codes.NOT_INITIALIZED, `${options.dataDir} is not initialised (run \`keyshare init\`)`);
  const store = await openStore({ dataDir: options.dataDir, database: options.database });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** The `crls` a trust document lists (federateDocument checked the rest of it). */
function crlListing(path: string, scope: string, bytes: Buffer): CrlListing {
  const crls = (JSON.parse(bytes.toString('utf8')) as { crls?: unknown }).crls;
  if (crls === undefined) return { scope };
  const ok = Array.isArray(crls) && crls.every((c) => typeof c === 'object' && c !== null && typeof c.issuer === 'string' && typeof c.target === 'string');
  if (!ok) throw bundleError(BundleCodes.BUNDLE_INVALID, `${path}: crls must list objects with issuer and target`);
  return { scope, crls: crls as { issuer: string; target: string }[] };
}

/** The log key the bundle's verified top-level targets state (issue 23; trust-index.ts logKeyStated). */
function statedLogKey(v: VerifiedBundle): string | undefined {
  const top = v.files.find((f) => f.path === `${v.snapshot.meta.targets}.targets.json`);
  return top ? logKeyStated(parseMetadata(MetadataKind.Targets, readFileSync(top.file)).signed.targets[INDEX_TARGET]?.custom) : undefined;
}

async function apply(store: Store, v: VerifiedBundle, now: Date, options: ImportOptions): Promise<ImportResult> {
  const origin = v.origin;
  const source = bundleSource(origin);
  const result: ImportResult = {
    origin,
    source,
    changed: false,
    createdAt: v.manifest.createdAt,
    expires: v.timestamp.expires,
    versions: { root: v.root.version, timestamp: v.timestamp.version, snapshot: v.snapshot.version },
    scopes: { created: [], updated: [], removed: [], unchanged: 0, notInBundle: [] },
    anchors: { added: 0, updated: 0, removed: 0 },
    revocationsAdded: 0,
    crlsUpdated: [],
    crlErrors: [],
    mirror: mirrorPath(origin),
  };

  const upstream = await store.getUpstream(origin);
  if (upstream && upstream.url !== source) {
    throw new KeyshareError(Codes.CONFLICT, `an upstream named ${origin} exists and is not a bundle origin`);
  }
  const prev = (upstream?.state as BundleState | null | undefined)?.kind === 'bundle' ? (upstream!.state as unknown as BundleState) : null;
  const rotated = prev !== null && timestampOrSnapshotRotated(upstream!.root, v.root.bytes);
  if (compareWithPrevious(prev, v, rotated) === 'same') return result;
  // Issue 23: the bundle's timestamp is in the origin's log, whose tree extends the one kept (offline).
  const rootV1 = v.files.find((f) => f.path === '1.root.json');
  if (!rootV1) throw bundleError(BundleCodes.BUNDLE_INVALID, 'the bundle has no root version 1');
  const log = checkBundleLog(options.client, v.manifest.log, v.timestamp, readFileSync(rootV1.file), prev?.log ?? null, statedLogKey(v));

  // The trust documents: the signed index names the origin's scopes; the bundle may carry fewer.
  const byPath = new Map(v.targets.map((t) => [t.path, t]));
  const invalid = (m: string, cause?: unknown) => bundleError(BundleCodes.BUNDLE_INVALID, m, cause);
  const index = parseIndex((path) => {
    const t = byPath.get(path);
    return t ? readFileSync(t.file) : null;
  }, invalid);
  const indexPaths = new Set(index.values());
  for (const t of v.targets) {
    if (t.path.startsWith('trust/') && !indexPaths.has(t.path)) throw bundleError(BundleCodes.BUNDLE_INVALID, `${t.path} is not in the origin's index.json`);
  }
  const readDocument = documentReader({ hop: bundleHop(origin), self: await selfIdentity(store), invalid });
  // What this origin brought before (the scopes a --scopes bundle does not carry keep it).
  const before = prev?.federated ? fromContributions(prev.federated) : await contributionsFromStore(store, source);
  const wanted = new Map<string, FederatedScope>();
  const mine = new Map<string, FederatedScope>();
  const listings: CrlListing[] = [];
  for (const [scope, path] of index) {
    const t = byPath.get(path);
    if (!t) {
      result.scopes.notInBundle.push(scope);
      const kept = before.get(scope);
      if (kept) mine.set(scope, kept);
      continue;
    }
    // null: this site's own trust, come back through the origin (a loop): not imported again.
    const bytes = readFileSync(t.file);
    const f = await readDocument(path, bytes);
    if (f) {
      wanted.set(scope, f);
      mine.set(scope, f);
      listings.push(crlListing(path, scope, bytes));
    }
  }

  // A scope defined locally here is never taken over by an origin (service/federation/federate.ts).
  const existing = new Map((await store.listScopes()).map((s) => [s.scope, s]));
  const conflicts = [...wanted.keys()].filter((s) => existing.has(s) && existing.get(s)!.source == null);
  if (conflicts.length > 0) {
    throw new KeyshareError(
      Codes.SCOPE_EXISTS,
      `${conflicts.length} of the bundle's scopes are defined locally here, nothing was changed: ` + conflicts.slice(0, 10).join(', ') + (conflicts.length > 10 ? ', ...' : ''),
      { details: { conflicts } },
    );
  }
  result.scopes.notInBundle = result.scopes.notInBundle.filter((s) => mine.has(s));
  // TUF spec 5.7.3: CRL bytes only from the bundle's verified targets (length and hashes from
  // the origin's signed metadata). A complete repository holds every target its documents list.
  const crls = federatedCrls(
    listings,
    (target) => {
      const t = byPath.get(target);
      return t && readFileSync(t.file);
    },
    wanted,
    (issuer, target) => {
      throw bundleError(BundleCodes.BUNDLE_INVALID, `the bundle lacks ${target}, the CRL of ${issuer} that its trust documents list`);
    },
  );

  const state: BundleState = {
    kind: 'bundle',
    rootVersion: v.root.version,
    timestampVersion: v.timestamp.version,
    timestampSha256: v.timestamp.sha256,
    snapshotVersion: v.snapshot.version,
    roleVersions: v.snapshot.meta,
    createdAt: v.manifest.createdAt,
    expires: v.timestamp.expires,
    importedAt: now.toISOString(),
    scopes: [...mine.keys()].sort(),
    federated: toContributions(mine.values()),
    ...(log ? { log } : {}),
  };

  // Everything verified and planned: one transaction, all of it or nothing. Another origin or
  // upstream defining the same scope is merged with this one, never overwritten.
  await store.transaction(async () => {
    // Revocations only ever restrict: each document's are added at its scope, never removed.
    // Refused CRLs are reported, the rest lands; a store failure throws and nothing lands.
    const { plan, created, revoked, crls: carried } = await federateOrigin(store, { owner: source, scopes: mine, read: wanted.values(), crls }, now);
    result.revocationsAdded = revoked.added;
    result.crlsUpdated = carried.updated;
    result.crlErrors = carried.errors;
    result.scopes.created = [...created];
    result.scopes.removed = plan.deleteScopes;
    const touched = new Set([...plan.touched, ...revoked.scopes]);
    result.scopes.updated = [...mine.keys()].filter((s) => touched.has(s) && !created.has(s));
    result.scopes.unchanged = wanted.size - [...wanted.keys()].filter((s) => touched.has(s)).length;
    const ours = (scope: string) => mine.has(scope) || plan.deleteScopes.includes(scope);
    result.anchors = {
      added: plan.addAnchors.filter((a) => ours(a.scope)).length,
      updated: plan.replaceAnchors.filter((a) => ours(a.scope)).length,
      removed: plan.removeAnchors.filter((a) => ours(a.scope)).length,
    };
    await store.putUpstream({
      name: origin,
      url: source,
      mode: 'mirror',
      scopes: v.manifest.scopes.filter,
      root: v.root.bytes,
      state: state as unknown as Record<string, unknown>,
      timestampVersion: v.timestamp.version,
      lastSuccessAt: now.toISOString(),
      // Shown by `upstream ls` until a bundle brings a CRL that is accepted, as for online upstreams.
      lastError: result.crlErrors.length ? result.crlErrors.map(crlProblem).join('; ').slice(0, 2000) : null,
      createdAt: upstream?.createdAt ?? now.toISOString(),
    });
    await store.replaceUpstreamFiles(
      origin,
      (function* () {
        for (const f of v.files) yield { path: f.path, bytes: readFileSync(f.file) };
      })(),
    );
  });
  result.changed = true;
  await options.publisher?.notify();
  return result;
}
