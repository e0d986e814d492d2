/**
 * fetchTrust: the verified trust documents for some scopes, fetched over TUF with tuf-js's
 * Updater pinned to a root given out of band (never trust on first use).
 *
 * Online: the Updater refreshes (TUF 5.3 root, 5.4 timestamp, 5.5 snapshot, 5.6 targets)
 * against the persistent cache, so a run where nothing changed downloads timestamp.json and
 * nothing else (plus the 5.3.3 probe for a newer root, a 404, asked for beside it: issue 25).
 * Targets whose cached copy still matches the signed hashes are not downloaded again (5.7.2).
 * When that timestamp is byte for byte the cached one and no newer root exists, the outcome is
 * known without tuf-js (unchanged.ts: expiry and the cached files checked again); otherwise the
 * Updater runs, handed the two answers already received.
 * Requests follow each other on kept-alive connections (sync/client/http.ts).
 * Offline: tuf-js verifies the cached files again from the trusted root, expiry included.
 * Nothing is returned unless every check passed; the caller writes output only then.
 *
 * The cache changes only when the whole fetch is accepted (tuf-js `updater.ts` persists each
 * role as it accepts it, so a refused fetch would otherwise leave a half-advanced cache).
 * tuf-js's metadata reads and writes are redirected (updater-files.ts acceptedMetadata): the roles it accepts
 * are kept in memory, and online it downloads targets into a stage; once every check passed,
 * they replace the cached files, each by an atomic rename.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Targets } from '@tufjs/models';
import type { Updater, Fetcher } from 'tuf-js';
import { defaultConfig } from 'tuf-js/dist/config.js';
import type { TrustDocument } from '../../shared/types.js';
import { INDEX_TARGET, IndexFormatError, logKeyStated, parseIndexHeader, parseShard, type IndexEntry } from '../../shared/trust-index.js';
import { KeyshareError, SharedCodes as Codes } from '../../shared/errors.js';
import { sha256Hex } from '../../shared/hash.js';
import { cacheLayout, defaultCacheDir, readRootFile, readState, withCacheLock, writeState, type CacheLayout, type CacheState } from './cache.js';
import { FetchCodes, expiredError, expiredFromUpdater, toFetchError } from './errors.js';
import { CacheFetcher, HttpFetcher } from './fetcher.js';
import { parseTrustDocument, selectScopes, type TargetReader } from './select.js';
import { scopeContains, trustTargetPath } from '../../shared/scope.js';
import { keepLogState, logGetter, prefetchProof, verifyLog, type LogVerdict } from './log-state.js';
import { TimestampFromProof } from './proof-fetcher.js';
import { removeTree } from '../../shared/fs.js';
import { witnessPolicy } from './log-witnesses.js';
import { SeededFetcher, isDoubt, unchangedTrust, type Seeds } from './unchanged.js';
import { PARALLEL_READS, inParallel } from './every-scope.js';
import { MAX_TARGET_BYTES, acceptedMetadata, commitStage, definedOn, readTarget, trustFilesOn, trustedFiles, wholeRepository, type RepositoryFile, type TargetInfo, type UpdaterInternals } from './updater-files.js';

export { INDEX_TARGET, MAX_TARGET_BYTES, type RepositoryFile };


export interface FetchTrustOptions {
  /** The keyshare server, e.g. https://keyshare.acme.io (the repository is under /tuf/). */
  server: string;
  /** The pinned root.json: a path, or its bytes. */
  root: string | Uint8Array;
  /** Cache dir (default: defaultCacheDir(server)). */
  cache?: string;
  /** Scopes to fetch. With neither scopes nor repositories: every scope, as the verified bins list their trust files (every-scope.ts). */
  scopes?: string[];
  /** Repositories (host[:port]/path) to fetch the trust for, each resolved to its scope. */
  repositories?: string[];
  /** Start from the cache alone, with no network. */
  offline?: boolean;
  /**
   * The reference time: metadata expired at `now` is refused, and the cache age is measured
   * to it. tuf-js also checks expiry against the system clock (TUF 5.1: fixed start time).
   */
  now?: Date;
  /** The online Fetcher port (default: HttpFetcher). */
  fetcher?: Fetcher;
  /**
   * Also fetch the CRL targets the selected documents list (`crls`), verified like any target;
   * `'revoked'`: only those of CAs below which the document revokes a certificate.
   */
  crls?: boolean | 'revoked';
  /**
   * Scope patterns instead of `scopes`: every scope in index.json that one of them contains (a
   * pattern is a scope and everything under it). An empty list selects nothing.
   */
  patterns?: string[];
  /** Also return the verified bytes of index.json and of each document (`raw`), as served. */
  raw?: boolean;
  /**
   * Also return the whole repository as served, every byte verified (`repository`): timestamp,
   * snapshot, targets and every delegated role reached through the delegations, and every
   * target file (consistent-snapshot names), so that it can be mirrored byte for byte.
   */
  mirror?: boolean;
  /** Issue 23: refuse a server without a transparency log (NOT_LOGGED). Without it the log is checked when the server announces one. */
  requireLog?: boolean;
  /** Issue 23: the log's signed-note verifier key, pinned out of band (else learnt on first contact and pinned in the cache). */
  logKey?: string;
  /** Issue 23: witness keys (`name+hash+base64(0x04||pub)` texts) whose cosignatures the log checkpoint needs (NOT_WITNESSED). */
  witnesses?: { text: string; where: string }[];
  /** Issue 23: how many of `witnesses` must have cosigned (default: all). */
  witnessThreshold?: number;
  /** Issue 23: how long to read the checkpoint again while it lacks the witnesses' cosignatures (log-state.ts WITNESS_WAIT_MS). */
  witnessWaitMs?: number;
  /** tuf-js limits (e.g. rootMaxLength, snapshotMaxLength, targetsMaxLength, maxDelegations). */
  updaterConfig?: Partial<UpdaterConfig>;
}

