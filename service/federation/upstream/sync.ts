/**
 * One sync of one upstream: an orchestrator in the tuf-js `updater.ts` mould. It reads the
 * upstream with the verified client (ports.ts openUpstream: the client library's fetchTrust,
 * pinned to the upstream's root, with a persistent cache under `<data>/upstreams/<name>/`, so
 * that versions never go backwards across restarts), checks the result against what this service accepted before
 * (stored versions: a lower one is ROLLBACK even if the cache was lost), and only then writes,
 * in one store transaction:
 *
 *  - federate: the upstream's documents (filtered by its scope patterns) become its
 *    contributions, and the federated scopes are recomputed from every owner's (federate.ts);
 *    the CRLs it lists for the CA anchors federated here, read as TUF targets (hash and length
 *    from its signed metadata), go through the same checks as `crl add` (carry-crls.ts, shared
 *    with bundle import): the newest CRL of a CA wins, wherever it came from (RFC 5280 5.2.3).
 *    A CRL refused (an older one is ROLLBACK) is kept out and named in lastError; the rest of
 *    the sync lands;
 *  - mirror: every file of the upstream repository, root versions included, replaces the
 *    mirror served byte for byte under /mirrors/<name>/tuf/.
 *
 * A failure of any kind (dead, slow, garbage, oversized, expired, replayed, wrongly signed)
 * writes nothing but the upstream's lastError: the last good state stays, and is served.
 * Every request has a timeout and a size cap, and the whole sync a deadline.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditAppend } from '../../audit/log.js';
import { KeyshareError, Codes } from '../../errors.js';
import type { Store, UpstreamRecord } from '../../store/index.js';
import { FetchCodes, MAX_ROOT_BYTES } from '../../../shared/fetch.js';
import { INDEX_TARGET } from '../../../shared/trust-index.js';
import type { FederationClient, RegistryOptions, RepositoryFile } from '../ports.js';
import { upstreamBearer } from './token.js';
import { guardFor, type AddressPolicy } from '../../net/outbound.js';
import { crlProblem, federatedCrls, type CarriedCrl } from '../carry-crls.js';
import { UpstreamCodes, toSyncError, upstreamError } from './errors.js';
import { documentReader, federateOrigin, fromContributions, ownerOfRow, toContributions, type Contributions, type FederatedScope } from '../federate.js';
import { selfIdentity, verifyRootChain } from '../identity.js';
import type { SyncOutcome } from '../../federation.js';

export type { SyncOutcome } from '../../federation.js';
import { BUNDLE_PREFIX, upstreamHop } from '../source.js';
import { isOciRow, syncOciUpstream } from './oci.js';

export interface SyncLimits {
  /** Per HTTP request, body included. */
  requestTimeoutMs: number;
  /** The whole sync. */
  syncTimeoutMs: number;
  /** Any one file. */
  maxFileBytes: number;
}

export const DEFAULT_SYNC_LIMITS: SyncLimits = { requestTimeoutMs: 10_000, syncTimeoutMs: 60_000, maxFileBytes: 16 * 1024 * 1024 };

export interface SyncDeps {
  store: Store;
  /** The client library, behind federation's port (ports.ts). */
  client: FederationClient;
  dataDir: string;
  publisher: { notify(): Promise<unknown> };
  audit?: { append(e: AuditAppend): Promise<unknown> };
  clock?: () => Date;
  limits?: Partial<SyncLimits>;
  /** For oci:// upstreams (oci.ts). */
  registry?: RegistryOptions;
  /** Where its requests may connect, redirects included (issue 16, finding 9: service/net/outbound.ts). */
  outbound: AddressPolicy;
}

