/**
 * Support for the key ceremony tests: a data dir, a running service, and tuf-js as an outside
 * client with its own metadata cache, pinned to a given root.json.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Updater } from 'tuf-js';
import { initDataDir, openInstance, type InitOptions, type Instance } from '../../service/instance.js';
import { startServer, type RunningServer } from '../../service/server.js';
import { prepareDataDir } from './database.js';

const dirs: string[] = [];

export function scratchDir(prefix = 'keyshare-keys-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

export function removeScratchDirs(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

export interface Running {
  dataDir: string;
  token: string;
  instance: Instance;
  server: RunningServer;
  url: string;
  api<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  close(): Promise<void>;
}

export async function initTestDataDir(options: Omit<InitOptions, 'dataDir'> = {}): Promise<string> {
  const dataDir = join(scratchDir(), 'data');
  await prepareDataDir(dataDir);
  await initDataDir({ binBits: 4, ...options, dataDir });
  return dataDir;
}

/** Opens the data dir and serves it on a free loopback port. */
export async function serve(dataDir: string): Promise<Running> {
  const instance = await openInstance({ dataDir });
  const server = await startServer(instance, '127.0.0.1:0');
  const token = readFileSync(join(dataDir, 'admin.token'), 'utf8').trim();
  let closed = false;
  return {
    dataDir,
    token,
    instance,
    server,
    url: server.url,
    async api(method, path, body) {
      const res = await fetch(`${server.url}/api/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    },
    async close() {
      if (closed) return;
      closed = true;
      await server.close();
    },
  };
}

/** tuf-js with a persistent metadata cache: each read is a fresh Updater over the same cache. */
export class CachingTufClient {
  readonly metadataDir: string;
  private readonly targetDir: string;

  constructor(
    private readonly url: string,
    pinnedRoot: string,
  ) {
    const dir = scratchDir('keyshare-tuf-');
    this.metadataDir = join(dir, 'metadata');
    this.targetDir = join(dir, 'targets');
    mkdirSync(this.metadataDir);
    mkdirSync(this.targetDir);
    copyFileSync(pinnedRoot, join(this.metadataDir, 'root.json'));
  }

  async read(path: string): Promise<Buffer | null> {
    const updater = new Updater({
      metadataDir: this.metadataDir,
      metadataBaseUrl: `${this.url}/tuf`,
      targetBaseUrl: `${this.url}/tuf/targets`,
      targetDir: this.targetDir,
    });
    await updater.refresh();
    const info = await updater.getTargetInfo(path);
    if (!info) return null;
    const file = await updater.downloadTarget(info, join(this.targetDir, `t-${Math.random().toString(36).slice(2)}`));
    return readFileSync(file);
  }

  async readJson<T = any>(path: string): Promise<T | null> {
    const b = await this.read(path);
    return b === null ? null : (JSON.parse(b.toString('utf8')) as T);
  }

  /** The metadata the client holds in its cache. */
  cached(role: string): any {
    return JSON.parse(readFileSync(join(this.metadataDir, `${role}.json`), 'utf8'));
  }

  /** The key IDs that signed a cached role. */
  signedBy(role: string): string[] {
    return this.cached(role).signatures.map((s: { keyid: string }) => s.keyid);
  }
}
