/**
 * Plain-http requests over node:net, for shared/http.ts (issue 25: client start-up). Loading
 * node:http and making its first request cost a CLI command about 16 ms of CPU against 9 ms for
 * the same exchange over node:net (docs/BENCHMARKS.md, ninth round): node:http loads its server,
 * agent, outgoing and incoming message modules and their streams, all compiled per start.
 *
 * `plainRequest` has the part of node:http's `request` that shared/http.ts `once` uses: a request
 * (`end`, `destroy`, `reusedSocket`, 'error' and 'close') and its answer (`statusCode`, `headers`
 * as node:http gives them, 'data', 'end', 'error', `destroy`). It serves only what http.ts gives
 * it: an http: URL, a whole body or none, no guard; HTTPS, streamed bodies and the service's
 * guarded fetches stay on node:http. The answer is read as RFC 9112 frames it: a 1xx skipped,
 * no body for HEAD, 204 and 304, chunked transfer coding, Content-Length, or up to the close.
 * Connections are kept alive between requests (idle ones unreferenced, so they never hold the
 * process open), as http.ts's keep-alive agent did.
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import type { IncomingHttpHeaders } from 'node:http';

/** node:http's default limit of an answer's head (--max-http-header-size). */
const MAX_HEAD_BYTES = 16 * 1024;
/** Headers node:http keeps the first of when an answer repeats them; others are joined with ', '. */
const FIRST_ONLY = new Set(['age', 'authorization', 'content-length', 'content-type', 'etag', 'expires', 'from', 'host', 'if-modified-since', 'if-unmodified-since', 'last-modified', 'location', 'max-forwards', 'proxy-authorization', 'referer', 'retry-after', 'server', 'user-agent']);
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

/** What node:http's request options hold that a plain request reads; `agent: false`, a connection used once. */
export interface PlainOptions {
  method?: string;
  headers?: Record<string, string>;
  agent?: unknown;
}

/** Idle kept-alive connections by host:port. */
const idle = new Map<string, Socket[]>();
/** Listeners of a connection, each with its own event's arguments. */
type Listeners = Array<[string, (...args: any[]) => void]>;
/** What a connection listens with, ours (never net.Socket's own listeners), to take off when its use ends. */
const listening = new WeakMap<Socket, Listeners>();

function listen(socket: Socket, listeners: Listeners): void {
  for (const [event, listener] of listening.get(socket) ?? []) socket.removeListener(event, listener);
  for (const [event, listener] of listeners) socket.on(event, listener);
  listening.set(socket, listeners);
}

/** An error with a code, as node:http's (what callers and users read: `cause.code`). */
function coded(message: string, code: string, type: ErrorConstructor = Error): Error {
  return Object.assign(new type(message), { code });
}

export class PlainAnswer extends EventEmitter {
  statusCode = 0;
  headers: IncomingHttpHeaders = {};
  constructor(private readonly request: PlainRequest) {
    super();
  }
  destroy(): void {
    this.request.destroy();
  }
}

export class PlainRequest extends EventEmitter {
  reusedSocket = false;
  destroyed = false;
  private socket?: Socket;
  private readonly key: string;
  private readonly head: string;

  constructor(
    private readonly url: URL,
    private readonly options: PlainOptions,
    private readonly onAnswer: (answer: PlainAnswer) => void,
  ) {
    super();
    const method = options.method ?? 'GET';
    const lines = [`${method} ${url.pathname}${url.search} HTTP/1.1`, `Host: ${url.host}`];
    for (const [name, value] of Object.entries(options.headers ?? {})) {
      // node:http refuses these before sending anything, with these errors.
      if (!TOKEN.test(name)) throw coded(`Header name must be a valid HTTP token ["${name}"]`, 'ERR_INVALID_HTTP_TOKEN', TypeError);
      if (BAD_VALUE.test(value)) throw coded(`Invalid character in header content ["${name}"]`, 'ERR_INVALID_CHAR', TypeError);
      lines.push(`${name}: ${value}`);
    }
    this.head = lines.join('\r\n');
    this.key = `${url.hostname}:${url.port || 80}`;
  }

  end(body?: string | Buffer): void {
    const method = this.options.method ?? 'GET';
    const bytes = body === undefined ? undefined : Buffer.from(body);
    const length = bytes ? `\r\nContent-Length: ${bytes.length}` : method === 'GET' || method === 'HEAD' ? '' : '\r\nContent-Length: 0';
    // The retry of a stale connection opens a new one, used once (agent: false, as node:http does it).
    const once = this.options.agent === false;
    const message = Buffer.from(`${this.head}${length}\r\nConnection: ${once ? 'close' : 'keep-alive'}\r\n\r\n`);
    const reused = once ? undefined : idle.get(this.key)?.pop();
    const socket = reused ?? connect({ host: this.url.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(this.url.port || 80), noDelay: true });
    this.socket = socket;
    this.reusedSocket = reused !== undefined;
    socket.ref();
    new AnswerReader(this, socket, method === 'HEAD', !once, this.onAnswer).listen();
    socket.write(bytes ? Buffer.concat([message, bytes]) : message);
  }