/** What an online upstream row's `state` holds. */
export interface UpstreamState {
  kind: 'upstream';
  /** The upstream repository's identity (origin ID of its root version 1). */
  origin: string;
  mode: string;
  patterns: string[] | null;
  rootVersion: number;
  timestampVersion: number;
  snapshotVersion: number;
  expires: string;
  /** federate: what this upstream brings (federate.ts). */
  federated?: Contributions;
  /** federate: scopes this upstream defines that are defined locally here, left out. */
  conflicts?: string[];
  /** mirror: how many files are served under /mirrors/<name>/tuf/. */
  mirrorFiles?: number;
  /** The timestamp and snapshot keys of the newest root accepted, to tell a rotation (TUF 5.3.11). */
  onlineKeys?: string;
  /** federate, issue 21: [upstream version, first version here carrying it] (report.ts), kept across syncs. */
  carried?: [number, number][];
}

/** The keys and thresholds of the timestamp and snapshot roles of a root. */
function onlineKeysOf(rootBytes: Buffer): string {
  const roles = (JSON.parse(rootBytes.toString('utf8')) as { signed: { roles: Record<string, { keyids: string[]; threshold: number }> } }).signed.roles;
  return JSON.stringify(['timestamp', 'snapshot'].map((r) => [[...(roles[r]?.keyids ?? [])].sort(), roles[r]?.threshold]));
}

export const isBundleRow = (row: { url: string }) => row.url.startsWith(BUNDLE_PREFIX);
export const upstreamCacheDir = (dataDir: string, name: string) => join(dataDir, 'upstreams', name);

export function upstreamState(row: UpstreamRecord): UpstreamState | null {
  const s = row.state as UpstreamState | null;
  return s && s.kind === 'upstream' ? s : null;
}

interface Fetched {
  state: UpstreamState;
  /** federate: what the upstream brings now. */
  scopes: Map<string, FederatedScope> | null;
  /** federate: the verified DER of each CRL the upstream lists for a federated CA anchor, by issuer, with the scopes listing it. */
  crls: Map<string, CarriedCrl> | null;
  /** mirror: the files to serve, or null when the upstream did not change. */
  files: RepositoryFile[] | null;
  unchanged: boolean;
}

export async function syncUpstream(deps: SyncDeps, name: string): Promise<SyncOutcome> {
  const row = await deps.store.getUpstream(name);
  if (!row) throw upstreamError(UpstreamCodes.UPSTREAM_NOT_FOUND, `no upstream named ${name}`);
  if (isBundleRow(row)) throw upstreamError(UpstreamCodes.UPSTREAM_NOT_POLLED, `${name} is the origin of imported bundles: it is never polled (import a newer bundle instead)`);
  if (isOciRow(row)) return syncOciUpstream(deps, row);
  const limits = { ...DEFAULT_SYNC_LIMITS, ...deps.limits };
  // TUF spec 5.1: one reference time for the whole sync.
  const now = (deps.clock ?? (() => new Date()))();
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), limits.syncTimeoutMs);
  try {
    const fetched = await read(deps, row, now, limits, deadline.signal);
    return await commit(deps, row, fetched, now);
  } catch (e) {
    const err = deadline.signal.aborted
      ? new KeyshareError(UpstreamCodes.SYNC_TIMEOUT, `the sync did not finish within ${limits.syncTimeoutMs} ms`, { cause: e })
      : toSyncError(e, deps.client);
    // Nothing else changes: the last good state stays.
    await deps.store.updateUpstreamStatus(name, { lastError: `${err.code}: ${err.message}`.replace(/\s+/g, ' ').slice(0, 2000) });
    return { name, ok: false, changed: false, timestampVersion: row.timestampVersion, error: { code: err.code, message: err.message } };
  } finally {
    clearTimeout(timer);
  }
}

