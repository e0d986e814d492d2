/**
 * The Fetcher ports handed to tuf-js's Updater: HTTP for online fetches, the cache for
 * --offline. tuf-js caps every download at the length the metadata (or its config) allows,
 * and verifies every byte; these only move bytes.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BaseFetcher } from 'tuf-js';
import { DownloadError, DownloadHTTPError, DownloadLengthMismatchError } from 'tuf-js/dist/error.js';
import { NotCachedError } from './errors.js';

type Body = ReadableStream<Uint8Array<ArrayBuffer>>;

export interface HttpFetcherOptions {
  /** Per request, including the body (default 30 s). */
  timeoutMs?: number;
  userAgent?: string;
  /** Aborts every request, e.g. at the deadline of a whole sync. */
  signal?: AbortSignal;
  /**
   * Refuses a response body over this many bytes, whatever the caller's own cap (tuf-js caps
   * each file at its signed length or its configured maximum; this bounds them all).
   */
  maxBytes?: number;
}

/** Plain HTTP(S) GETs, no retries (a refused fetch is reported, not hidden), each one recorded. */
export class HttpFetcher extends BaseFetcher {
  /** Every URL requested, in order. */
  readonly requests: string[] = [];

  constructor(private readonly options: HttpFetcherOptions = {}) {
    super();
  }

  async fetch(url: string): Promise<Body> {
    this.requests.push(url);
    let res: Response;
    try {
      const timeout = AbortSignal.timeout(this.options.timeoutMs ?? 30_000);
      res = await fetch(url, {
        headers: { 'user-agent': this.options.userAgent ?? 'keyshare-fetch' },
        signal: this.options.signal ? AbortSignal.any([timeout, this.options.signal]) : timeout,
      });
    } catch (e) {
      const cause = (e as Error).cause as Error | undefined;
      throw new DownloadError(`cannot reach ${url}: ${cause?.message ?? (e as Error).message}`);
    }
    if (!res.ok || !res.body) {
      await res.body?.cancel();
      // tuf-js reads a 403/404 on {N}.root.json as "no newer root" (TUF 5.3.3).
      throw new DownloadHTTPError(`download failed: HTTP ${res.status} for ${url}`, res.status);
    }
    const max = this.options.maxBytes;
    if (max === undefined) return res.body as Body;
    if (Number(res.headers.get('content-length') ?? '0') > max) {
      await res.body.cancel().catch(() => {});
      throw new DownloadLengthMismatchError(`Max length reached: ${url} announces more than ${max} bytes`);
    }
    let seen = 0;
    return res.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          seen += chunk.length;
          if (seen > max) controller.error(new DownloadLengthMismatchError(`Max length reached: ${url} sent more than ${max} bytes`));
          else controller.enqueue(chunk);
        },
      }),
    ) as Body;
  }
}

export interface CacheFiles {
  metadataDir: string;
  targetsDir: string;
}

/** Refuses to read cache files larger than this (tuf-js's largest default cap). */
const MAX_CACHED_FILE = 5_000_000;

/**
 * --offline: answers the Updater's requests from the files an earlier online fetch verified
 * and stored, so that tuf-js verifies the whole chain again against the trusted root (TUF
 * 5.3-5.7), expiry included. No network is ever used.
 */
export class CacheFetcher extends BaseFetcher {
  readonly requests: string[] = [];
  private readonly metadataPath: string;
  private readonly targetsPath: string;

  constructor(
    private readonly files: CacheFiles,
    metadataBaseUrl: string,
    targetBaseUrl: string,
  ) {
    super();
    this.metadataPath = new URL(metadataBaseUrl).pathname.replace(/\/*$/, '/');
    this.targetsPath = new URL(targetBaseUrl).pathname.replace(/\/*$/, '/');
  }

  async fetch(url: string): Promise<Body> {
    this.requests.push(url);
    const bytes = this.lookup(new URL(url).pathname);
    return new ReadableStream({
      start(controller) {
        controller.enqueue(new Uint8Array(bytes));
        controller.close();
      },
    });
  }

  private lookup(pathname: string): Buffer {
    if (pathname.startsWith(this.targetsPath)) {
      // TUF 5.7.3, consistent snapshots: targets are fetched as {dir}/{hash}.{name}.
      const rel = pathname.slice(this.targetsPath.length).split('/').map(decodeURIComponent);
      const m = /^[0-9a-f]{64}\.(.+)$/.exec(rel.pop() ?? '');
      if (!m) throw new NotCachedError(`${pathname} is not in the offline cache`);
      const targetPath = [...rel, m[1]].join('/');
      // tuf-js stores a target under the URI-encoded target path.
      return this.read(join(this.files.targetsDir, encodeURIComponent(targetPath)), pathname);
    }
    if (!pathname.startsWith(this.metadataPath)) throw new NotCachedError(`${pathname} is not in the offline cache`);
    const name = decodeURIComponent(pathname.slice(this.metadataPath.length));
    if (name === 'timestamp.json') return this.read(join(this.files.metadataDir, 'timestamp.json'), pathname);
    const m = /^(\d+)\.(.+)\.json$/.exec(name);
    if (!m) throw new NotCachedError(`${pathname} is not in the offline cache`);
    const [, version, role] = m;
    // TUF 5.3.3: offline, the cached root is the newest one known.
    if (role === 'root') throw new DownloadHTTPError(`no newer root offline`, 404);
    const bytes = this.read(join(this.files.metadataDir, `${encodeURIComponent(role!)}.json`), pathname);
    // Only the version the snapshot names will do; an older cached copy was never needed online.
    if (cachedVersion(bytes) !== Number(version)) throw new NotCachedError(`${role} version ${version} is not in the offline cache`);
    return bytes;
  }

  /** The cached file served last: the one tuf-js was verifying when a verification fails. */
  lastFile: string | null = null;

  private read(file: string, what: string): Buffer {
    if (!existsSync(file)) throw new NotCachedError(`${what} is not in the offline cache`);
    if (statSync(file).size > MAX_CACHED_FILE) throw new NotCachedError(`${what}: the cached copy is too large`);
    this.lastFile = file;
    return readFileSync(file);
  }
}

function cachedVersion(bytes: Buffer): number | null {
  try {
    const v = (JSON.parse(bytes.toString('utf8')) as { signed?: { version?: unknown } }).signed?.version;
    return typeof v === 'number' ? v : null;
  } catch {
    return null;
  }
}
