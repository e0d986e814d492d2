/** Runs the HTTP service on a socket, with the publisher's re-signing timer and graceful shutdown. */
import { DEFAULT_CLIENT_LIMITS, type ClientLimitsConfig } from './rollout.js';
import { getRequestListener } from '@hono/node-server';
import { createApp } from './http/app.js';
import type { TrustedProxies } from './http/client.js';
import type { RefusalLimits } from './http/middleware/refusals.js';
import { CrlRefresher } from './crl/refresh.js';
import { createMetrics, type Metrics } from './http/metrics.js';
import type { ConsoleOptions } from './http/ui/console.js';
import type { Logger } from './log.js';
import type { Instance } from './instance.js';
import { KeyshareError, Codes } from './errors.js';
import { closeFeed, type FeedLimits } from './http/routes/feed.js';
import { composeServices, type UpstreamOptions } from './composition.js';
import { StaticDir } from './repo/static-dir.js';
import { staticLogFiles } from './tlog/static-files.js';
import { evaluateHealth } from './health.js';
import { Replication } from './replication.js';
import { notModified, tufFastPath } from './http/routes/tuf.js';
import type { Witness } from './tlog/witness.js';
import { WitnessConfig, Witnessing } from './tlog/witnesses.js';
import { randomUUID } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(listen);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new KeyshareError(Codes.CONFIG_INVALID, `--listen must be HOST:PORT, not ${JSON.stringify(listen)}`);
  return { host: (m[1] ?? m[2])!, port };
}

export interface ServerOptions {
  logger?: Logger;
  /** Admin API request body limit (bytes). */
  maxBodyBytes?: number;
  /** On close, how long in-flight requests get before their connections are cut (default 30 s). */
  shutdownTimeoutMs?: number;
  console?: ConsoleOptions;
  /** Upstreams (service/federation/upstream): poll interval, change feed, limits. */
  upstreams?: UpstreamOptions;
  /** `--static-dir`: also write the repository there as plain files, on start-up and after every publish. */
  staticDir?: string | null;
  /** A client must send a request's headers within this time (default 15 s): slow-header clients (slowloris) are cut. */
  headersTimeoutMs?: number;
  /** ... and the whole request, body included, within this time (default 60 s). Long-polls answered slowly are not affected. */
  requestTimeoutMs?: number;
  /** `--database`: with a PostgreSQL URL this process is one of the replicas on it (service/replication.ts). */
  database?: string | null;
  /** `--trusted-proxy`: peers whose X-Forwarded-* headers are believed (service/http/client.ts). */
  trustedProxies?: TrustedProxies;
  /** Refused admin API requests per client address (service/http/middleware/refusals.ts). */
  refusalLimits?: RefusalLimits;
  /** Long-poll slots of the change feed (service/http/routes/feed.ts). */
  feedLimits?: FeedLimits;
  /** `--advertise-url`: named by the other replicas in NOT_PUBLISHER while this one publishes. */
  advertiseUrl?: string | null;
  /** Issue 21 (`--clients-cap`, `--clients-expiry`): the registry of reporting clients; the rest of DEFAULT_CLIENT_LIMITS otherwise. */
  clients?: Partial<ClientLimitsConfig>;
  /** A listener bound before the instance was opened (`keyshare serve`, issue 24 row 14); else startServer binds one. */
  listener?: BoundListener;
  /** `--witness-for`: this service also witnesses other logs (service/tlog/witness.ts). */
  witness?: Witness;
}

/** A listening socket whose requests are answered 503 STARTING until `handle` gives it the service. */
export interface BoundListener {
  server: Server;
  host: string;
  handle(listener: RequestListener): void;
  close(): Promise<void>;
}

/**
 * Binds the listen address (issue 24 row 14: `serve` does this before anything writes, so that a
 * second `serve` on a used address stops before touching the repository). Requests that arrive
 * before the service is ready are answered 503 STARTING with Retry-After.
 */
