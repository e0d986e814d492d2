/**
 * The Fetcher port handed to tuf-js for a bundle: it answers the Updater's requests from the
 * extracted `tuf/` directory, so that tuf-js runs the whole client workflow (TUF spec 5.3-5.7)
 * over the bundle's files as it would over HTTP. It only moves bytes; tuf-js caps lengths
 * and verifies every byte.
 */
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import { join, resolve, sep } from 'node:path';
import { BaseFetcher } from 'tuf-js';
import { DownloadHTTPError, DownloadLengthMismatchError } from 'tuf-js/dist/error.js';

type Body = ReadableStream<Uint8Array<ArrayBuffer>>;

/** The URLs the Updater is given; only their paths matter. */
export const BUNDLE_METADATA_URL = 'bundle://local/tuf';
export const BUNDLE_TARGETS_URL = 'bundle://local/tuf/targets';

export class DirectoryFetcher extends BaseFetcher {
  /** Every file read, relative to the directory (what the verification covered). */
  readonly served = new Set<string>();
  private readonly root: string;

  constructor(tufDir: string) {
    super();
    this.root = resolve(tufDir);
  }

  /**
   * BaseFetcher copies every download to a fresh temporary directory first; the bundle's files
   * are already on a private disk, so the handler gets the file itself (after the same length cap).
   */
  override async downloadFile<T>(url: string, maxLength: number, handler: (file: string) => Promise<T>): Promise<T> {
    const file = this.locate(url);
    if (statSync(file).size > maxLength) throw new DownloadLengthMismatchError('Max length reached');
    return handler(file);
  }

  override async downloadBytes(url: string, maxLength: number): Promise<Buffer> {
    return this.downloadFile(url, maxLength, async (file) => readFileSync(file));
  }

  async fetch(url: string): Promise<Body> {
    return Readable.toWeb(createReadStream(this.locate(url))) as unknown as Body;
  }

  private locate(url: string): string {
    const u = new URL(url);
    const prefix = new URL(BUNDLE_METADATA_URL).pathname + '/';
    // tuf-js reads a 404 on {N}.root.json as "no newer root" (TUF spec 5.3.3).
    const notFound = () => new DownloadHTTPError(`${u.pathname} is not in the bundle`, 404);
    if (`${u.protocol}//${u.host}` !== 'bundle://local' || !u.pathname.startsWith(prefix)) throw notFound();
    const parts = u.pathname.slice(prefix.length).split('/').map(decodeURIComponent);
    if (parts.some((p) => p === '' || p === '.' || p === '..' || p.includes('/') || p.includes('\\'))) throw notFound();
    const rel = parts.join('/');
    const file = join(this.root, ...parts);
    if (!file.startsWith(this.root + sep) || !existsSync(file) || !statSync(file).isFile()) throw notFound();
    this.served.add(rel);
    return file;
  }
}
