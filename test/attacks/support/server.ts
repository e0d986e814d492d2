/**
 * A misbehaving HTTP server for attack tests: it serves a map of files under /tuf/ (a
 * TestRepository's, or any other), and a test can make any path answer otherwise: another
 * status, other bytes, an endless stream, a slow drip, or no answer at all.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export type Misbehaviour =
  | { status: number; body?: Buffer | string }
  | { body: Buffer | string }
  /** Sends bytes for ever, as fast as the client reads (endless data). */
  | { endless: true }
  /** Sends one byte every `intervalMs`, for ever (a slow client's mirror image: a slow server). */
  | { drip: number }
  /** Accepts the request and never answers. */
  | { hang: true };

export class EvilServer {
  /** Every path requested, in order. */
  readonly requests: string[] = [];
  /** The files served under /tuf/ (paths relative to it). */
  files: Map<string, Buffer> = new Map();
  /** Answers a path otherwise; undefined serves `files`. */
  misbehave: ((path: string) => Misbehaviour | undefined) | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<EvilServer> {
    let self: EvilServer | undefined;
    const server = createServer((req, res) => self!.handle(req, res));
    server.on('connection', (s) => {
      self?.sockets.add(s);
      s.on('close', () => self?.sockets.delete(s));
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    self = new EvilServer(server, `http://127.0.0.1:${port}`);
    return self;
  }

  /** Serves `files`, answering normally again. */
  serve(files: Map<string, Buffer>): void {
    this.files = files;
    this.misbehave = undefined;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    this.requests.push(path);
    const rel = path.startsWith('/tuf/') ? path.slice('/tuf/'.length) : null;
    const m = rel === null ? undefined : this.misbehave?.(rel);
    if (!m) {
      const body = rel === null ? undefined : this.files.get(rel);
      if (!body) {
        res.writeHead(404, { 'content-type': 'text/plain' });
        return void res.end('not found');
      }
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
      return void res.end(body);
    }
    if ('hang' in m) return;
    if ('endless' in m) {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const pump = () => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', pump);
      };
      res.on('error', () => {});
      return pump();
    }
    if ('drip' in m) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.on('error', () => {});
      const timer = setInterval(() => (res.destroyed ? clearInterval(timer) : res.write('{')), m.drip);
      this.timers.add(timer);
      return;
    }
    const status = 'status' in m ? m.status : 200;
    const body = typeof m.body === 'string' ? Buffer.from(m.body) : (m.body ?? Buffer.alloc(0));
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((ok) => this.server.close(() => ok()));
  }
}
