/**
 * SHA-256: the one digest module of the service and the client (issue 22). Nothing else calls
 * `createHash('sha256')` (test/architecture/hashes.test.ts).
 */
import { createHash, hash, type Hash } from 'node:crypto';

/** What is hashed: bytes, or a string as its UTF-8 bytes. */
export type Hashable = string | Uint8Array;

/** SHA-256 as lowercase hex. */
export function sha256Hex(data: Hashable): string {
  // crypto.hash: one call, no Hash object (a parent change hashes every document under it, bench B9).
  return hash('sha256', data, 'hex');
}

/** SHA-256 as raw bytes, of `parts` one after another (RFC 6962 prefixes a byte; signed notes hash a name, a type and a key). */
export function sha256Bytes(...parts: Hashable[]): Buffer {
  if (parts.length === 1) return hash('sha256', parts[0]!, 'buffer');
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

/** `sha256:<hex>`: the digest form of OCI descriptors and of the audit log's states. */
export const sha256Digest = (data: Hashable): string => `sha256:${sha256Hex(data)}`;

/** A SHA-256 fed chunk by chunk, for data that arrives in pieces (a file read, a download). */
export const sha256Stream = (): Hash => createHash('sha256');
