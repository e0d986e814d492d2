/**
 * The upstreams of one running instance: add, list, remove and sync them, and keep them fresh.
 *
 * Freshness, per online upstream:
 *  - a poll every `pollMs` (default 60 s) with ±20 % jitter, so that many downstreams of one
 *    service do not arrive together;
 *  - a subscription to the upstream's change feed (`GET {url}/tuf/feed?after=N`, a long-poll
 *    answered when the upstream publishes a timestamp version above N): a new version starts a
 *    sync at once. The feed is only a hint: what is accepted is always what the verified client
 *    reads, so a lying feed can cause a sync, never a change;
 *  - after a sync refused with BAD_SIGNATURE (metadata signed by a key the trusted root does
 *    not name, as while an upstream rotates its keys), a refetch at once rather than at the
 *    next poll, a few times, with a growing delay.
 * Syncs of one upstream never overlap: a request during a sync runs once after it. Bundle
 * origins (url `bundle:...`) are listed but never polled.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inDryRun } from '../../dry-run.js';
import { parseScope } from '../../domain/scope.js';
import { DEFAULT_ORIGIN_GRACE_SECONDS, originExpiry } from '../../domain/origin-expiry.js';
import { KeyshareError, Codes } from '../../errors.js';
import type { Instance } from '../../instance.js';
import type { UpstreamRecord } from '../../store/index.js';
import { readPinnedRoot } from '../../../sync/client/cache-root.js';
import { normalizeServer } from '../../../sync/client/fetch-trust.js';
import { UpstreamCodes, upstreamError } from './errors.js';
import { applyFederation, federates, ownerOfRow, planFromStore } from '../federate.js';
import { parseRootBytes, selfIdentity } from '../identity.js';
import { originOf } from '../../../sync/bundle/format.js';
import { UPSTREAM_NAME } from '../source.js';
import type { RegistryOptions } from '../../../sync/oci/client.js';
import { formatOciReference, isLoopback, isOciReference, parseOciReference, type OciReference } from '../../../sync/oci/reference.js';
import { registryCaProblem } from '../../../sync/oci/tls.js';
import { initialOciState, isOciRow, type OciFollowState } from './oci.js';
import { upstreamBearer, upstreamToken } from './token.js';
import { bearerHeader } from '../../../sync/client/fetcher.js';
import { httpRequest } from '../../net/http.js';
import { checkUrlAddress, guardFor } from '../../net/outbound.js';
import { carriedOf, nextCarried, reportUpstream, setReportToken } from './report.js';
import { DEFAULT_CLIENT_LIMITS } from '../../rollout.js';
import type { ClientSummary } from '../../domain/clients.js';
import { isBundleRow, syncUpstream, upstreamCacheDir, upstreamState, type SyncLimits, type SyncOutcome } from './sync.js';
import type { UpstreamInput, UpstreamMode, UpstreamView, Upstreams } from '../../federation.js';

export type { UpstreamInput, UpstreamMode, UpstreamView } from '../../federation.js';

export const UPSTREAM_MODES: readonly UpstreamMode[] = ['federate', 'mirror'];

export interface ManagerOptions {
  /** Time between polls of one upstream (default 60 s), with ±20 % jitter. */
  pollMs?: number;
  /** Issue 24 row 3: how long an origin's trust is republished past its expiry (default 7 days). */
  originGraceSeconds?: number;
  /** Subscribe to each upstream's change feed (default true). */
  feed?: boolean;
  /** How long one feed request waits upstream (seconds, default 25). */
  feedWaitSeconds?: number;
  limits?: Partial<SyncLimits>;
  clock?: () => Date;
  /** Called after every sync (logs, tests). */
  onSync?: (outcome: SyncOutcome) => void;
  /** Registry options for `oci://` upstreams (default: verified TLS, stored credentials; tests: { insecure: true } on loopback). */
  registry?: RegistryOptions;
  /** Issue 21: clients silent for longer are left out of the rollout summary sent upstream (serve --clients-expiry). */
  clientTtlMs?: number;
  /** A scheduled look at the upstream rows that failed (e.g. the store is unavailable); the next one tries again. */
  onError?: (error: unknown) => void;
}