export async function bindListener(listen: string, options: Pick<ServerOptions, 'headersTimeoutMs' | 'requestTimeoutMs'> = {}): Promise<BoundListener> {
  const { host, port } = parseListen(listen);
  let handler: RequestListener = (_req, res) => {
    res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' }).end(JSON.stringify({ code: Codes.STARTING, message: 'the service is starting' }));
  };
  // Slow clients hold a socket and memory each: headers and whole requests have deadlines,
  // checked often enough that a deadline is kept to within a second or two.
  const server = createServer(slowClientLimits(options), (req, res) => handler(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(listenError(e, listen)));
    server.listen(port, host, () => resolve());
  });
  return {
    server,
    host,
    handle(listener) {
      handler = listener;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * Issue 16 ("5xx on a malformed request"): an answer sent before its request's body was read to
 * the end (413, a refusal before the body is parsed) says `Connection: close`. The body is
 * drained for a short while and the connection is then cut (@hono/node-server drainIncoming);
 * without the header a keep-alive client sent its next request (a GET /api/v1/scopes in the
 * review's burst) on that connection and got ECONNRESET. Only a request with a body (hasBody) is
 * watched: every other one leaves nothing unread.
 */
function closeIfBodyUnread(req: IncomingMessage, res: ServerResponse): void {
  const writeHead = res.writeHead;
  res.writeHead = function (this: ServerResponse, ...args: Parameters<typeof writeHead>) {
    if (!req.complete) this.setHeader('connection', 'close');
    return writeHead.apply(this, args);
  } as typeof writeHead;
}

/**
 * RFC 9112 6.3: a request has a body only with Transfer-Encoding or a non-zero Content-Length.
 * A GET answered in the turn its headers arrived is not yet `complete` (node marks it after the
 * request handler returns), and has nothing unread: its connection stays open for the next one.
 */
function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** Defaults for the slow-client limits (node's are 60 s and 300 s, checked every 30 s). */
export const DEFAULT_HEADERS_TIMEOUT_MS = 15_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;

function slowClientLimits(options: ServerOptions) {
  const requestTimeout = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const headersTimeout = Math.min(options.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS, requestTimeout);
  return { headersTimeout, requestTimeout, connectionsCheckingInterval: Math.max(100, Math.min(2_000, Math.floor(headersTimeout / 2))) };
}

/**
 * The one place where listen errors become coded errors that say what to do (issue 15):
 * `INTERNAL: listen EADDRINUSE` was what a busy port used to print.
 */
export function listenError(e: unknown, listen: string): unknown {
  const code = (e as NodeJS.ErrnoException)?.code;
  const why =
    code === 'EADDRINUSE' ? 'is in use' :
    code === 'EACCES' ? 'needs privileges this process lacks (ports below 1024 usually do)' :
    code === 'EADDRNOTAVAIL' ? 'is not an address of this machine' :
    null;
  return why ? new KeyshareError(Codes.LISTEN_FAILED, `${listen} ${why}; choose another with --listen`, { cause: e }) : e;
}

export async function startServer(
  instance: Instance,
  listen: string,
  log: (e: Record<string, unknown>) => void = () => {},
  options: ServerOptions = {},
): Promise<RunningServer> {
  const bound = options.listener ?? (await bindListener(listen, options));
  try {
    return await serveOn(bound, instance, log, options);
  } catch (e) {
    await bound.close();
    throw e;
  }
}

async function serveOn(bound: BoundListener, instance: Instance, log: (e: Record<string, unknown>) => void, options: ServerOptions): Promise<RunningServer> {
  const metrics = createMetrics(instance, { processMetrics: true });
  // One log line per publish: the timestamp version, the roles signed and the time it took.
  const logger = options.logger;
  const unobserve = logger
    ? instance.publisher.observe((e) => {
        // (failures are logged by the instance's onPublishError)
        if (e.result) logger.info({ timestampVersion: e.result.timestampVersion, roles: e.result.rolesSigned.length, documents: e.result.documentsChanged, seconds: e.seconds }, 'published');
      })
    : () => {};
  // The composition root: every long-lived service beyond the instance, built once (service/composition.ts).
  const { upstreams } = composeServices(instance, {
    upstreams: {
      onError: (err) => log({ level: 'error', msg: 'upstream rescan failed', err: err instanceof Error ? err.message : String(err) }),
      clientTtlMs: options.clients?.ttlMs,
      ...options.upstreams,
    },
  });
  // Issue 23: every new checkpoint goes to the log's witnesses for their cosignatures.
  const witnessing = instance.log
    ? new Witnessing(instance.log, new WitnessConfig(instance.store), {
        outbound: instance.outbound,
        onError: (name, message) => log({ level: 'warn', msg: 'witness did not cosign', witness: name, err: message }),
        onRoundFailed: (message) => log({ level: 'warn', msg: 'witness round failed', err: message }),
        onRound: () => void staticDir?.dir.update(),
      })
    : null;
  const app = createApp({
    instance,
    upstreams,
    witness: options.witness,
    onWitnessAdded: () => void witnessing?.run(),
    log,
    logger: options.logger,
    metrics,
    maxBodyBytes: options.maxBodyBytes,
    console: options.console,
    trustedProxies: options.trustedProxies,
    refusalLimits: options.refusalLimits,
    feedLimits: options.feedLimits,
    clientLimits: { ...DEFAULT_CLIENT_LIMITS, ...options.clients },
  });
  // The static copy: the whole repository now (start fails if the directory cannot be written),
  // then what each publish, root publish or reload of another process's publish adds.
  // (declared before the witnesses' rounds can start: witnessing.start() comes later.)
  const staticDir = options.staticDir ? startStaticDir(instance, options.staticDir, log) : null;
  if (staticDir) {
    try {
      await staticDir.writeAll();
    } catch (e) {
      staticDir.unsubscribe();
      throw e;
    }
  }
  // Replicas (issue 11): only the lease holder publishes; SQLite is one process, which always does.
  const replication =
    instance.store.dialect === 'postgres' && options.database
      ? new Replication(instance.publisher, { url: options.database, log, advertiseUrl: options.advertiseUrl, meta: instance.store })
      : null;
  await replication?.start();
  // Publish anything committed while no publisher ran (e.g. an import into the data dir), then keep roles fresh.
  await instance.publisher.notify();
  instance.publisher.start();
  // CRLs registered with a URL are fetched again on a schedule derived from nextUpdate.
  const crlRefresher = new CrlRefresher(instance.store, instance.service, {
    outbound: instance.outbound,
    onError: (err) => log({ level: 'error', msg: 'CRL refresh failed', err: err instanceof Error ? err.message : String(err) }),
  });
  crlRefresher.start();
  // Managed CAs sign their CRLs again before nextUpdate (service/ca, issue 18).
  instance.ca.start();
  // Upstreams: polled with jitter, and followed through their change feeds (service/federation/upstream).
  upstreams.start();
  const unwitness = instance.served.onServedChange(() => void witnessing?.run());
  // Each publish collects its checkpoint's cosignatures (bounded) before its version is served.
  instance.publisher.setBeforeServe(witnessing ? () => witnessing.collect() : null);
  witnessing?.start();
  const stopWarnings = logHealthWarnings(instance, log);
  const fast = fastReads(instance, metrics, options.logger);
  const stopGc = collectAfterPublishing(instance.publisher);
  // The hot TUF reads are answered before hono (service/http/routes/tuf.ts tufFastPath).
  const honoListener = getRequestListener(app.fetch, { hostname: bound.host });
  bound.handle((req, res) => {
    if (hasBody(req)) closeIfBodyUnread(req, res);
    return fast(req, res) || void honoListener(req, res);
  });
  const server = bound.server;
  const host = bound.host;
  const address = server.address();
  const actualPort = typeof address === 'object' && address ? address.port : 0;
  let closing: Promise<void> | null = null;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${actualPort}`,
    close() {
      closing ??= (async () => {
        // Stop accepting and close idle keep-alive connections; in-flight requests finish
        // (and with them any publish they started). Past the timeout, connections are cut.
        const http = server as import('node:http').Server;
        const timer = setTimeout(() => http.closeAllConnections?.(), options.shutdownTimeoutMs ?? 30_000);
        timer.unref();
        // Long-polls of the change feed are answered now, not held until the timeout; no new syncs start.
        closeFeed(instance.served);
        upstreams.stop();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          http.closeIdleConnections?.();
        });
        clearTimeout(timer);
        // Then a running publish completes (it commits in one transaction, or not at all), and the store closes.
        crlRefresher.stop();
        await crlRefresher.idle();
        instance.ca.stop();
        await upstreams.idle();
        unwitness();
        instance.publisher.setBeforeServe(null);
        witnessing?.stop();
        await witnessing?.idle();
        if (staticDir) {
          // The last publish reaches the static dir before the store closes.
          instance.publisher.stop();
          await instance.publisher.idle();
          await staticDir.dir.close();
          staticDir.unsubscribe();
        }
        // After the last publish: release the lease, so that another replica takes over at once.
        instance.publisher.stop();
        await instance.publisher.idle();
        await replication?.stop();
        await instance.close();
        stopGc();
        stopWarnings();
        metrics.close();
        unobserve();
      })();
      return closing;
    },
  };
}

function startStaticDir(instance: Instance, dir: string, log: (e: Record<string, unknown>) => void): { dir: StaticDir; writeAll(): Promise<void>; unsubscribe(): void } {
  const { store, served } = instance;
  const staticDir = new StaticDir(
    dir,
    {
      latestMetadata: (role) => served.latestMetadata(role),
      getMetadata: (role, version) => store.getMetadata(role, version),
      listMetadataVersions: (role) => store.listMetadataVersions(role),
      getTarget: (sha256, path) => store.getTarget(sha256, path),
      log: instance.log ? () => staticLogFiles(instance.log!, store) : undefined,
    },
    { onError: (err) => log({ level: 'error', msg: 'static dir write failed', err: err instanceof Error ? err.message : String(err) }) },
  );
  const unsubscribe = served.onServedChange(() => void staticDir.update());
  return { dir: staticDir, writeAll: () => staticDir.writeAll(), unsubscribe };
}

/**
 * The node request listener's first look at a request: a hot TUF read is answered from memory
 * with prebuilt headers (tufFastPath), with a request ID, counted in keyshare_http_requests_total
 * and logged at debug (like /healthz: one info line per client refresh cost more than serving it,
 * bench B1). Returns false for anything else.
 */
function fastReads(instance: Instance, metrics: Metrics, logger?: Logger): (req: IncomingMessage, res: ServerResponse) => boolean {
  const lookup = tufFastPath(instance);
  const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
  return function fastRead(req, res) {
    const entry = lookup(req.method, req.url);
    if (!entry) return false;
    const incoming = req.headers['x-request-id'];
    const requestId = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    const status = notModified(entry, req.headers['if-none-match']) ? 304 : 200;
    res.writeHead(status, [...(status === 200 ? entry.ok : entry.notModified), 'x-request-id', requestId]);
    res.end(status === 200 ? entry.body : undefined);
    metrics.countFastRead(entry.route, status);
    if (logger?.isLevelEnabled('debug')) logger.debug({ reqId: requestId, method: 'GET', path: req.url, status }, 'request');
    return true;
  };
}

/** How often the root-expiry and store-check warnings are logged again (issue 24 row 8). */
const HEALTH_LOG_INTERVAL_MS = 60 * 60 * 1000;

/**
 * Issue 24 rows 8 and 10: the warnings of /readyz also go to the log, at start and hourly:
 * the root's expiry from 30 days before it (at error level from 7), a failed quick_check.
 */
function logHealthWarnings(instance: Instance, log: (e: Record<string, unknown>) => void): () => void {
  const clock = instance.clock ?? (() => new Date());
  const tell = () => {
    const health = evaluateHealth({ now: clock(), roles: instance.publisher.servedRoles(), database: 'up', staleKeys: instance.publisher.staleKeyRoles(), storeCheck: instance.storeCheck ?? null });
    for (const w of health.warnings) log({ level: w.level, msg: w.message, code: w.code });
  };
  tell();
  const timer = setInterval(tell, HEALTH_LOG_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/** Publishing this many bytes since the last collection, then a quiet spell, makes one. */
const GC_AFTER_BYTES = 32 * 1024 * 1024;
const GC_QUIET_MS = 1_000;

/**
 * One full garbage collection after start-up, and once publishing has gone quiet when publishes
 * wrote at least GC_AFTER_BYTES since the last one. Each publish at 100k scopes leaves an 11 MB index.json and
 * its copies behind, and V8 collects nothing while a process is idle: the service sat at 330
 * MiB after a burst of publishes, about 230 MiB after one collection (bench B8,
 * docs/BENCHMARKS.md). V8's `gc` is reached the way jest-leak-detector reaches it (a context
 * made after --expose-gc); the collection runs incrementally (execution: 'async'), so that
 * requests are not held for a whole collection. Without it (a V8 that refuses), nothing is done.
 */
function collectAfterPublishing(publisher: Instance['publisher']): () => void {
  const gc = exposedGc();
  if (!gc) return () => {};
  let written = 0;
  let timer: NodeJS.Timeout | null = null;
  const collectWhenQuiet = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      written = 0;
      gc({ type: 'major', execution: 'async' });
    }, GC_QUIET_MS);
    timer.unref();
  };
  const unobserve = publisher.observe((e) => {
    written += e.result?.bytesWritten ?? 0;
    if (written >= GC_AFTER_BYTES) collectWhenQuiet();
  });
  // Start-up (reading every scope and role) leaves garbage too.
  collectWhenQuiet();
  return () => {
    unobserve();
    if (timer) clearTimeout(timer);
  };
}

function exposedGc(): ((options: { type: 'major'; execution: 'async' }) => unknown) | null {
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    return typeof gc === 'function' ? (gc as (options: { type: 'major'; execution: 'async' }) => unknown) : null;
  } catch {
    return null;
  }
}
