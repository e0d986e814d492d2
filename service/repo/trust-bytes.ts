/**
 * The bytes of many trust documents, written with few allocations (bench B9: a parent change
 * writes every document under it, and allocating, copying and stamping each one separately cost
 * about a fifth of the recompute). A document's text comes in two parts, its head (up to and
 * with the scope line) and the rest; the digest is of head + rest (the unstamped content, as
 * stored), the published bytes are head + trustStamp + rest: serializeJson(stampTrust(...))
 * (test/service/repo/trust-bytes.test.ts).
 */
import { sha256Hex } from '../crypto/encoding.js';
import { trustStamp } from '../domain/trust.js';

/** Chunk size of the arena the stamped documents are cut from: bounded, so that one kept document pins little. */
const CHUNK = 64 * 1024;

export class TrustBytesWriter {
  /** The unstamped content of the current document, reused from one document to the next. */
  private scratch = Buffer.allocUnsafe(16 * 1024);
  private arena = Buffer.allocUnsafe(0);
  private used = 0;
  private headLength = 0;
  private contentLength = 0;

  /** Encodes head + rest; returns the SHA-256 (hex) of those bytes. */
  digest(head: string, rest: string): string {
    // UTF-8 needs at most 3 bytes per UTF-16 code unit.
    const most = 3 * (head.length + rest.length);
    if (this.scratch.length < most) this.scratch = Buffer.allocUnsafe(Math.max(most, 2 * this.scratch.length));
    this.headLength = this.scratch.write(head, 0);
    this.contentLength = this.headLength + this.scratch.write(rest, this.headLength);
    return sha256Hex(this.scratch.subarray(0, this.contentLength));
  }

  /** The last digested document stamped with its version and time, in its own slice of the arena. */
  stamped(version: number, issuedAt: string): Buffer {
    const stamp = trustStamp(version, issuedAt);
    const size = this.contentLength + stamp.length; // the stamp is ASCII: one byte a character
    if (this.arena.length - this.used < size) {
      this.arena = Buffer.allocUnsafe(Math.max(CHUNK, size));
      this.used = 0;
    }
    const out = this.arena.subarray(this.used, this.used + size);
    this.used += size;
    this.scratch.copy(out, 0, 0, this.headLength);
    out.write(stamp, this.headLength, 'latin1');
    this.scratch.copy(out, this.headLength + stamp.length, this.headLength, this.contentLength);
    return out;
  }
}
