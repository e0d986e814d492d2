/**
 * Prometheus metrics at /metrics (CONTRACT.md: text format, names `keyshare_*`). Each app gets
 * its own registry, never prom-client's global one, so that apps built side by side (tests,
 * several instances in one process) do not share counters.
 *
 * Request and publish metrics are counted as they happen; the state of the repository (role
 * versions and expiry, CRLs, upstreams, anchors expiring soon) is read when scraped.
 */
import type { MiddlewareHandler } from 'hono';
import { isShardBinRole } from '../repo/index-bins.js';
import { matchedRoutes } from 'hono/route';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Instance, InstanceRecords } from '../instance.js';
import type { UpstreamRecords } from '../store/port.js';
import { isBinRole } from '../repo/layout.js';
import type { AppEnv } from './context.js';
import { probeDatabase } from '../health.js';

/** Anchors whose notAfter falls within this window count as expiring soon. */
export const EXPIRING_SOON_DAYS = 30;
const DAY_MS = 86_400_000;

export interface MetricsOptions {
  clock?: () => Date;
  /** Node process metrics (keyshare_process_*, keyshare_nodejs_*): on for a real server, off in tests. */
  processMetrics?: boolean;
}

export interface Metrics {
  registry: Registry;
  /** Counts every request by method, route pattern and status, with its latency. */
  middleware: MiddlewareHandler<AppEnv>;
  /**
   * Counts a request answered by the hot read path (service/server.ts): a plain integer, added
   * to keyshare_http_requests_total when scraped. Its latency, microseconds of synchronous
   * work, is not observed: prom-client's labelled inc and observe on every request cost more
   * than the rest of such a request besides the socket write (bench B1, docs/BENCHMARKS.md).
   */
  countFastRead(route: string, status: 200 | 304): void;
  /** Counts a refused admin API request (UNAUTHORIZED, FORBIDDEN, RATE_LIMITED): unauthenticated ones are not audited row by row (issue 16, finding 2). */
  countRefusal(code: string): void;
  /** Stops observing the publisher. */
  close(): void;
}

/** The route pattern that answered (bounded label values: never the raw path). */
function routeLabel(c: Parameters<MiddlewareHandler<AppEnv>>[0]): string {
  const routes = matchedRoutes(c);
  const answered = routes[c.req.routeIndex];
  if (answered && answered.method !== 'ALL') return answered.path;
  for (let i = routes.length - 1; i >= 0; i--) if (routes[i]!.method !== 'ALL') return routes[i]!.path;
  return 'unmatched';
}

/** A read shared by several gauges of one scrape: made once, until `reset`. */
function perScrape<T>(read: () => T): { get: () => T; reset: () => void } {
  let value: { v: T } | null = null;
  return {
    get: () => (value ??= { v: read() }).v,
    reset: () => {
      value = null;
    },
  };
}

type Registers = Registry[];
type Clock = () => Date;

export function createMetrics(instance: Instance, options: MetricsOptions = {}): Metrics {
  const clock = options.clock ?? (() => new Date());
  const registry = new Registry();
  const registers = [registry];
  if (options.processMetrics) collectDefaultMetrics({ register: registry, prefix: 'keyshare_' });
  // Registration order is the order of /metrics: requests, publishes, refusals, then the scraped state.
  const http = requestMetrics(registers);
  const countPublish = publishMetrics(registers);
  const countRefusal = refusalMetrics(registers);
  const reads = scrapeReads(instance.records);
  healthGauges(registers, instance.publisher, reads);
  roleGauges(registers, instance.publisher, reads, clock);
  upstreamGauges(registers, reads, clock);
  trustGauges(registers, reads, clock);
  const unobserve = instance.publisher.observe(countPublish);
  return { registry, middleware: http.middleware, countFastRead: http.countFastRead, countRefusal, close: unobserve };
}

