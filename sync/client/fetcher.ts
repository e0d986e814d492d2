/**
 * The Fetcher ports handed to tuf-js's Updater: HTTP for online fetches, the cache for
 * --offline. tuf-js caps every download at the length the metadata (or its config) allows,
 * and verifies every byte; these only move bytes.
 */
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { removeTree } from '../../shared/fs.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BaseFetcher } from 'tuf-js/dist/fetcher.js';
import { DownloadError, DownloadHTTPError, DownloadLengthMismatchError } from 'tuf-js/dist/error.js';
import { NotCachedError } from './errors.js';
import { HttpRequestError, httpRequest } from './http.js';
import type { ConnectGuard } from '../../shared/http.js';

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
  /**
   * For one refresh only (a fresh fetcher per tuf-js refresh): when tuf-js first probes for the
   * next root (TUF 5.3.3), also ask for timestamp.json, which it asks for next (5.4) when the
   * probe finds none, so that the two requests overlap. One response, refused over `maxLength`
   * (tuf-js's own cap for timestamp.json). If the probe finds root N+1, that answer is dropped
   * unread: tuf-js asks for timestamp.json again once the new root is accepted. tuf-js verifies
   * whatever it is handed exactly as a download of its own.
   */
  prefetchTimestamp?: { maxLength: number };
  /** The service's own fetches: the address guard (service/net/outbound.ts; issue 16, finding 9). */
  guard?: ConnectGuard;
  /**
   * A bearer token sent as `Authorization` to `origin` only (an upstream's token, issue 16): never
   * to another origin, whether asked for directly or reached by a redirect (shared/http.ts).
   */
  bearer?: { origin: string; token: string };
}

/**
 * tuf-js's BaseFetcher spools every download to a temporary file (a temp dir made, written,
 * read back and removed per file) from a web stream. These fetchers read each file into memory
 * under the same cap and hand tuf-js the bytes: a fetch's metadata are kilobytes, and the
 * largest target is capped (fetch-trust.ts MAX_TARGET_BYTES).
 */
abstract class MemoryFetcher extends BaseFetcher {
  /** The file at `url`, refused with DownloadLengthMismatchError over `maxLength` bytes. */
  protected abstract bytes(url: string, maxLength: number): Promise<Buffer>;

  override async downloadBytes(url: string, maxLength: number): Promise<Buffer> {
    const bytes = await this.bytes(url, maxLength);
    // tuf-js's own check and message (BaseFetcher.downloadFile).
    if (bytes.length > maxLength) throw new DownloadLengthMismatchError('Max length reached');
    return bytes;
  }

  /** Targets: tuf-js verifies and copies a file, so the bytes go to one for the handler. */
  override async downloadFile<T>(url: string, maxLength: number, handler: (file: string) => Promise<T>): Promise<T> {
    const bytes = await this.downloadBytes(url, maxLength);
    const dir = mkdtempSync(join(tmpdir(), 'keyshare-download-'));
    try {
      const file = join(dir, 'file');
      writeFileSync(file, bytes, { mode: 0o600 });
      return await handler(file);
    } finally {
      removeTree(dir);
    }
  }

  async fetch(url: string): Promise<Body> {
    const bytes = await this.bytes(url, Infinity);
    return new ReadableStream({
      start(controller) {
        controller.enqueue(new Uint8Array(bytes));
        controller.close();
      },
    });
  }
}

/** tuf-js's request for root N+1 (TUF 5.3.3): the metadata base URL and the version. */
const ROOT_PROBE = /^(.*\/)\d+\.root\.json$/;

/**
 * Plain HTTP(S) GETs, no retries (a refused fetch is reported, not hidden), each one recorded,
 * on kept-alive connections (sync/client/http.ts).
 */
export class HttpFetcher extends MemoryFetcher {
  /** Every URL requested, in order. */
  readonly requests: string[] = [];

  constructor(private readonly options: HttpFetcherOptions = {}) {
    super();
  }

  /** timestamp.json, asked for beside the first root probe (prefetchTimestamp); only the next request can take it. */
  private timestamp: { url: string; answer: Promise<Buffer> } | null = null;
  private prefetched = false;

  protected async bytes(url: string, maxLength: number): Promise<Buffer> {
    const early = this.timestamp;
    this.timestamp = null;
    // A prefetch that failed is asked again, so that the error tuf-js sees is its own request's.
    if (early?.url === url) return early.answer.catch(() => this.get(url, maxLength));
    const probe = this.options.prefetchTimestamp && !this.prefetched ? ROOT_PROBE.exec(url) : null;
    if (!probe) return this.get(url, maxLength);
    this.prefetched = true;
    const ts = `${probe[1]}timestamp.json`;
    const answer = this.get(ts, this.options.prefetchTimestamp!.maxLength);
    // Not awaited unless tuf-js asks for it: never an unhandled rejection.
    answer.catch(() => {});
    this.timestamp = { url: ts, answer };
    const root = await this.get(url, maxLength);
    // Root N+1 exists: the timestamp asked for beside the probe predates it, and is dropped; tuf-js
    // asks for it again once its root update is done (TUF 5.3 before 5.4).
    this.timestamp = null;
    return root;
  }

  private async get(url: string, maxLength: number): Promise<Buffer> {
    this.requests.push(url);
    const max = Math.min(maxLength, this.options.maxBytes ?? Infinity);
    let answer;
    try {
      answer = await httpRequest(url, {
        headers: { 'user-agent': this.options.userAgent ?? 'keyshare-fetch', ...bearerHeader(this.options.bearer, url) },
        timeoutMs: this.options.timeoutMs ?? 30_000,
        signal: this.options.signal,
        maxBytes: max,
        tooLarge: (_, announced) => new DownloadLengthMismatchError(`Max length reached: ${url} ${announced ? 'announces' : 'sent'} more than ${max} bytes`),
        guard: this.options.guard,
      });
    } catch (e) {
      if (!(e instanceof HttpRequestError)) throw e;
      throw new DownloadError(`${e.unreachable ? 'cannot reach' : 'cannot download'} ${url}: ${e.message}`);
    }
    // tuf-js reads a 403/404 on {N}.root.json as "no newer root" (TUF 5.3.3).
    if (answer.status < 200 || answer.status >= 300) throw new DownloadHTTPError(`download failed: HTTP ${answer.status} for ${url}`, answer.status);
    return answer.body;
  }
}

/** `Authorization: Bearer` for a request to the bearer's own origin; nothing for any other. */
export function bearerHeader(bearer: { origin: string; token: string } | undefined, url: string): Record<string, string> {
  return bearer && new URL(url).origin === bearer.origin ? { authorization: `Bearer ${bearer.token}` } : {};
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
export class CacheFetcher extends MemoryFetcher {
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

  protected async bytes(url: string): Promise<Buffer> {
    this.requests.push(url);
    return this.lookup(new URL(url).pathname);
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
