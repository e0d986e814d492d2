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

/** Chunk size of the arena the documents are written in: bounded, so that one kept document pins little. */
const CHUNK = 64 * 1024;
/** Room for the stamp: its two lines with a safe-integer version and an ISO time. */
const STAMP_ROOM = 128;
/** Stamps kept at most (bench B9). */
const MAX_STAMPS = 64;

export class TrustBytesWriter {
  private arena = Buffer.allocUnsafe(0);
  private used = 0;
  private headLength = 0;
  private contentLength = 0;

  /**
   * Encodes head + rest where the next document goes in the arena (bench B9: written once, no
   * copy); returns the SHA-256 (hex) of those bytes.
   */
  digest(head: string, rest: string): string {
    // UTF-8 needs at most 3 bytes per UTF-16 code unit.
    const most = 3 * (head.length + rest.length) + STAMP_ROOM;
    if (this.arena.length - this.used < most) {
      this.arena = Buffer.allocUnsafe(Math.max(CHUNK, most));
      this.used = 0;
    }
    this.headLength = this.arena.write(head, this.used);
    this.contentLength = this.headLength + this.arena.write(rest, this.used + this.headLength);
    return sha256Hex(this.arena.subarray(this.used, this.used + this.contentLength));
  }

  /** Stamps by version, for one issuedAt: a recompute's documents share a time and few versions. */
  private stamps = new Map<number, Buffer>();
  private stampsAt = '';

  /** The last digested document stamped with its version and time, in place: its own slice of the arena. */
  stamped(version: number, issuedAt: string): Buffer {
    if (issuedAt !== this.stampsAt || this.stamps.size >= MAX_STAMPS) {
      this.stamps.clear();
      this.stampsAt = issuedAt;
    }
    let stamp = this.stamps.get(version);
    if (!stamp) this.stamps.set(version, (stamp = Buffer.from(trustStamp(version, issuedAt), 'latin1')));
    const at = this.used + this.headLength;
    // The rest moves up to make room for the stamp (ASCII: one byte a character).
    this.arena.copyWithin(at + stamp.length, at, this.used + this.contentLength);
    this.arena.set(stamp, at);
    const out = this.arena.subarray(this.used, this.used + this.contentLength + stamp.length);
    this.used += out.length;
    return out;
  }
}
