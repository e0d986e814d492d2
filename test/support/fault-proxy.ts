/**
 * A test proxy on loopback in front of a service, that can make it fail in the ways an
 * upstream fails: dead (connections cut), slow, garbage, oversized, or replaying a response
 * recorded earlier. It forwards everything else as it is.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type FaultMode =
  | { kind: 'pass' }
  | { kind: 'dead' }
  | { kind: 'slow'; ms: number }
  | { kind: 'garbage'; path: RegExp }
  | { kind: 'oversized'; path: RegExp; bytes: number }
  /** Serves `bytes` for requests whose path matches, everything else forwarded. */
  | { kind: 'replay'; path: RegExp; bytes: Buffer };

export class FaultProxy {
  mode: FaultMode = { kind: 'pass' };
  /** The last response body forwarded, per path. */
  readonly seen = new Map<string, Buffer>();
  private server: Server | null = null;
  private readonly sockets = new Set<import('node:net').Socket>();
  url = '';

  constructor(public target: string) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
    return this;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = req.url ?? '/';
    const mode = this.mode;
    if (mode.kind === 'dead') {
      req.socket.destroy();
      return;
    }
    if (mode.kind === 'slow') await new Promise((r) => setTimeout(r, mode.ms));
    if (mode.kind === 'garbage' && mode.path.test(path)) {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"signed": {"_type": "timestamp", "version": "lots"}, "signatures": [garbage');
      return;
    }
    if (mode.kind === 'oversized' && mode.path.test(path)) {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      let sent = 0;
      const push = () => {
        while (sent < mode.bytes) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', push);
        }
        res.end();
      };
      res.on('error', () => {});
      push();
      return;
    }
    if (mode.kind === 'replay' && mode.path.test(path)) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(mode.bytes);
      return;
    }
    try {
      const ac = new AbortController();
      res.on('close', () => ac.abort());
      const upstream = await fetch(`${this.target}${path}`, { method: req.method, signal: ac.signal, headers: { 'user-agent': String(req.headers['user-agent'] ?? '') } });
      const body = Buffer.from(await upstream.arrayBuffer());
      if (upstream.ok) this.seen.set(path.split('?')[0]!, body);
      const headers: Record<string, string> = {};
      upstream.headers.forEach((v, k) => {
        if (!['content-length', 'content-encoding', 'transfer-encoding', 'connection'].includes(k)) headers[k] = v;
      });
      res.writeHead(upstream.status, headers).end(body);
    } catch {
      if (!res.headersSent) res.writeHead(502).end('bad gateway');
      else res.destroy();
    }
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