export const DEFAULT_POLL_MS = 60_000;
const FEED_MAX_BYTES = 4096;
/** Quick refetches after BAD_SIGNATURE (after 0.5, 1, 2, 4, 8 s) before falling back to the poll. */
const UNKNOWN_KEY_RETRIES = 5;

interface Runner {
  url: string;
  /** The upstream's token, sent to its origin only (token.ts). */
  bearer: { origin: string; token: string } | undefined;
  createdAt: string;
  running: Promise<SyncOutcome> | null;
  pending: boolean;
  timer: NodeJS.Timeout | null;
  feed: AbortController | null;
  /** The highest timestamp version seen, from syncs or the feed. */
  seen: number;
  quickRetries: number;
  stopped: boolean;
}

export class UpstreamManager implements Upstreams {
  private readonly runners = new Map<string, Runner>();
  private started = false;
  private rescan: NodeJS.Timeout | null = null;
  private readonly syncing = new Set<Promise<unknown>>();

  constructor(
    private readonly instance: Instance,
    private readonly options: ManagerOptions = {},
  ) {}

  private get store() {
    return this.instance.store;
  }

  private clock(): Date {
    return (this.options.clock ?? (() => new Date()))();
  }

  // ---- the admin operations ----

  async list(): Promise<UpstreamView[]> {
    const now = this.clock();
    return (await this.store.listUpstreams()).map((r) => view(r, now, this.grace()));
  }

  private grace(): number {
    return this.options.originGraceSeconds ?? DEFAULT_ORIGIN_GRACE_SECONDS;
  }

  /**
   * Issue 24 row 3: withdraws the trust of every federating origin past its expiry and grace
   * period (fail closed): its contributions leave the store in one transaction, the row says
   * why in lastError, and the publisher republishes. A fresh bundle or sync brings them back.
   */
  async enforceOriginExpiry(): Promise<string[]> {
    const now = this.clock();
    const withdrawn: string[] = [];
    for (const row of await this.store.listUpstreams()) {
      // An oci:// row only follows a tag: the trust it imports belongs to the bundle origin's row.
      if (!federates(row) || isOciRow(row) || (row.state as { withdrawnAt?: string } | null)?.withdrawnAt) continue;
      const e = originExpiry(view(row).expires, now, this.grace());
      if (e.status !== 'withdrawn') continue;
      const message =
        `ORIGIN_EXPIRED: the trust of ${row.name} expired at ${e.expires}, more than the grace period (--origin-grace ${this.grace()}s) ago: ` +
        `its scopes are no longer republished (fail closed) until ${isBundleRow(row) ? 'a newer bundle is imported' : 'a sync succeeds'}`;
      await this.store.transaction(async () => {
        const fresh = await this.store.getUpstream(row.name);
        if (!fresh || (fresh.state as { withdrawnAt?: string } | null)?.withdrawnAt) return;
        await applyFederation(this.store, await planFromStore(this.store, undefined, ownerOfRow(fresh)), now);
        await this.store.putUpstream({ ...fresh, state: { ...(fresh.state ?? {}), withdrawnAt: now.toISOString() }, lastError: message });
        await this.instance.audit.append({ actor: null, action: 'upstream.withdraw', outcome: 'ok', target: row.name, details: { expires: e.expires, graceSeconds: this.grace() } });
      });
      this.options.onError?.(new Error(message));
      withdrawn.push(row.name);
    }
    if (withdrawn.length) await this.instance.publisher.notify();
    return withdrawn;
  }