async function read(deps: SyncDeps, row: UpstreamRecord, now: Date, limits: SyncLimits, signal: AbortSignal): Promise<Fetched> {
  const prev = upstreamState(row);
  const federate = row.mode === 'federate';
  const upstream = deps.client.openUpstream({ timeoutMs: limits.requestTimeoutMs, signal, maxBytes: limits.maxFileBytes, userAgent: 'keyshare-upstream', guard: guardFor(deps.outbound), bearer: upstreamBearer(row) });
  const cache = upstreamCacheDir(deps.dataDir, row.name);
  const res = await upstream.read({
    server: row.url,
    root: row.root,
    cache,
    patterns: federate ? (row.scopes ?? ['*']) : [],
    raw: true,
    // The CRL targets the documents list, verified like any target (TUF 5.7.3: length and hashes).
    crls: federate,
    mirror: !federate,
    now,
    updaterConfig: { snapshotMaxLength: limits.maxFileBytes, targetsMaxLength: limits.maxFileBytes },
  });
  const m = res.metadata;
  // TUF 5.3.11: once the timestamp or snapshot keys rotate, the trusted timestamp and snapshot
  // are dropped, so that a repository recovers from a fast-forward attack; the root stays a floor.
  const newestRoot = join(cache, 'metadata', 'root.json');
  const onlineKeys = existsSync(newestRoot) ? onlineKeysOf(readFileSync(newestRoot)) : undefined;
  const rotated = prev?.onlineKeys !== undefined && onlineKeys !== undefined && prev.onlineKeys !== onlineKeys;
  // What this service accepted before is the floor, even if the client cache was lost (TUF 5.4.3, 5.5.5).
  if (prev && (m.rootVersion < prev.rootVersion || (!rotated && (m.timestampVersion < prev.timestampVersion || m.snapshotVersion < prev.snapshotVersion)))) {
    throw upstreamError(
      FetchCodes.ROLLBACK,
      `the upstream offered timestamp ${m.timestampVersion} / snapshot ${m.snapshotVersion} / root ${m.rootVersion}, older than the accepted ${prev.timestampVersion} / ${prev.snapshotVersion} / ${prev.rootVersion}`,
    );
  }
  const unchanged =
    prev !== null &&
    !rotated &&
    prev.timestampVersion === m.timestampVersion &&
    prev.rootVersion === m.rootVersion &&
    prev.mode === row.mode &&
    JSON.stringify(prev.patterns) === JSON.stringify(row.scopes);

  // The upstream's identity, and for a mirror every root version, through a verified chain.
  let origin = prev?.origin ?? null;
  let files: RepositoryFile[] | null = null;
  const download = (v: number) => upstream.downloadBytes(`${res.metadata.server}/tuf/${v}.root.json`, MAX_ROOT_BYTES);
  if (!federate && !unchanged) {
    const known = new Map<number, Buffer>();
    for (const f of await deps.store.listUpstreamFiles(row.name)) {
      const r = /^(\d+)\.root\.json$/.exec(f.path);
      if (r) known.set(Number(r[1]), f.bytes);
    }
    const newestFile = join(cache, 'metadata', 'root.json');
    const chain = await verifyRootChain({ pinned: row.root, newest: existsSync(newestFile) ? readFileSync(newestFile) : null, known, download });
    origin = chain.origin;
    files = [...[...chain.roots].map(([v, bytes]) => ({ path: `${v}.root.json`, bytes })), ...res.repository!];
  } else if (!origin) {
    origin = (await verifyRootChain({ pinned: row.root, newest: null, known: new Map(), download })).origin;
  }
  const self = await selfIdentity(deps.store);
  if (origin === self) throw upstreamError(UpstreamCodes.UPSTREAM_LOOP, `upstream ${row.name} is this service itself (same repository identity ${origin})`);

  let scopes: Map<string, FederatedScope> | null = null;
  if (federate) {
    if (unchanged && prev?.federated) scopes = fromContributions(prev.federated);
    else {
      const invalid = (message: string, cause?: unknown) => new KeyshareError(FetchCodes.METADATA_INVALID, message, { cause });
      const readDocument = documentReader({ hop: upstreamHop(row.name, origin!), self, invalid });
      scopes = new Map();
      for (const [path, bytes] of res.raw) {
        if (path === INDEX_TARGET) continue;
        const f = await readDocument(path, bytes);
        // null: the whole scope is this service's own trust come back round a loop.
        if (f) scopes.set(f.scope.scope, f);
      }
    }
  }
  const state: UpstreamState = {
    kind: 'upstream',
    origin: origin!,
    mode: row.mode,
    patterns: row.scopes,
    rootVersion: m.rootVersion,
    timestampVersion: m.timestampVersion,
    snapshotVersion: m.snapshotVersion,
    expires: m.expires.timestamp,
    ...(onlineKeys !== undefined ? { onlineKeys } : {}),
    ...(scopes ? { federated: toContributions(scopes.values()) } : {}),
    ...(!federate ? { mirrorFiles: files ? files.length : (prev?.mirrorFiles ?? 0) } : {}),
  };
  // Read even when the upstream did not change: what is stored here may have changed since (a local `crl add`).
  return { state, scopes, crls: scopes ? federatedCrls(res.documents, (target) => res.crls.get(target), scopes) : null, files, unchanged };
}