  /** Ends the exchange; with an error, the request's 'error' ('close' either way, once). */
  destroy(error?: Error): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.socket?.destroy();
    if (error) this.emit('error', error);
    this.emit('close');
  }

  /** The whole answer read: its connection goes back to the idle ones when it can carry another. */
  finished(reusable: boolean): void {
    const socket = this.socket!;
    this.destroyed = true;
    if (reusable && !socket.destroyed) {
      socket.unref();
      // Anything from an idle connection (the server closing it, or bytes no request asked for) ends it.
      const drop = () => {
        socket.destroy();
        const list = idle.get(this.key) ?? [];
        if (list.includes(socket)) list.splice(list.indexOf(socket), 1);
      };
      listen(socket, [['data', drop], ['end', drop], ['error', drop], ['close', drop]]);
      idle.set(this.key, [...(idle.get(this.key) ?? []), socket]);
    } else {
      socket.destroy();
    }
    this.emit('close');
  }
}

/** Reads one answer from `socket` for `request`: its head, then its body as the head frames it. */
class AnswerReader {
  private buffered: Buffer = Buffer.alloc(0);
  private answer?: PlainAnswer;
  /** Body bytes still due: a number (Content-Length or the current chunk), 'close', or chunked framing. */
  private left: number | 'close' = 0;
  private chunked = false;
  private chunkState: 'size' | 'data' | 'crlf' | 'trailer' = 'size';

  constructor(
    private readonly request: PlainRequest,
    private readonly socket: Socket,
    private readonly head: boolean,
    /** False for a connection used once. */
    private reusable: boolean,
    private readonly onAnswer: (answer: PlainAnswer) => void,
  ) {}

  listen(): void {
    listen(this.socket, [
      ['data', (chunk: Buffer) => this.guard(() => this.read(chunk))],
      ['end', () => this.guard(() => this.ended())],
      ['error', (e: Error) => this.fail(e)],
    ]);
  }

  private guard(step: () => void): void {
    try {
      step();
    } catch (e) {
      this.fail(e as Error);
    }
  }

  private fail(e: Error): void {
    if (this.request.destroyed) return;
    if (this.answer) {
      this.answer.emit('error', e);
      this.request.destroy();
    } else {
      this.request.destroy(e);
    }
  }

  private ended(): void {
    if (this.answer && this.left === 'close') return this.done(false);
    if (this.answer) throw coded('aborted', 'ECONNRESET');
    throw coded('socket hang up', 'ECONNRESET');
  }

  private read(chunk: Buffer): void {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    if (!this.answer && !this.readHead()) return;
    this.readBody();
  }