  async get(name: string): Promise<UpstreamView> {
    const row = await this.store.getUpstream(name);
    if (!row) throw upstreamError(UpstreamCodes.UPSTREAM_NOT_FOUND, `no upstream named ${name}`);
    return view(row, this.clock(), this.grace());
  }

  /** Adds an upstream, then syncs it once (a failed first sync is reported, and the upstream stays). */
  async add(input: UpstreamInput): Promise<{ upstream: UpstreamView; sync: SyncOutcome }> {
    const invalid = (m: string) => upstreamError(UpstreamCodes.UPSTREAM_INVALID, m);
    if (typeof input.name !== 'string' || !UPSTREAM_NAME.test(input.name)) {
      throw invalid('an upstream name is 1-64 characters of letters, digits, ".", "_" and "-", starting with a letter or digit');
    }
    let url: string;
    let state: OciFollowState | null = null;
    if (isOciReference(input.url)) {
      // Issue 20: a tag in a registry, followed by HEAD and imported as a bundle (oci.ts).
      let ref: OciReference;
      try {
        ref = parseOciReference(input.url);
      } catch (e) {
        throw invalid((e as Error).message);
      }
      url = formatOciReference(ref);
      if (input.scopes && input.scopes.length > 0) throw invalid('an oci:// upstream imports whole bundles: choose the scopes with `bundle push --scopes` at the origin');
      if (upstreamToken(input.token)) throw invalid('--token-file is for a keyshare service: a registry takes its own credentials (containers-auth.json, docker config)');
      if (input.insecure && !isLoopback(ref.hostname)) throw invalid(`--insecure (plain HTTP) is for a registry on loopback only, not ${ref.registry}`);
      const caProblem = input.ca ? registryCaProblem(input.ca) : null;
      if (caProblem) throw invalid(`--ca is not a CA certificate file: ${caProblem}`);
      state = initialOciState({ ca: input.ca || null, insecure: input.insecure === true });
    } else {
      if (input.ca || input.insecure) throw invalid('--ca and --insecure are for an oci:// upstream (a registry)');
      try {
        url = normalizeServer(input.url);
      } catch {
        throw invalid(`--url must be an http(s) URL of a keyshare service or an oci:// reference, not ${JSON.stringify(input.url)}`);
      }
      if (new URL(url).username || new URL(url).password) throw invalid('an upstream URL carries no credentials');
      // Issue 16, finding 9: refused at once when it names a private address (each request checks again).
      await checkUrlAddress(new URL(url), this.instance.outbound);
    }
    const mode = input.mode ?? 'federate';
    if (!UPSTREAM_MODES.includes(mode)) throw invalid(`--mode is federate or mirror, not ${JSON.stringify(mode)}`);
    const token = upstreamToken(input.token);
    const scopes = input.scopes && input.scopes.length > 0 ? [...new Set(input.scopes)].sort() : null;
    for (const s of scopes ?? []) parseScope(s);
    if (scopes && mode === 'mirror') throw invalid('a mirror serves the whole upstream repository: --scopes is for --mode federate');
    if (input.reportToken && (mode === 'mirror' || isOciReference(input.url))) throw invalid('a rollout report goes to a keyshare service that this one federates: --report-token-file is for --mode federate over http(s)');
    const root = readPinnedRoot(typeof input.root === 'string' ? Buffer.from(input.root, 'utf8') : input.root);
    // A root version 1 names its repository at once: following this service itself is refused.
    const pinned = parseRootBytes(root, 'the pinned root');
    if (pinned.signed.version === 1 && originOf(pinned.signed.toJSON()) === (await selfIdentity(this.store))) {
      throw upstreamError(UpstreamCodes.UPSTREAM_LOOP, 'this root is this service\'s own: a service cannot follow itself');
    }
    const now = this.clock().toISOString();
    await this.store.transaction(async () => {
      if (await this.store.getUpstream(input.name)) throw upstreamError(UpstreamCodes.UPSTREAM_EXISTS, `an upstream named ${input.name} exists (remove it first)`);
      await this.store.putUpstream({ name: input.name, url, mode, scopes, root, state, timestampVersion: null, lastSuccessAt: null, lastError: null, createdAt: now, token });
      await setReportToken(this.store, input.name, input.reportToken ?? null);
    });
    if (inDryRun()) return { upstream: await this.get(input.name), sync: await this.dryRunSync(input.name) };
    // A fresh cache for a fresh upstream (a removed one of the same name may have left one).
    rmSync(upstreamCacheDir(this.instance.dataDir, input.name), { recursive: true, force: true });
    const outcome = await this.sync(input.name);
    if (this.started) await this.reconcileRunners();
    return { upstream: await this.get(input.name), sync: outcome[0]! };
  }

