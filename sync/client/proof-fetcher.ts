/**
 * Issue 17 (bench B5): a fetch into an empty cache asks for /log/proof beside the root probe
 * (log-state.ts prefetchProof), and takes timestamp.json from it (shared/tlog/proof.ts), so that
 * checking the transparency log costs the fetch no request of its own. The bytes are untrusted
 * like any download: tuf-js verifies them as the timestamp (TUF 5.4), and the log check then
 * finds them in the signed tree. Without a usable proof, timestamp.json is asked for as usual.
 */
import type { Fetcher } from 'tuf-js';
import { parseLogProof } from '../../shared/tlog/proof.js';
import type { EarlyProof } from './log-state.js';

export class TimestampFromProof implements Fetcher {
  private used = false;

  constructor(
    private readonly inner: Fetcher,
    private readonly early: NonNullable<EarlyProof>,
  ) {}

  downloadFile<T>(url: string, maxLength: number, handler: (path: string) => Promise<T>): Promise<T> {
    return this.inner.downloadFile(url, maxLength, handler);
  }

  async downloadBytes(url: string, maxLength: number): Promise<Buffer> {
    if (!this.used && url.endsWith('/timestamp.json')) {
      // tuf-js asks for the timestamp once per refresh (TUF 5.4), after the root.
      this.used = true;
      const timestamp = timestampIn(await this.early);
      if (timestamp && timestamp.length <= maxLength) return Buffer.from(timestamp);
    }
    return this.inner.downloadBytes(url, maxLength);
  }
}

function timestampIn(got: Awaited<NonNullable<EarlyProof>>): Uint8Array | null {
  if (!('bytes' in got) || !got.bytes) return null;
  try {
    return parseLogProof(got.bytes).timestamp ?? null;
  } catch {
    // verifyLog refuses a malformed proof (NOT_LOGGED); the timestamp is asked for as usual
    return null;
  }
}