async function commit(deps: SyncDeps, row: UpstreamRecord, f: Fetched, now: Date): Promise<SyncOutcome> {
  const { store } = deps;
  const owner = ownerOfRow(row);
  const outcome: SyncOutcome = { name: row.name, ok: true, changed: false, timestampVersion: f.state.timestampVersion, error: null };
  await store.transaction(async () => {
    const current = await store.getUpstream(row.name);
    if (!current || current.createdAt !== row.createdAt) throw new KeyshareError(Codes.CONFLICT, `upstream ${row.name} was removed during the sync`);
    let conflicts: string[] = [];
    if (f.scopes) {
      const { plan, created, revoked, crls, ...step } = await federateOrigin(store, { owner, scopes: f.scopes, crls: f.crls ?? new Map() }, now);
      conflicts = step.conflicts;
      outcome.scopes = {
        created: [...created],
        updated: [...new Set([...plan.touched, ...revoked.scopes])].filter((s) => !created.has(s) && !plan.deleteScopes.includes(s)).sort(),
        removed: plan.deleteScopes,
        conflicts,
      };
      outcome.revocationsAdded = revoked.added;
      outcome.crlsUpdated = crls.updated;
      outcome.crlErrors = crls.errors;
      outcome.changed = plan.touched.size > 0 || revoked.added > 0 || crls.updated.length > 0;
      f.state.conflicts = conflicts;
    }
    if (f.files) {
      await store.replaceUpstreamFiles(row.name, f.files);
      outcome.mirrorFiles = f.files.length;
      outcome.changed = true;
    }
    // Scopes left out are shown until they are resolved (remove the local scope, or narrow --scopes),
    // and refused CRLs until the upstream offers one that is accepted.
    const problems = [
      ...(outcome.crlErrors ?? []).map(crlProblem),
      ...(conflicts.length
        ? [`${UpstreamCodes.SCOPE_EXISTS}: ${conflicts.length} scope(s) defined locally here were left out: ${conflicts.slice(0, 10).join(', ')}${conflicts.length > 10 ? ', ...' : ''}`]
        : []),
    ];
    f.state.carried = upstreamState(current)?.carried;
    await store.updateUpstreamStatus(row.name, {
      state: f.state as unknown as Record<string, unknown>,
      timestampVersion: f.state.timestampVersion,
      lastSuccessAt: now.toISOString(),
      lastError: problems.length ? problems.join('; ').slice(0, 2000) : null,
    });
    if (outcome.changed) {
      await deps.audit?.append({
        actor: null,
        action: 'upstream.sync',
        outcome: 'ok',
        target: row.name,
        details: {
          timestampVersion: f.state.timestampVersion,
          ...(outcome.scopes ? { created: outcome.scopes.created.length, updated: outcome.scopes.updated.length, removed: outcome.scopes.removed.length } : {}),
          ...(outcome.revocationsAdded ? { revocationsAdded: outcome.revocationsAdded } : {}),
          ...(outcome.crlsUpdated?.length ? { crlsUpdated: outcome.crlsUpdated } : {}),
          ...(outcome.mirrorFiles !== undefined ? { mirrorFiles: outcome.mirrorFiles } : {}),
        },
      });
    }
  });
  if (outcome.changed && f.scopes) await deps.publisher.notify();
  return outcome;
}
