/**
 * API tokens: random, shown once, stored hashed (SHA-256), compared in constant time.
 * Format: `ks_<id>_<secret>`; the id finds the record, the secret proves possession.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { sha256Hex } from '../../shared/hash.js';

/** `client` (issue 21): reports what a `fetch --report` verified, and nothing else. */
export type TokenRole = 'admin' | 'editor' | 'reader' | 'signer' | 'client';

export interface IssuedToken {
  id: string;
  token: string;
  hash: string;
}

const hashSecret = (secret: string) => sha256Hex(secret);

export function issueToken(): IssuedToken {
  const id = randomBytes(6).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  return { id, token: `ks_${id}_${secret}`, hash: hashSecret(secret) };
}

export function parseToken(token: string): { id: string; secret: string } | null {
  const m = /^ks_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/.exec(token.trim());
  return m ? { id: m[1]!, secret: m[2]! } : null;
}

export function secretMatches(secret: string, storedHash: string): boolean {
  const a = Buffer.from(hashSecret(secret), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