type UpdaterConfig = NonNullable<ConstructorParameters<typeof Updater>[0]['config']>;


export interface FetchMetadataInfo {
  server: string;
  offline: boolean;
  cacheDir: string;
  rootVersion: number;
  timestampVersion: number;
  snapshotVersion: number;
  expires: { timestamp: string; snapshot: string; targets: string };
  /** The last online fetch this trust comes from (ISO). */
  fetchedAt: string;
  /** Seconds from fetchedAt to the reference time: 0 online, the cache age offline. */
  ageSeconds: number;
}

export interface FetchTrustResult {
  documents: TrustDocument[];
  repositories: { repository: string; scope: string }[];
  /**
   * Every scope read, with its trust file and version: with no scopes or repositories asked for,
   * as the verified bins list them (every-scope.ts) with their documents' versions; with
   * patterns, the whole index; none otherwise.
   */
  index: { scopes: IndexEntry[] };
  metadata: FetchMetadataInfo;
  /** With `crls: true`: the DER of each CRL target the documents list, by target path. */
  crls: Map<string, Uint8Array>;
  /** With `raw: true`: the verified bytes of index.json (when read) and of each document, by target path. */
  raw: Map<string, Buffer>;
  /** With `mirror: true` (online): every file of the repository except root versions, verified. */
  repository: RepositoryFile[] | null;
  /** Issue 23: online with a log, the verified checkpoint's size and the timestamp's entry in it. */
  log?: { size: number; index: number; witnessedBy?: string[] } | null;
}

