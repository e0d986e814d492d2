/**
 * One HTTP(S) request over node:http, its whole answer read into memory within a time limit
 * and a size cap. The client's fetches and the CLI's admin calls use it rather than the global
 * fetch(): Node builds fetch() from its bundled undici on first use, which cost a CLI command a
 * third of its start (bench B5, docs/BENCHMARKS.md). Connections are kept alive, so that a
 * fetch's requests follow each other on one connection (issue 25). Shared by the client
 * (sync/client) and the service's own fetches (service/net), which add a ConnectGuard.
 */
import type { Agent, IncomingHttpHeaders, IncomingMessage, RequestOptions, request as HttpRequestFn } from 'node:http';
import type { LookupFunction } from 'node:net';
import { KeyshareError } from './errors.js';
import { plainTransport } from './http-plain.js';

/**
 * The service's address check for its own fetches (service/net/outbound.ts implements it):
 * `check` refuses a literal address, `lookup` every address a host name resolves to.
 */
export interface ConnectGuard {
  check(url: URL): void;
  lookup(url: URL): LookupFunction;
}

export interface HttpRequest {
  method?: string;
  headers?: Record<string, string>;
  /** A whole body, or one sent as it is produced (chunked transfer encoding; the CLI's streamed apply). */
  body?: string | Buffer | Iterable<string | Buffer>;
  /** The whole exchange, body included. */
  timeoutMs: number;
  /** Aborts the request (e.g. the deadline of a whole sync). */
  signal?: AbortSignal;
  /** Refuses a body over this many bytes (announced or sent) with `tooLarge`. */
  maxBytes?: number;
  /**
   * The service's own fetches (issue 16, finding 9: service/net/outbound.ts): every hop's address
   * is checked (ADDRESS_NOT_ALLOWED), and a failure to connect gets one text whatever its cause,
   * so that the errors tell nothing about the ports of the hosts around the service.
   */
  guard?: ConnectGuard;
  tooLarge?: (max: number, announced: boolean) => Error;
}

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Why a request got no answer: the network, the time limit or the caller's signal. */
export class HttpRequestError extends Error {
  constructor(
    message: string,
    /** Before any answer came: the server could not be reached. */
    readonly unreachable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'HttpRequestError';
  }
}

/** Redirects a GET follows, as fetch() did (it stops at 20; a TUF mirror needs few). */
const MAX_REDIRECTS = 5;
/** An error answer's body up to this size is read, so that the connection can carry the next request. */
const DRAIN_BYTES = 64 * 1024;
/** The one text of a guarded request's failure to connect (refused, unreachable, reset, timed out). */
const NO_CONNECTION = 'no answer (the connection failed or timed out)';


/** Guarded requests keep their own connections, never one opened without their guard. */
const guardedAgents = new WeakMap<ConnectGuard, Map<string, Agent>>();
const agents = new Map<string, Agent>();

let httpModule: Promise<typeof import('node:http')> | undefined;
let httpsModule: Promise<typeof import('node:https')> | undefined;

/**
 * How a request goes: plain http with a whole body (or none) and no guard, the client's and the
 * CLI's requests, over node:net (shared/http-plain.ts: node:http's load and first request cost a
 * command more than the exchange itself, issue 25); anything else over node:http or node:https.
 */
function transportFor(url: URL, req: HttpRequest): Promise<{ request: typeof HttpRequestFn; agent?: Agent }> {
  if (url.protocol === 'http:' && !req.guard && replayable(req)) return plainTransport().then((request) => ({ request: request as unknown as typeof HttpRequestFn }));
  return transport(url.protocol, req.guard);
}

async function transport(protocol: string, guard?: ConnectGuard): Promise<{ request: typeof HttpRequestFn; agent: Agent }> {
  // Only https loads TLS; each module is imported once (an import() per request cost 0.2 ms under a loader: bench B5, every scope).
  const mod = protocol === 'https:' ? await (httpsModule ??= import('node:https')) : protocol === 'http:' ? await (httpModule ??= import('node:http')) : null;
  if (!mod) throw new HttpRequestError(`unsupported protocol ${protocol}`, true);
  let pool = agents;
  if (guard) {
    pool = guardedAgents.get(guard) ?? new Map();
    guardedAgents.set(guard, pool);
  }
  let agent = pool.get(protocol);
  if (!agent) pool.set(protocol, (agent = new mod.Agent({ keepAlive: true })));
  return { request: mod.request as typeof HttpRequestFn, agent };
}

/**
 * A kept-alive connection that the server closed while it sat idle fails the next request on it
 * before any answer (ECONNRESET, EPIPE). Node's http docs: retry such a request, once, on a new
 * connection, when it can be sent again (a streamed body cannot).
 */
class StaleConnection extends Error {}

function replayable(req: HttpRequest): boolean {
  return req.body === undefined || typeof req.body === 'string' || Buffer.isBuffer(req.body);
}

