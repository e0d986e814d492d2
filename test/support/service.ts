/**
 * Test support: data dirs, instances, the admin API without a socket, a running service, and
 * tuf-js as an outside client pinned to the data dir's root.json.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Updater } from 'tuf-js';
import { INDEX_MEDIA_TYPE, INDEX_TARGET, parseIndexHeader, parseShard, shardOfScope, type IndexEntry } from '../../service/domain/trust-index.js';
import { composeServices } from '../../service/composition.js';
import { createApp } from '../../service/http/app.js';
import { initDataDir, openInstance, type InitOptions, type Instance, type OpenOptions } from '../../service/instance.js';
import { startServer, type RunningServer, type ServerOptions } from '../../service/server.js';
import { ANY_ADDRESS } from '../../service/net/outbound.js';
import { prepareDataDir } from './database.js';

const made: string[] = [];

/** A fresh temporary directory, removed by `cleanupTempDirs()`. */
export function tempDir(prefix = 'keyshare-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

export function cleanupTempDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** An initialised data dir (development keys inside) and its admin token. */
export async function newDataDir(options: Omit<InitOptions, 'dataDir'> = {}): Promise<{ dataDir: string; token: string }> {
  const dataDir = join(tempDir(), 'data');
  await prepareDataDir(dataDir);
  await initDataDir({ ...options, dataDir });
  return { dataDir, token: readFileSync(join(dataDir, 'admin.token'), 'utf8').trim() };
}

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/** Calls the admin API; JSON in, JSON out. */
export type Api = <T = any>(method: string, path: string, body?: unknown, headers?: Record<string, string>) => Promise<ApiResponse<T>>;

async function toApiResponse(res: Response): Promise<ApiResponse> {
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: keep the text, the test will say so
  }
  return { status: res.status, headers: res.headers, body };
}