/** Requests by method, route and status, with their latency; the hot read path's are counted apart and added when scraped. */
function requestMetrics(registers: Registers): Pick<Metrics, 'middleware' | 'countFastRead'> {
  /** Hot-read counts not yet added to `requests`, by route and status. */
  const fastReads = new Map<string, { labels: { method: string; route: string; status: string }; n: number }>();
  const requests = new Counter({
    name: 'keyshare_http_requests_total',
    help: 'HTTP requests by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers,
    collect() {
      for (const c of fastReads.values()) {
        if (c.n === 0) continue;
        this.inc(c.labels, c.n);
        c.n = 0;
      }
    },
  });
  const countFastRead = (route: string, status: 200 | 304) => {
    const key = status === 200 ? route : `${route} ${status}`;
    const c = fastReads.get(key);
    if (c) c.n++;
    else fastReads.set(key, { labels: { method: 'GET', route, status: String(status) }, n: 1 });
  };
  const latency = new Histogram({
    name: 'keyshare_http_request_duration_seconds',
    help: 'HTTP request latency by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const middleware: MiddlewareHandler<AppEnv> = async function metricsMiddleware(c, next) {
    const started = performance.now();
    try {
      await next();
    } finally {
      const labels = { method: c.req.method, route: routeLabel(c), status: String(c.res.status) };
      requests.inc(labels);
      latency.observe(labels, (performance.now() - started) / 1000);
    }
  };
  return { middleware, countFastRead };
}

type PublishObserver = Parameters<Instance['publisher']['observe']>[0];

/** Publishes by outcome, their duration and the roles they signed; returns the publisher's observer. */
function publishMetrics(registers: Registers): PublishObserver {
  const publishes = new Counter({
    name: 'keyshare_publish_total',
    help: 'Publishes of the TUF repository by outcome (ok, error; noop when there was nothing to publish)',
    labelNames: ['outcome'] as const,
    registers,
  });
  const publishLatency = new Histogram({
    name: 'keyshare_publish_duration_seconds',
    help: 'Time to build, sign and commit one publish',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  const rolesSigned = new Counter({
    name: 'keyshare_publish_roles_signed_total',
    help: 'TUF roles signed by publishes',
    registers,
  });
  for (const outcome of ['ok', 'error', 'noop']) publishes.labels(outcome).inc(0);
  return (e) => {
    const outcome = e.error !== undefined ? 'error' : e.result ? 'ok' : 'noop';
    publishes.labels(outcome).inc();
    if (outcome !== 'noop') publishLatency.observe(e.seconds);
    if (e.result) rolesSigned.inc(e.result.rolesSigned.length);
  };
}

function refusalMetrics(registers: Registers): Metrics['countRefusal'] {
  const refusals = new Counter({
    name: 'keyshare_http_refusals_total',
    help: 'Admin API requests refused before any work, by code (UNAUTHORIZED, FORBIDDEN, RATE_LIMITED)',
    labelNames: ['code'] as const,
    registers,
  });
  return (code: string) => refusals.labels(code).inc();
}

/** The store's records a scrape reads. */
type MetricsRecords = Pick<InstanceRecords, 'changes' | 'repository' | 'upstreams' | 'trust' | 'crls'>;
type RoleState = Map<string, { version: number; expires: number }>;

/**
 * The store reads of one scrape, each made once and shared by its gauges. Issue 24 row 5:
 * /metrics always answers. The database is probed first (with a timeout); the gauges read from
 * it are left out of a scrape while it is down, and a failed read leaves its gauge empty.
 */
function scrapeReads(records: MetricsRecords) {
  const database = perScrape(() => probeDatabase(records.changes));
  const fromDatabase = <T>(read: () => Promise<T>, empty: T) => async (): Promise<T> => {
    if ((await database.get()) === 'down') return empty;
    try {
      return await read();
    } catch {
      return empty;
    }
  };
  /** Per-role state: top-level roles by name; the hashed bins as one series ("bins": the soonest expiry, the highest version). */
  const roleState = perScrape(fromDatabase(async () => {
    const out: RoleState = new Map();
    for (const m of await records.repository.latestMetadataAll()) {
      const role = isBinRole(m.role) ? 'bins' : isShardBinRole(m.role) ? 'shard-bins' : m.role;
      const expires = Date.parse(m.expires);
      const seen = out.get(role);
      out.set(role, seen ? { version: Math.max(seen.version, m.version), expires: Math.min(seen.expires, expires) } : { version: m.version, expires });
    }
    return out;
  }, new Map() as RoleState));
  const upstreams = perScrape(fromDatabase(() => records.upstreams.upstreamSummaries(), []));
  const anchorExpiries = perScrape(fromDatabase(async () => (await records.trust.listAnchors()).flatMap((a) => (a.notAfter ? [Date.parse(a.notAfter)] : [])), [] as number[]));
  const crls = perScrape(fromDatabase(() => records.crls.crlSummaries(), []));
  // (the upstream rows with their state: the summaries leave out the origin's expiry)
  const origins = perScrape(fromDatabase(() => records.upstreams.listUpstreams(), [] as Awaited<ReturnType<UpstreamRecords['listUpstreams']>>));
  const all = [database, roleState, upstreams, anchorExpiries, crls, origins];
  return {
    database: database.get,
    roleState: roleState.get,
    upstreams: upstreams.get,
    anchorExpiries: anchorExpiries.get,
    crls: crls.get,
    origins: origins.get,
    /** A new scrape: every read is made again. */
    reset: () => all.forEach((r) => r.reset()),
  };
}
type ScrapeReads = ReturnType<typeof scrapeReads>;
type PublisherState = Pick<Instance['publisher'], 'publishHealth' | 'leads'>;

function healthGauges(registers: Registers, publisher: PublisherState, reads: ScrapeReads): void {
  new Gauge({
    name: 'keyshare_database_up',
    help: 'Whether the database answered a read during this scrape: 1, or 0 when it is down or too slow (2 s)',
    registers,
    async collect() {
      // Registered first: the registry starts it before the gauges below, which wait on it.
      reads.reset();
      this.set((await reads.database()) === 'up' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'keyshare_last_publish_success_timestamp_seconds',
    help: 'When a publish run of this process last succeeded (Unix seconds; one with nothing to publish counts); absent until one has',
    registers,
    collect() {
      this.reset();
      const at = publisher.publishHealth().lastSuccessAt;
      if (at) this.set(at.getTime() / 1000);
    },
  });
}

function roleGauges(registers: Registers, publisher: PublisherState, reads: ScrapeReads, clock: Clock): void {
  new Gauge({
    name: 'keyshare_role_expiry_seconds',
    help: 'Seconds until the newest version of each TUF role expires (bins: the soonest of the hashed bins)',
    labelNames: ['role'] as const,
    registers,
    async collect() {
      this.reset();
      const now = clock().getTime();
      for (const [role, s] of await reads.roleState()) this.labels(role).set((s.expires - now) / 1000);
    },
  });
  new Gauge({
    name: 'keyshare_publisher_leader',
    help: 'Whether this process signs and publishes: 1, or 0 for a replica that does not hold the publisher lease',
    registers,
    collect() {
      this.set(publisher.leads() ? 1 : 0);
    },
  });
  new Gauge({
    name: 'keyshare_role_version',
    help: 'The current version of each TUF role (bins: the highest of the hashed bins)',
    labelNames: ['role'] as const,
    registers,
    async collect() {
      this.reset();
      for (const [role, s] of await reads.roleState()) this.labels(role).set(s.version);
    },
  });
}

function upstreamGauges(registers: Registers, reads: ScrapeReads, clock: Clock): void {
  new Gauge({
    name: 'keyshare_upstream_lag_seconds',
    help: 'Seconds since the last successful sync of each upstream (since it was added, if never)',
    labelNames: ['upstream'] as const,
    registers,
    async collect() {
      this.reset();
      const now = clock().getTime();
      for (const u of await reads.upstreams()) this.labels(u.name).set((now - Date.parse(u.lastSuccessAt ?? u.createdAt)) / 1000);
    },
  });
  new Gauge({
    name: 'keyshare_origin_expires_seconds',
    help: "Seconds until the trust imported from each origin (a bundle's or an upstream's timestamp) expires; negative after. Past --origin-grace it is no longer republished",
    labelNames: ['origin'] as const,
    registers,
    async collect() {
      this.reset();
      const now = clock().getTime();
      for (const u of await reads.origins()) {
        const expires = (u.state as { expires?: string } | null)?.expires;
        if (expires && !Number.isNaN(Date.parse(expires))) this.labels(u.name).set(Math.floor((Date.parse(expires) - now) / 1000));
      }
    },
  });
  new Gauge({
    name: 'keyshare_upstream_error',
    help: '1 when the last sync of an upstream failed, else 0',
    labelNames: ['upstream'] as const,
    registers,
    async collect() {
      this.reset();
      for (const u of await reads.upstreams()) this.labels(u.name).set(u.lastError ? 1 : 0);
    },
  });
  new Gauge({
    name: 'keyshare_upstream_timestamp_version',
    help: "The upstream timestamp version this service last accepted",
    labelNames: ['upstream'] as const,
    registers,
    async collect() {
      this.reset();
      for (const u of await reads.upstreams()) if (u.timestampVersion !== null) this.labels(u.name).set(u.timestampVersion);
    },
  });
}

function trustGauges(registers: Registers, reads: ScrapeReads, clock: Clock): void {
  new Gauge({
    name: 'keyshare_crl_next_update_seconds',
    help: 'Seconds until the nextUpdate of the newest CRL of each CA anchor (negative: stale)',
    labelNames: ['issuer'] as const,
    registers,
    async collect() {
      this.reset();
      const now = clock().getTime();
      for (const crl of await reads.crls()) this.labels(crl.issuer).set((Date.parse(crl.nextUpdate) - now) / 1000);
    },
  });
  new Gauge({
    name: 'keyshare_anchors_expiring_soon',
    help: `Certificate anchors whose notAfter is within ${EXPIRING_SOON_DAYS} days (already expired ones included)`,
    registers,
    async collect() {
      const limit = clock().getTime() + EXPIRING_SOON_DAYS * DAY_MS;
      this.set((await reads.anchorExpiries()).filter((t) => t <= limit).length);
    },
  });
  new Gauge({
    name: 'keyshare_anchors_expired',
    help: 'Certificate anchors past their notAfter',
    registers,
    async collect() {
      const now = clock().getTime();
      this.set((await reads.anchorExpiries()).filter((t) => t <= now).length);
    },
  });
}
