/** What the transparency-log tests share: a fetcher that can answer /log/ otherwise, and refusal codes. */
import { DownloadHTTPError } from 'tuf-js/dist/error.js';
import { HttpFetcher } from '../../../sync/client/fetcher.js';

export { codeOf } from '../../sync/bundle/support.js';

/** A fetcher that answers /log/ from `serve` when set (a mirror's or an attacker's log), and records what it asked there. */
export class LogFetcher extends HttpFetcher {
  serve: ((path: string) => Promise<Uint8Array | null>) | null = null;
  /** The paths asked for under /log/. */
  readonly asked: string[] = [];
  protected override async bytes(url: string, maxLength: number): Promise<Buffer> {
    const at = url.indexOf('/log/');
    if (at >= 0) this.asked.push(url.slice(at + 5));
    if (!this.serve || at < 0) return super.bytes(url, maxLength);
    const b = await this.serve(url.slice(at + 5));
    if (!b) throw new DownloadHTTPError(`download failed: HTTP 404 for ${url}`, 404);
    return Buffer.from(b);
  }
}