function requestInit(method: string, token: string | null, body: unknown, headers: Record<string, string> = {}): RequestInit {
  return {
    method,
    headers: {
      ...(token !== null ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  };
}

/** hono's test style: `app.request()` with no socket; the upstreams composed as the server does (service/composition.ts). */
export function appApi(instance: Instance, token: string | null): { app: ReturnType<typeof createApp>; api: Api; logs: Record<string, unknown>[] } {
  const logs: Record<string, unknown>[] = [];
  const app = createApp({ instance, upstreams: composeServices(instance).upstreams, log: (e) => logs.push(e) });
  const api: Api = async (method, path, body, headers) =>
    toApiResponse(await app.request(`/api/v1${path}`, requestInit(method, token, body, headers)));
  return { app, api, logs };
}

/** The same calls over HTTP to a running service. */
export function httpApi(url: string, token: string | null): Api {
  return async (method, path, body, headers) => toApiResponse(await fetch(`${url}/api/v1${path}`, requestInit(method, token, body, headers)));
}

export const scopePath = (scope: string) => `/scopes/${encodeURIComponent(scope)}`;

export interface TestService {
  dataDir: string;
  token: string;
  instance: Instance;
  server: RunningServer;
  url: string;
  api: Api;
  close(): Promise<void>;
}

/** Starts a service on a fresh (or given) data dir, on a free port. */
export async function startTestService(
  options: { dataDir?: string; token?: string; init?: Omit<InitOptions, 'dataDir'>; open?: Omit<OpenOptions, 'dataDir'>; server?: ServerOptions } = {},
): Promise<TestService> {
  const { dataDir, token } = options.dataDir
    ? { dataDir: options.dataDir, token: options.token ?? readFileSync(join(options.dataDir, 'admin.token'), 'utf8').trim() }
    : await newDataDir(options.init);
  // Everything here runs on loopback: upstream and CRL URLs are 127.0.0.1 (issue 16, finding 9).
  const instance = await openInstance({ outbound: ANY_ADDRESS, ...options.open, dataDir });
  const server = await startServer(instance, '127.0.0.1:0', undefined, options.server);
  let closed = false;
  return {
    dataDir,
    token,
    instance,
    server,
    url: server.url,
    api: httpApi(server.url, token),
    async close() {
      if (closed) return;
      closed = true;
      await server.close();
    },
  };
}

/**
 * tuf-js as an outside client: its own metadata dir, seeded only with the root pinned out of
 * band (the data dir's root.json). Each read is a fresh Updater over the same metadata dir, as a
 * client that runs now and again would be (and so rollback protection carries over).
 */
export class TufClient {
  readonly metadataDir: string;
  private readonly targetDir: string;

  /** The service URL; a test may point the same client (and its trusted metadata) at a restarted service. */
  url: string;

  constructor(url: string, pinnedRoot: string) {
    this.url = url;
    const dir = tempDir('keyshare-tuf-client-');
    this.metadataDir = join(dir, 'metadata');
    this.targetDir = join(dir, 'targets');
    mkdirSync(this.metadataDir);
    mkdirSync(this.targetDir);
    copyFileSync(pinnedRoot, join(this.metadataDir, 'root.json'));
  }

  static pinnedTo(url: string, dataDir: string): TufClient {
    return new TufClient(url, join(dataDir, 'root.json'));
  }

  private updater(): Updater {
    return new Updater({
      metadataDir: this.metadataDir,
      metadataBaseUrl: `${this.url}/tuf`,
      targetBaseUrl: `${this.url}/tuf/targets`,
      targetDir: this.targetDir,
    });
  }

  /** The verified bytes of a target, or null when the repository has no such target. */
  async readTarget(path: string): Promise<Buffer | null> {
    const updater = this.updater();
    await updater.refresh();
    const info = await updater.getTargetInfo(path);
    if (!info) return null;
    const file = await updater.downloadTarget(info, join(this.targetDir, `t-${Math.random().toString(36).slice(2)}`));
    return readFileSync(file);
  }

  async readJson<T = any>(path: string): Promise<T | null> {
    const bytes = await this.readTarget(path);
    return bytes === null ? null : (JSON.parse(bytes.toString('utf8')) as T);
  }

  /**
   * The published index (CONTRACT.md: index.json v2 and its shards), read as an outside TUF
   * client reads it: every shard, or with `scope` only the shard that lists it.
   */
  async readIndex(scope?: string): Promise<{ mediaType: string; scopes: IndexEntry[] }> {
    const updater = this.updater();
    await updater.refresh();
    const read = async (path: string) => {
      const info = await updater.getTargetInfo(path);
      if (!info) throw new Error(`no target ${path}`);
      return readFileSync(await updater.downloadTarget(info, join(this.targetDir, `t-${Math.random().toString(36).slice(2)}`)));
    };
    const header = parseIndexHeader(await read(INDEX_TARGET));
    if (header.version !== 2) throw new Error('the repository serves index v1');
    const shards = scope === undefined ? header.shards : [shardOfScope(scope, header.bitLength)];
    const scopes: IndexEntry[] = [];
    for (const path of shards) scopes.push(...parseShard(await read(path), path, header.bitLength));
    return { mediaType: INDEX_MEDIA_TYPE, scopes };
  }

  /** The trusted metadata the client holds after its last refresh. */
  trusted(role: 'root' | 'timestamp' | 'snapshot' | 'targets'): any {
    return JSON.parse(readFileSync(join(this.metadataDir, `${role}.json`), 'utf8'));
  }
}

/** What a trust document's anchors look like, reduced to what most tests compare. */
export const anchorSummary = (doc: { anchors: { id: string; definedAt: string }[] }) =>
  doc.anchors.map((a) => ({ id: a.id, definedAt: a.definedAt }));

/** Polls `read` until `ok` holds (errors count as not yet), for at most `ms`; returns the last value read. */
export async function eventually<T>(read: () => Promise<T>, ok: (v: T) => boolean, ms = 20_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    let v: T | undefined;
    try {
      v = await read();
      if (ok(v)) return v;
    } catch {
      // not there yet (e.g. a document the service has not published yet)
    }
    if (Date.now() > until) return v as T;
    await new Promise((r) => setTimeout(r, 100));
  }
}
