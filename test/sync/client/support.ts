/**
 * Test support for the fetch client: the real CLI as a child process, an HTTP proxy that can
 * replay and tamper with the repository, and a snapshot of a directory tree.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { lstatSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { tempDir } from '../../support/service.js';
import { isKeyshareError } from '../../../shared/errors.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const BIN = join(REPO_ROOT, 'bin', 'keyshare.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node bin/keyshare.js ...args` (the built CLI), with a bounded run time. */
export function runCli(args: string[], options: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<CliResult> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('KEYSHARE_')) env[k] = v;
  // Never touch the real ~/.cache, even when a test forgets --cache.
  env.XDG_CACHE_HOME = tempDir('keyshare-xdg-');
  Object.assign(env, options.env);
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

/** The `CODE` of a `keyshare: CODE: message` line. */
export function errorCode(r: CliResult): string | null {
  return /^keyshare: ([A-Z_]+): /m.exec(r.stderr)?.[1] ?? null;
}

export interface ProxyReply {
  status?: number;
  body: Buffer;
}

/**
 * A small HTTP proxy in front of a keyshare service: an attacker on the path. `respond` answers
 * a path itself (replays), `transform` rewrites what the upstream sent (tampering), and
 * `upstream` can be switched to another repository.
 */
export class TestProxy {
  /** Every request, in order, with the status it got. */
  readonly log: { path: string; status: number }[] = [];
  /** The last body the upstream sent per path. */
  readonly seen = new Map<string, Buffer>();
  /** TCP connections accepted so far (kept-alive requests share one). */
  connections = 0;
  respond: ((path: string) => ProxyReply | undefined) | undefined;
  transform: ((path: string, body: Buffer) => Buffer) | undefined;

  private constructor(
    public upstream: string,
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(upstream: string): Promise<TestProxy> {
    let proxy: TestProxy | undefined;
    const server = createServer((req, res) => {
      void proxy!.handle(req.url ?? '/').then(
        ({ status, body }) => {
          res.writeHead(status, { 'content-type': 'application/json', 'content-length': body.length });
          res.end(body);
        },
        (e) => {
          res.writeHead(502);
          res.end(String(e));
        },
      );
    });
    server.on('connection', () => proxy && proxy.connections++);
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    proxy = new TestProxy(upstream, server, `http://127.0.0.1:${port}`);
    return proxy;
  }

  private async handle(path: string): Promise<{ status: number; body: Buffer }> {
    const own = this.respond?.(path);
    if (own) {
      this.log.push({ path, status: own.status ?? 200 });
      return { status: own.status ?? 200, body: own.body };
    }
    const res = await fetch(this.upstream + path, { signal: AbortSignal.timeout(10_000) });
    let body: Buffer = Buffer.from(await res.arrayBuffer());
    if (res.ok) this.seen.set(path, body);
    if (res.ok && this.transform) body = this.transform(path, body);
    this.log.push({ path, status: res.status });
    return { status: res.status, body };
  }

  /** Requests logged from position `from` on. */
  since(from: number): { path: string; status: number }[] {
    return this.log.slice(from);
  }

  reset(): void {
    this.respond = undefined;
    this.transform = undefined;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((ok) => this.server.close(() => ok()));
  }
}

/** Every entry under `dir` (recursive): files with their sha256, directories marked. */
export function treeSnapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort()) {
    const path = join(dir, entry);
    const st = lstatSync(path);
    out[entry] = st.isDirectory() ? 'dir' : st.isFile() ? createHash('sha256').update(readFileSync(path)).digest('hex') : 'other';
  }
  return out;
}

/** The `from` of a `/log/proof?from=M` path as a fake log server sees it (issue 23), or undefined. */
export function proofFrom(path: string): number | undefined {
  const from = new URLSearchParams(path.split('?')[1] ?? '').get('from');
  return from === null ? undefined : Number(from);
}

/** The body of an admin API answer that must be a success (its body in the failure message otherwise). */
export async function ok(res: Promise<{ status: number; body: any }>): Promise<any> {
  const r = await res;
  expect(r.status, JSON.stringify(r.body)).toBeLessThan(300);
  return r.body;
}

/** The code of the KeyshareError a promise is refused with (fails when it is not refused). */
export async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (isKeyshareError(e)) return e.code;
    throw e;
  }
  throw new Error('expected a refusal');
}
