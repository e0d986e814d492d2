/** SHA-256 as lowercase hex: the one digest function of the service and the client (issue 22). */
import { hash } from 'node:crypto';

export function sha256Hex(bytes: Uint8Array): string {
  // crypto.hash: one call, no Hash object (a parent change hashes every document under it, bench B9).
  return hash('sha256', bytes, 'hex');
}