async function onceFresh(url: URL, req: HttpRequest, signal: AbortSignal): Promise<HttpAnswer> {
  try {
    return await once(url, req, signal);
  } catch (e) {
    if (!(e instanceof StaleConnection)) throw e;
    return once(url, req, signal, { fresh: true });
  }
}

export async function httpRequest(url: string, req: HttpRequest): Promise<HttpAnswer> {
  const deadline = AbortSignal.timeout(req.timeoutMs);
  const signal = req.signal ? AbortSignal.any([deadline, req.signal]) : deadline;
  let target = new URL(url);
  let hop = req;
  for (let redirects = 0; ; redirects++) {
    const answer = await onceFresh(target, hop, signal);
    const location = answer.headers.location;
    const follow = (req.method ?? 'GET') === 'GET' && [301, 302, 303, 307, 308].includes(answer.status) && location && redirects < MAX_REDIRECTS;
    if (!follow) return answer;
    const next = new URL(location, target);
    // Credentials go to the origin they were given for, never to another one a redirect names (as fetch() does).
    if (next.origin !== target.origin) hop = { ...hop, headers: withoutCredentials(hop.headers) };
    target = next;
  }
}

function withoutCredentials(headers: Record<string, string> | undefined): Record<string, string> | undefined {
  if (!headers) return headers;
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !['authorization', 'cookie', 'proxy-authorization'].includes(name.toLowerCase())));
}

function once(url: URL, req: HttpRequest, signal: AbortSignal, retry: { fresh: boolean } = { fresh: false }): Promise<HttpAnswer> {
  try {
    req.guard?.check(url);
  } catch (e) {
    return Promise.reject(e);
  }
  return transportFor(url, req).then(
    ({ request, agent }) =>
      new Promise<HttpAnswer>((resolve, reject) => {
        const timedOut = () => signal.reason instanceof Error && signal.reason.name === 'TimeoutError';
        const why = () => (req.guard && !answered && timedOut() ? NO_CONNECTION : timedOut() ? `no complete answer within ${req.timeoutMs} ms` : 'aborted');
        if (signal.aborted) return reject(new HttpRequestError(`${url.href}: ${why()}`, true));
        let answered = false;
        // The retry of a stale connection opens a new one (agent: false), not another idle one.
        const options: RequestOptions = { method: req.method ?? 'GET', headers: req.headers, agent: retry.fresh ? false : agent, ...(req.guard ? { lookup: req.guard.lookup(url) } : {}) };
        const r = request(url, options, (res: IncomingMessage) => {
          answered = true;
          const status = res.statusCode ?? 0;
          const ok = status >= 200 && status < 300;
          const max = ok ? (req.maxBytes ?? Infinity) : DRAIN_BYTES;
          const chunks: Buffer[] = [];
          let seen = Number(res.headers['content-length'] ?? 0) > max ? Infinity : 0;
          const over = () => {
            res.destroy();
            // An error answer keeps its status (its body is not needed); a body over the cap is refused.
            if (!ok) resolve({ status, headers: res.headers, body: Buffer.alloc(0) });
            else reject(req.tooLarge?.(max, seen === Infinity) ?? new HttpRequestError(`${url.href}: a body over ${max} bytes`, false));
          };
          if (seen === Infinity) return over();
          res.on('data', (chunk: Buffer) => {
            if ((seen += chunk.length) > max) over();
            else chunks.push(chunk);
          });
          res.once('end', () => resolve({ status, headers: res.headers, body: Buffer.concat(chunks) }));
          res.once('error', (e) => reject(new HttpRequestError(`${url.href}: ${e.message}`, false, { cause: e })));
        });
        // `signal` destroys the request, and the answer's stream with it.
        const onAbort = () => r.destroy(new HttpRequestError(`${url.href}: ${why()}`, !answered));
        signal.addEventListener('abort', onAbort, { once: true });
        r.once('close', () => signal.removeEventListener('abort', onAbort));
        r.once('error', (e) => {
          if (e instanceof HttpRequestError || e instanceof KeyshareError) return reject(e);
          const code = (e as NodeJS.ErrnoException).code;
          if (!answered && r.reusedSocket && !retry.fresh && replayable(req) && (code === 'ECONNRESET' || code === 'EPIPE')) return reject(new StaleConnection(e.message));
          const message = req.guard && !answered ? `${url.origin}: ${NO_CONNECTION}` : e.message;
          reject(new HttpRequestError(message, !answered, { cause: e }));
        });
        if (replayable(req)) r.end(req.body as string | Buffer | undefined);
        else void writeChunks(r, req.body as Iterable<string | Buffer>);
      }),
  );
}

/** Writes `chunks` with backpressure (each waits for the socket to drain), then ends the request. */
async function writeChunks(r: import('node:http').ClientRequest, chunks: Iterable<string | Buffer>): Promise<void> {
  for (const chunk of chunks) {
    if (r.destroyed) return;
    if (!r.write(chunk)) await new Promise<void>((drained) => { r.once('drain', drained); r.once('close', drained); });
  }
  if (!r.destroyed) r.end();
}