  /**
   * Issue 21 (`upstream add --dry-run`, `sync --dry-run`): a sync being planned, the same
   * syncUpstream as the real one, run inside the dry run's transaction (service/dry-run.ts rolls
   * its writes back) with a scratch cache, outside the runners (nothing polls it afterwards). A
   * failed sync fails the plan: an empty plan would read as "nothing changes".
   */
  private async dryRunSync(name: string): Promise<SyncOutcome> {
    const scratch = mkdtempSync(join(tmpdir(), 'keyshare-upstream-plan-'));
    try {
      const outcome = await syncUpstream({ ...this.syncDeps(), dataDir: scratch }, name);
      if (!outcome.ok) throw new KeyshareError(outcome.error!.code, `the upstream could not be read, so there is no plan: ${outcome.error!.message}`);
      return outcome;
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }

  /** Removes an upstream: its mirror, and every federated scope only it defined (with anything added on top). */
  async remove(name: string): Promise<{ removed: string; scopesRemoved: string[] }> {
    const row = await this.store.getUpstream(name);
    if (!row) throw upstreamError(UpstreamCodes.UPSTREAM_NOT_FOUND, `no upstream named ${name}`);
    const now = this.clock();
    let scopesRemoved: string[] = [];
    const removeRows = () =>
      this.store.transaction(async () => {
        if (federates(row)) {
          const plan = await planFromStore(this.store, undefined, ownerOfRow(row));
          await applyFederation(this.store, plan, now);
          scopesRemoved = plan.deleteScopes;
        }
        await this.store.deleteUpstream(name);
        await setReportToken(this.store, name, null);
      });
    // Issue 21 (`upstream rm --dry-run`): the same rows go, inside the dry run's rolled-back
    // transaction; the runner keeps polling and the cache stays.
    if (inDryRun()) {
      await removeRows();
      return { removed: name, scopesRemoved };
    }
    this.stopRunner(name);
    await this.runners.get(name)?.running;
    await removeRows();
    this.runners.delete(name);
    rmSync(upstreamCacheDir(this.instance.dataDir, name), { recursive: true, force: true });
    if (federates(row)) await this.instance.publisher.notify();
    return { removed: name, scopesRemoved };
  }

  /** Syncs one upstream now, or every online one. */
  async sync(name?: string): Promise<SyncOutcome[]> {
    if (name !== undefined) {
      const row = await this.store.getUpstream(name);
      if (!row) throw upstreamError(UpstreamCodes.UPSTREAM_NOT_FOUND, `no upstream named ${name}`);
      if (isBundleRow(row)) throw upstreamError(UpstreamCodes.UPSTREAM_NOT_POLLED, `${name} is the origin of imported bundles: it is never polled (import a newer bundle instead)`);
      return [inDryRun() ? await this.dryRunSync(name) : await this.request(name, row)];
    }
    const rows = (await this.store.listUpstreams()).filter((r) => !isBundleRow(r));
    // Issue 21 (`sync --dry-run`): one after the other, inside the dry run's transaction.
    if (inDryRun()) {
      const outcomes: SyncOutcome[] = [];
      for (const r of rows) outcomes.push(await this.dryRunSync(r.name));
      return outcomes;
    }
    return Promise.all(rows.map((r) => this.request(r.name, r)));
  }

  // ---- scheduling ----

  /** The runner of an upstream; `row` (read by the caller) sets up a new one. */
  private runner(name: string, row?: UpstreamRecord): Runner {
    let r = this.runners.get(name);
    if (!r) {
      r = {
        url: row?.url ?? '',
        bearer: row ? upstreamBearer(row) : undefined,
        createdAt: row?.createdAt ?? '',
        running: null,
        pending: false,
        timer: null,
        feed: null,
        seen: row?.timestampVersion ?? 0,
        quickRetries: 0,
        stopped: !this.started,
      };
      this.runners.set(name, r);
    }
    return r;
  }

  /** Runs a sync, or joins the one running and runs once more after it (coalescing). */
  private request(name: string, row?: UpstreamRecord): Promise<SyncOutcome> {
    const r = this.runner(name, row);
    if (r.running) {
      r.pending = true;
      return r.running.then(() => r.running ?? this.request(name));
    }
    const run = (async () => {
      try {
        const outcome = await syncUpstream(this.syncDeps(), name);
        // Issue 21: the rollout report to the upstream, after the sync (its failure fails nothing here).
        if (outcome.ok) await this.reportRollout(name, outcome).catch((e) => this.options.onError?.(e));
        return outcome;
      } catch (e) {
        const err = e instanceof KeyshareError ? e : new KeyshareError(Codes.INTERNAL, (e as Error).message, { cause: e });
        return { name, ok: false, changed: false, timestampVersion: null, error: { code: err.code, message: err.message } } satisfies SyncOutcome;
      }
    })();
    r.running = run;
    const tracked = run.then((outcome) => {
      r.running = null;
      if (outcome.timestampVersion !== null) r.seen = Math.max(r.seen, outcome.timestampVersion);
      this.options.onSync?.(outcome);
      this.afterSync(name, r, outcome);
      if (r.pending) {
        r.pending = false;
        void this.request(name);
      }
      return outcome;
    });
    this.syncing.add(tracked);
    void tracked.finally(() => this.syncing.delete(tracked));
    return run;
  }

  /**
   * Issue 21 (report.ts): records which version here first carries the upstream version just
   * accepted (after this service has published it), then reports to the upstream when it has a
   * report token.
   */
  private async reportRollout(name: string, outcome: SyncOutcome): Promise<void> {
    let row = await this.store.getUpstream(name);
    if (!row || !federates(row) || isOciRow(row) || outcome.timestampVersion === null) return;
    const carried = carriedOf(row);
    if (carried[carried.length - 1]?.[0] !== outcome.timestampVersion) {
      await this.instance.publisher.flush();
      const ours = (await this.store.latestMetadata('timestamp'))?.version ?? 0;
      await this.store.updateUpstreamStatus(name, { state: { ...(row.state ?? {}), carried: nextCarried(carried, outcome.timestampVersion, ours) } });
      row = (await this.store.getUpstream(name)) ?? row;
    }
    const ttlMs = this.options.clientTtlMs ?? DEFAULT_CLIENT_LIMITS.ttlMs;
    const clients = async () => (await this.store.listClients(new Date(this.clock().getTime() - ttlMs).toISOString())).map((c) => ({ ...c, summary: c.summary as ClientSummary | null }));
    await reportUpstream({ store: this.store, outbound: this.instance.outbound, clients }, row);
  }

  private syncDeps() {
    return {
      store: this.store,
      dataDir: this.instance.dataDir,
      publisher: this.instance.publisher,
      audit: this.instance.audit,
      clock: this.options.clock,
      limits: this.options.limits,
      registry: this.options.registry,
      outbound: this.instance.outbound,
    };
  }

  private afterSync(name: string, r: Runner, outcome: SyncOutcome): void {
    if (r.stopped) return;
    // A signature by a key the trusted root does not name: fetch again at once (the new root
    // may be published just after), a few times, before waiting for the next poll.
    if (outcome.error?.code === UpstreamCodes.BAD_SIGNATURE && r.quickRetries < UNKNOWN_KEY_RETRIES) {
      r.quickRetries++;
      this.schedule(name, r, 250 * 2 ** r.quickRetries);
      return;
    }
    if (outcome.ok) r.quickRetries = 0;
    this.schedule(name, r, this.pollDelay());
  }

  private pollDelay(): number {
    const base = this.options.pollMs ?? DEFAULT_POLL_MS;
    return Math.round(base * (0.8 + 0.4 * Math.random()));
  }

  private schedule(name: string, r: Runner, ms: number): void {
    if (r.timer) clearTimeout(r.timer);
    r.timer = setTimeout(() => {
      r.timer = null;
      if (!r.stopped) void this.request(name);
    }, ms);
    r.timer.unref();
  }

  /** Starts polling and feeds for every online upstream (and picks up rows added or removed). */
  start(): void {
    if (this.started) return;
    this.started = true;
    const rescan = () => {
      void this.reconcileRunners().catch((e) => this.options.onError?.(e));
      void this.enforceOriginExpiry().catch((e) => this.options.onError?.(e));
    };
    rescan();
    this.rescan = setInterval(rescan, 30_000);
    this.rescan.unref();
  }

  private async reconcileRunners(): Promise<void> {
    const rows = new Map((await this.store.listUpstreams()).filter((r) => !isBundleRow(r)).map((r) => [r.name, r]));
    for (const [name, r] of this.runners) {
      const row = rows.get(name);
      if (!row || row.createdAt !== r.createdAt) {
        this.stopRunner(name);
        this.runners.delete(name);
      }
    }
    for (const [name, row] of rows) {
      const r = this.runner(name, row);
      r.stopped = false;
      r.url = row.url;
      r.bearer = upstreamBearer(row);
      r.createdAt = row.createdAt;
      // The first poll soon after start (spread out), then every pollMs.
      if (!r.timer && !r.running) this.schedule(name, r, Math.round(Math.random() * Math.min(2_000, this.options.pollMs ?? DEFAULT_POLL_MS)));
      // A registry has no change feed: oci:// rows are polled (HEAD of the manifest) only.
      if (this.options.feed !== false && !r.feed && !isOciRow(row)) void this.follow(name, r);
    }
  }

  private stopRunner(name: string): void {
    const r = this.runners.get(name);
    if (!r) return;
    r.stopped = true;
    if (r.timer) clearTimeout(r.timer);
    r.timer = null;
    r.feed?.abort();
    r.feed = null;
  }

  /**
   * The change feed: long-polls `{url}/tuf/feed?after=N`; a version above what was seen starts
   * a sync. Errors back off (1 s doubling to 60 s); an upstream without a feed (404) is only polled.
   */
  private async follow(name: string, r: Runner): Promise<void> {
    const controller = new AbortController();
    r.feed = controller;
    let backoff = 1_000;
    let quiet = 0;
    const wait = this.options.feedWaitSeconds ?? 25;
    while (!r.stopped && !controller.signal.aborted) {
      try {
        const feedUrl = `${r.url}/tuf/feed?after=${r.seen}&wait=${wait}`;
        const res = await httpRequest(feedUrl, {
          signal: controller.signal,
          timeoutMs: (wait + 10) * 1000,
          // With the upstream's token, a reserved slot of its feed (token.ts).
          headers: { 'user-agent': 'keyshare-upstream', ...bearerHeader(r.bearer, feedUrl) },
          maxBytes: FEED_MAX_BYTES,
          guard: guardFor(this.instance.outbound),
        });
        if (res.status === 404) {
          backoff = 5 * 60_000;
          throw new Error('no change feed');
        }
        if (res.status < 200 || res.status >= 300) throw new Error(`HTTP ${res.status}`);
        const version = (JSON.parse(res.body.toString('utf8')) as { timestampVersion?: unknown }).timestampVersion;
        if (!Number.isSafeInteger(version)) throw new Error('not a feed answer');
        backoff = 1_000;
        if ((version as number) > r.seen) {
          r.seen = version as number;
          quiet = 0;
          await this.request(name);
          // However fast the feed answers, at most a few syncs a second.
          await sleep(200, controller.signal);
        } else {
          // No newer version (a full feed answering at once, an upstream at or below what was
          // accepted): back off, jittered and exponential, capped at the poll interval (issue 16, finding 3).
          quiet = quietDelay(quiet, this.options.pollMs ?? DEFAULT_POLL_MS);
          await sleep(quiet, controller.signal);
        }
      } catch {
        if (r.stopped || controller.signal.aborted) break;
        await sleep(backoff, controller.signal);
        backoff = Math.min(backoff * 2, 60_000);
      }
    }
    if (r.feed === controller) r.feed = null;
  }

  /** Stops polling and feeds; syncs in flight finish (see idle). */
  stop(): void {
    this.started = false;
    if (this.rescan) clearInterval(this.rescan);
    this.rescan = null;
    for (const name of this.runners.keys()) this.stopRunner(name);
  }

  /** Waits for syncs in flight. */
  async idle(): Promise<void> {
    while (this.syncing.size > 0) await Promise.allSettled([...this.syncing]);
  }
}

/**
 * The follower's pause after a feed answer with no newer version: from 500 ms, doubling, at most
 * the poll interval, each with ±25 % jitter (so that followers of one upstream spread out).
 */
export function quietDelay(previous: number, pollMs: number, random: () => number = Math.random): number {
  const base = Math.min(previous === 0 ? 500 : previous * 2, pollMs);
  return Math.min(pollMs, Math.round(base * (0.75 + random() * 0.5)));
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    t.unref();
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}

export function view(row: UpstreamRecord, now: Date = new Date(), graceSeconds = DEFAULT_ORIGIN_GRACE_SECONDS): UpstreamView {
  const bundle = isBundleRow(row);
  const s = upstreamState(row);
  const bundleState = bundle ? (row.state as { scopes?: string[]; expires?: string } | null) : null;
  return {
    name: row.name,
    url: row.url,
    mode: row.mode,
    scopes: row.scopes,
    version: row.timestampVersion,
    lastSuccessAt: row.lastSuccessAt,
    lastError: row.lastError,
    createdAt: row.createdAt,
    authenticated: Boolean(row.token),
    kind: bundle ? 'bundle' : 'online',
    origin: bundle ? row.url.slice('bundle:'.length) : (s?.origin ?? null),
    federatedScopes: s?.federated ? Object.keys(s.federated.scopes).length : (bundleState?.scopes?.length ?? null),
    conflicts: s?.conflicts ?? [],
    mirror: row.mode === 'mirror' ? `/mirrors/${row.name}/tuf/` : null,
    ...expiryOf(s?.expires ?? bundleState?.expires ?? null, row, now, graceSeconds),
  };
}

function expiryOf(expires: string | null, row: UpstreamRecord, now: Date, graceSeconds: number): Pick<UpstreamView, 'expires' | 'expiry' | 'expiresInSeconds'> {
  const e = originExpiry(expires, now, graceSeconds);
  // Withdrawn only once enforceOriginExpiry has done it (the flag then matches the store).
  const withdrawn = Boolean((row.state as { withdrawnAt?: string } | null)?.withdrawnAt);
  return { expires, expiry: withdrawn ? 'withdrawn' : e.status === 'withdrawn' ? 'expired' : e.status, expiresInSeconds: e.secondsLeft };
}