  /** Parses the head once it is all in; false while it is not. */
  private readHead(): boolean {
    for (;;) {
      const end = this.buffered.indexOf('\r\n\r\n');
      if (end < 0) {
        if (this.buffered.length > MAX_HEAD_BYTES) throw coded('Parse Error: Header overflow', 'HPE_HEADER_OVERFLOW');
        return false;
      }
      if (end > MAX_HEAD_BYTES) throw coded('Parse Error: Header overflow', 'HPE_HEADER_OVERFLOW');
      const [status, ...fields] = this.buffered.subarray(0, end).toString('latin1').split('\r\n');
      this.buffered = this.buffered.subarray(end + 4);
      const m = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: .*)?$/.exec(status!);
      if (!m) throw coded('Parse Error: Expected HTTP/', 'HPE_INVALID_CONSTANT');
      const code = Number(m[2]);
      if (code === 101) throw coded('Parse Error: an upgrade was not asked for', 'HPE_INVALID_CONSTANT');
      const headers = parseFields(fields);
      if (code < 200) continue; // an interim answer (RFC 9110 15.2): the final one follows
      this.frame(code, m[1] === '1', headers);
      const answer = new PlainAnswer(this.request);
      answer.statusCode = code;
      answer.headers = headers;
      this.answer = answer;
      this.onAnswer(answer);
      return !this.request.destroyed;
    }
  }

  /** How the body is delimited (RFC 9112 6.3), and whether the connection can carry another request. */
  private frame(code: number, http11: boolean, headers: IncomingHttpHeaders): void {
    const connection = String(headers.connection ?? '').toLowerCase().split(/\s*,\s*/);
    this.reusable &&= http11 ? !connection.includes('close') : connection.includes('keep-alive');
    const te = headers['transfer-encoding'];
    const cl = headers['content-length'];
    if (te !== undefined && cl !== undefined) throw coded("Parse Error: Content-Length can't be present with Transfer-Encoding", 'HPE_UNEXPECTED_CONTENT_LENGTH');
    if (this.head || code === 204 || code === 304) this.left = 0;
    else if (te !== undefined) {
      this.chunked = /(^|,)\s*chunked\s*$/i.test(String(te));
      this.left = this.chunked ? 0 : 'close';
    } else if (cl !== undefined) {
      if (!/^\d{1,15}$/.test(cl)) throw coded('Parse Error: Invalid character in Content-Length', 'HPE_INVALID_CONTENT_LENGTH');
      this.left = Number(cl);
    } else this.left = 'close';
    if (this.left === 'close') this.reusable = false;
  }

  private readBody(): void {
    const answer = this.answer!;
    while (!this.request.destroyed) {
      if (this.chunked && this.chunkState !== 'data') {
        if (!this.readChunkFrame()) return;
        continue;
      }
      if (this.left === 0) return this.done(this.reusable && this.buffered.length === 0);
      if (this.buffered.length === 0) return;
      const take = this.left === 'close' ? this.buffered.length : Math.min(this.left, this.buffered.length);
      const data = this.buffered.subarray(0, take);
      this.buffered = this.buffered.subarray(take);
      if (this.left !== 'close') this.left -= take;
      if (this.chunked && this.left === 0) this.chunkState = 'crlf';
      answer.emit('data', data);
    }
  }

  /** One line of chunked framing (RFC 9112 7.1): a chunk's size, the CRLF after its data, or a trailer. */
  private readChunkFrame(): boolean {
    const eol = this.buffered.indexOf('\r\n');
    if (eol < 0) {
      if (this.buffered.length > MAX_HEAD_BYTES) throw coded('Parse Error: Chunk size line too long', 'HPE_INVALID_CHUNK_SIZE');
      return false;
    }
    const line = this.buffered.subarray(0, eol).toString('latin1');
    this.buffered = this.buffered.subarray(eol + 2);
    if (this.chunkState === 'crlf') {
      if (line !== '') throw coded('Parse Error: Expected LF after chunk data', 'HPE_STRICT');
      this.chunkState = 'size';
    } else if (this.chunkState === 'trailer') {
      if (line === '') {
        this.chunked = false;
        this.left = 0;
      }
    } else {
      const m = /^([0-9a-fA-F]{1,12})[ \t]*(;.*)?$/.exec(line);
      if (!m) throw coded('Parse Error: Invalid character in chunk size', 'HPE_INVALID_CHUNK_SIZE');
      const size = parseInt(m[1]!, 16);
      if (size === 0) this.chunkState = 'trailer';
      else {
        this.left = size;
        this.chunkState = 'data';
      }
    }
    return true;
  }

  private done(reusable: boolean): void {
    if (this.request.destroyed) return;
    this.request.finished(reusable);
    this.answer!.emit('end');
  }
}

/** Header lines as node:http's IncomingMessage gives them: names in lower case, repeats merged. */
function parseFields(fields: string[]): IncomingHttpHeaders {
  const headers: Record<string, string | string[]> = {};
  for (const field of fields) {
    const colon = field.indexOf(':');
    const name = field.slice(0, colon).toLowerCase();
    if (colon <= 0 || !TOKEN.test(name)) throw coded('Parse Error: Invalid header field char', 'HPE_INVALID_HEADER_TOKEN');
    const value = field.slice(colon + 1).trim();
    if (/[\r\n\0]/.test(value)) throw coded('Parse Error: Invalid header value char', 'HPE_INVALID_HEADER_TOKEN');
    const had = headers[name];
    if (name === 'set-cookie') headers[name] = [...((had as string[] | undefined) ?? []), value];
    else if (had === undefined) headers[name] = value;
    else if (!FIRST_ONLY.has(name)) headers[name] = `${had as string}, ${value}`;
  }
  return headers;
}

let net: Promise<typeof import('node:net')> | undefined;
let connect: typeof import('node:net').connect;

/**
 * node:http's `request(url, options, onAnswer)` for plain http (see the top of this file), once
 * node:net is loaded: it is imported on first use, as http.ts imports node:http (a `fetch
 * --offline` makes no request; the single-command bundles keep such an import lazy).
 */
export async function plainTransport(): Promise<(url: URL, options: PlainOptions, onAnswer: (answer: PlainAnswer) => void) => PlainRequest> {
  connect ??= (await (net ??= import('node:net'))).connect;
  return (url, options, onAnswer) => new PlainRequest(url, options, onAnswer);
}