export function normalizeServer(server: string): string {
  let u: URL;
  try {
    u = new URL(server);
  } catch {
    throw new KeyshareError(Codes.CONFIG_INVALID, `--server must be an http(s) URL, not ${JSON.stringify(server)}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new KeyshareError(Codes.CONFIG_INVALID, `--server must be an http(s) URL, not ${server}`);
  return u.toString().replace(/\/+$/, '');
}

export async function fetchTrust(options: FetchTrustOptions): Promise<FetchTrustResult> {
  const server = normalizeServer(options.server);
  const pin = readRootFile(options.root);
  const layout = cacheLayout(options.cache ?? defaultCacheDir(server));
  const offline = options.offline ?? false;
  // Issue 25: a warm fetch may end without tuf-js (unchanged.ts). The pin this cache was filled
  // from was checked then (prepareCache records only a pin readPinnedRoot accepted); any other
  // pin is checked now, as every fetch did.
  const warm = !offline && !options.mirror && warmCache(layout, pin);
  if (!warm) (await import('./cache-root.js')).readPinnedRoot(pin);
  if (offline && !existsSync(layout.dir)) {
    throw new KeyshareError(FetchCodes.NOT_CACHED, `offline, and there is no cache at ${layout.dir}: run keyshare fetch online once first`);
  }
  try {
    return await withCacheLock(layout, () => fetchLocked({ ...options, server, offline }, pin, layout, warm), { readOnly: offline });
  } catch (e) {
    throw toFetchError(e);
  }
}

/** A cache filled from this pin by a full refresh that recorded what it trusted (CacheState.verified). */
function warmCache(layout: CacheLayout, pin: Buffer): boolean {
  const state = readState(layout);
  return !!state?.fetchedAt && !!state.verified && state.pinnedRootSha256 === sha256Hex(pin);
}

type LockedOptions = FetchTrustOptions & { server: string; offline: boolean };

async function fetchLocked(options: LockedOptions, pinned: Buffer, layout: CacheLayout, warm: boolean): Promise<FetchTrustResult> {
  const now = options.now ?? new Date();
  const { server } = options;
  const http = options.fetcher ?? new HttpFetcher();
  let seeds: Seeds | null = null;
  const state = warm ? readState(layout) : null;
  if (state?.verified && state.pinnedRootSha256 === sha256Hex(pinned)) {
    const config = { ...defaultConfig, ...options.updaterConfig };
    const found = await unchangedTrust({ server, layout, state, fetcher: http, now, limits: config });
    seeds = found.seeds;
    if (found.trust) {
      const { trust } = found;
      try {
        const logGet = logGetter(server, http);
        const { logged, ...result } = await collect(options, trust.reader, () => verifyLog(layout, logGet, trust.timestamp, logOptions(options, logKeyStated(trust.indexCustom))));
        writeState(layout, { ...state, server, fetchedAt: now.toISOString(), timestampVersion: trust.signed.timestamp.version });
        if (logged) keepLogState(layout, logged);
        const { root, timestamp, snapshot, targets } = trust.signed;
        return {
          ...result,
          repository: null,
          metadata: metadataInfo(options, layout, now, now.toISOString(), {
            rootVersion: root.version,
            timestampVersion: timestamp.version,
            snapshotVersion: snapshot.version,
            expires: { timestamp: timestamp.expires, snapshot: snapshot.expires, targets: targets.expires },
          }),
        };
      } catch (e) {
        // A check this path could not conclude: the full refresh decides, from the same answers.
        if (!isDoubt(e)) throw e;
      }
    }
  }
  return fullRefresh(options, pinned, layout, http, seeds);
}

/** The log options of a fetch (issue 23), with the log key the verified targets state. */
function logOptions(options: FetchTrustOptions, stated: string | undefined) {
  return {
    require: options.requireLog,
    key: options.logKey,
    stated,
    witnesses: witnessPolicy(options.witnesses ?? [], options.witnessThreshold),
    ...(options.witnessWaitMs !== undefined ? { witnessWaitMs: options.witnessWaitMs } : {}),
  };
}

function metadataInfo(options: LockedOptions, layout: CacheLayout, now: Date, fetchedAt: string, verified: Omit<FetchMetadataInfo, 'server' | 'offline' | 'cacheDir' | 'fetchedAt' | 'ageSeconds'>): FetchMetadataInfo {
  return {
    server: options.server,
    offline: options.offline,
    cacheDir: layout.dir,
    ...verified,
    fetchedAt,
    ageSeconds: Math.max(0, Math.round((now.getTime() - Date.parse(fetchedAt)) / 1000)),
  };
}

/**
 * What a fetch returns once its metadata are trusted: online, the log check (issue 23: the
 * timestamp accepted must be in the log this client follows); then the scopes selected, their
 * documents and CRLs, read through `reader`. The caller moves the cache forward after.
 */
async function collect(
  options: LockedOptions,
  reader: TargetReader,
  checkLog: () => Promise<LogVerdict | null>,
): Promise<Omit<FetchTrustResult, 'metadata' | 'repository'> & { logged: LogVerdict | null }> {
  const { offline } = options;
  const logged = offline ? null : await checkLog();
  const raw = new Map<string, Buffer>();
  // Issue 17: every scope is listed from the verified bins (every-scope.ts), scope patterns from
  // the index; scopes and repositories are looked up as targets, bin by bin.
  const { patterns } = options;
  const everyScope = !patterns && (options.scopes ?? []).length === 0 && (options.repositories ?? []).length === 0;
  const listed: { scope: string; path: string; version?: number }[] = patterns
    ? await listedOffline(readIndex(reader, raw, options.raw ?? false), offline)
    : everyScope
      ? await listedOffline(reader.trustFiles(), offline)
      : [];
  const byScope = new Map(listed.map((e) => [e.scope, e]));
  const selection = patterns
    ? { scopes: listed.map((e) => e.scope).filter((s) => patterns.some((p) => scopeContains(p, s))).sort(), repositories: [] }
    : everyScope
      ? { scopes: listed.map((e) => e.scope), repositories: [] }
      : await selectScopes(reader.defined, options.scopes, options.repositories);
  // Every scope: its bins are loaded (the listing), so the documents are downloaded side by side.
  const read = await inParallel(selection.scopes, everyScope ? PARALLEL_READS : 1, async (scope) => {
    const entry = byScope.get(scope) ?? { scope, path: trustTargetPath(scope) };
    const bytes = await reader.read(entry.path);
    return { path: entry.path, bytes, doc: parseTrustDocument(bytes, entry) };
  });
  if (options.raw) for (const r of read) raw.set(r.path, r.bytes);
  const documents = read.map((r) => r.doc);
  const crls = new Map<string, Uint8Array>();
  if (options.crls) {
    for (const doc of documents) {
      for (const c of doc.crls ?? []) {
        if (options.crls === 'revoked' && !doc.revoked.certificates.some((r) => r.issuer === c.issuer)) continue;
        if (!crls.has(c.target)) crls.set(c.target, await reader.read(c.target));
      }
    }
  }
  return {
    logged,
    documents,
    repositories: selection.repositories,
    index: { scopes: patterns ? (listed as IndexEntry[]) : everyScope ? documents.map((d) => ({ scope: d.scope, path: trustTargetPath(d.scope), version: d.version })) : [] },
    crls,
    raw,
    log: logged && { size: logged.size, index: logged.index, ...(logged.witnessedBy ? { witnessedBy: logged.witnessedBy } : {}) },
  };
}

/**
 * Offline, listing every scope (every bin) or scope patterns (the index) needs what only an
 * online fetch of them cached: fetches with --scope or --repository look their scopes up as
 * targets, and cache only the bins of those.
 */
async function listedOffline<T>(listing: Promise<T>, offline: boolean): Promise<T> {
  return listing.catch((e: unknown) => {
    const err = toFetchError(e);
    if (!offline || err.code !== FetchCodes.NOT_CACHED) throw e;
    throw new KeyshareError(
      FetchCodes.NOT_CACHED,
      `${err.message} (fetching every scope reads every bin of the repository, and scope patterns the index; a cache filled by fetches with --scope or --repository holds only what they looked up: fetch the same selection offline, or every scope online once)`,
      { cause: err },
    );
  });
}

/** The refresh through tuf-js's Updater (TUF 5.3-5.7), starting with `seeds` when the warm path asked for the first files. */
async function fullRefresh(options: LockedOptions, pinned: Buffer, layout: CacheLayout, http: Fetcher, seeds: Seeds | null): Promise<FetchTrustResult> {
  const now = options.now ?? new Date();
  const { server, offline } = options;
  const [{ Updater }, { prepareCache }] = await Promise.all([import('./tuf-updater.js'), import('./cache-root.js')]);
  const state = prepareCache(layout, pinned, server, offline);
  const metadataBaseUrl = `${server}/tuf`;
  const targetBaseUrl = `${server}/tuf/targets`;
  // We hold the lock: scratch dirs left by a fetch that was killed are ours to remove.
  if (!offline) for (const name of readdirSync(layout.dir)) if (/^\.(offline|next)-/.test(name)) removeTree(join(layout.dir, name));

  // Offline, tuf-js starts from the trusted root alone and re-verifies every cached file it
  // asks for, as a download (acceptedMetadata); the cache is only read (it may be read-only).
  // Online, targets are downloaded into a stage in the cache.
  const cacheFetcher = offline ? new CacheFetcher(layout, metadataBaseUrl, targetBaseUrl) : null;
  if (offline && !state.fetchedAt) throw new KeyshareError(FetchCodes.NOT_CACHED, `offline, and the cache ${layout.dir} was never filled: run keyshare fetch online once first`);
  const scratch = offline ? null : mkdtempSync(join(layout.dir, '.next-'));
  const stagedTargets = scratch && join(scratch, 'targets');
  try {
    if (stagedTargets) mkdirSync(stagedTargets, { mode: 0o700 });
    // Issue 23: online, the timestamp accepted must be in the log; an empty cache asks for the
    // log's proof at once, and takes the timestamp from it (proof-fetcher.ts).
    const logGet = offline ? null : logGetter(server, http);
    const earlyProof = logGet && prefetchProof(layout, logGet);
    const timestampMaxLength = options.updaterConfig?.timestampMaxLength ?? defaultConfig.timestampMaxLength;
    const tufFetcher = seeds ? new SeededFetcher(http, seeds) : options.fetcher ?? new HttpFetcher(earlyProof ? {} : { prefetchTimestamp: { maxLength: timestampMaxLength } });
    // The cached root was reached from the pin through verified rotations (cache.ts): tuf-js
    // reads it from metadataDir as it starts.
    const updater = new Updater({
      metadataDir: layout.metadataDir,
      metadataBaseUrl,
      targetDir: stagedTargets ?? layout.targetsDir,
      targetBaseUrl,
      fetcher: cacheFetcher ?? (earlyProof ? new TimestampFromProof(tufFetcher, earlyProof) : tufFetcher),
      ...(options.updaterConfig ? { config: options.updaterConfig } : {}),
    });
    const metadata = acceptedMetadata(updater, layout.metadataDir, offline);
    const dirs = { cached: layout.targetsDir, staged: stagedTargets };
    await updater.refresh().catch((e: unknown) => {
      throw expiredFromUpdater(e, updater, new Date()) ?? e;
    });
    const verified = verifiedMetadata(metadata.read, now);
    const internals = updater as unknown as UpdaterInternals;
    // Issue 17: the infos the every-scope listing found, so that each document is not looked up again.
    const infos = new Map<string, TargetInfo>();
    const reader: TargetReader = { read: (path) => readTarget(updater, path, dirs, infos.get(path)), defined: definedOn(updater), trustFiles: trustFilesOn(updater, infos) };
    const fetchedAt = offline ? state.fetchedAt! : now.toISOString();
    const stated = logKeyStated(internals.trustedSet?.targets?.signed.targets[INDEX_TARGET]?.custom);
    const { logged, ...result } = await collect(options, reader, () => verifyLog(layout, logGet!, metadata.read('timestamp')!, logOptions(options, stated), earlyProof));
    const repository = options.mirror && !offline ? await wholeRepository(updater, metadata.read, dirs) : null;
    if (!offline) {
      // Every check passed: only now does the cache move forward (TUF 5.4.5, 5.5.7, 5.6.6 persist).
      metadata.commit();
      commitStage(stagedTargets!, layout.targetsDir);
      writeState(layout, { ...state, server, fetchedAt, timestampVersion: verified.timestampVersion, verified: trustedFiles(internals, metadata.read, state) });
      if (logged) keepLogState(layout, logged);
    }
    return { ...result, repository, metadata: metadataInfo(options, layout, now, fetchedAt, verified) };
  } catch (e) {
    const err = toFetchError(e);
    // Issue 24 row 12: offline, a file that fails verification is a damaged cached file: name it.
    const file = cacheFetcher?.lastFile;
    if (file && err.code !== FetchCodes.NOT_CACHED && err.code !== FetchCodes.EXPIRED_METADATA) {
      throw new KeyshareError(err.code, `${err.message} (the cached file ${file} is damaged: run keyshare fetch online once to repair the cache)`, { cause: err });
    }
    throw err;
  } finally {
    if (scratch) removeTree(scratch);
  }
}

/**
 * Every scope in the index: index.json, then (index v2) each shard it lists, each verified as a
 * target; an index v1 (a server from before issue 17) lists every scope itself.
 */
async function readIndex(reader: TargetReader, raw: Map<string, Buffer>, keepRaw: boolean): Promise<IndexEntry[]> {
  const bytes = await reader.read(INDEX_TARGET);
  if (keepRaw) raw.set(INDEX_TARGET, bytes);
  try {
    const index = parseIndexHeader(bytes);
    if (index.version === 1) return index.scopes;
    const entries: IndexEntry[] = [];
    for (const path of index.shards) entries.push(...parseShard(await reader.read(path), path, index.bitLength));
    return entries;
  } catch (e) {
    if (e instanceof IndexFormatError) throw new KeyshareError(FetchCodes.METADATA_INVALID, e.message);
    throw e;
  }
}

/**
 * The metadata tuf-js just accepted (it persists a file only after accepting it), checked
 * once more for expiry at the caller's reference time (TUF 5.4.4, 5.5.6, 5.6.5). tuf-js has
 * parsed and verified these files: only their version and expiry are read again, not the whole
 * model (@tufjs/models parses a snapshot's meta quadratically; bench B5).
 */
function verifiedMetadata(metadata: (role: string) => Buffer | null, now: Date) {
  const read = (role: string): { version: number; expires: string } => {
    const bytes = metadata(role);
    if (!bytes) throw new KeyshareError(FetchCodes.METADATA_INVALID, `no verified ${role}.json after the refresh`);
    const signed = (JSON.parse(bytes.toString('utf8')) as { signed?: { version?: unknown; expires?: unknown } }).signed;
    if (typeof signed?.version !== 'number' || typeof signed.expires !== 'string') throw new KeyshareError(FetchCodes.METADATA_INVALID, `${role}.json has no version or expiry`);
    // @tufjs/models Signed.isExpired: expired when the reference time is at or past `expires`.
    if (now >= new Date(signed.expires)) {
      throw expiredError(role, signed.expires, now);
    }
    return { version: signed.version, expires: signed.expires };
  };
  const root = read('root');
  const timestamp = read('timestamp');
  const snapshot = read('snapshot');
  const targets = read('targets');
  return {
    rootVersion: root.version,
    timestampVersion: timestamp.version,
    snapshotVersion: snapshot.version,
    expires: { timestamp: timestamp.expires, snapshot: snapshot.expires, targets: targets.expires },
  };
}
