/** Independent expectations for the crypto tests: node:crypto only, no code under test. */
import { createHash, createPublicKey, X509Certificate } from 'node:crypto';
import { expect } from 'vitest';
import { KeyshareError } from '../../../service/errors.js';

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** `sha256:<hex of the certificate DER>` computed by Node's own X.509 parser. */
export function expectedCertId(pemOrDer: string | Buffer): string {
  return `sha256:${sha256(new X509Certificate(pemOrDer).raw)}`;
}

/** `sha256:<hex of the SPKI DER>` computed by Node's own key parser. */
export function expectedSpkiId(pem: string): string {
  return `sha256:${sha256(createPublicKey(pem).export({ type: 'spki', format: 'der' }))}`;
}

/** RFC 4880 12.2: v4 fingerprint = SHA-1(0x99, 2-octet length, public-key packet body). */
export function expectedPgpFingerprint(binaryKey: Uint8Array): string {
  const tag = binaryKey[0]!;
  let offset: number;
  let length: number;
  if (tag & 0x40) {
    // New-format header (RFC 4880 4.2.2): one- or two-octet lengths are enough for a key.
    const l = binaryKey[1]!;
    if (l < 192) [offset, length] = [2, l];
    else [offset, length] = [3, ((l - 192) << 8) + binaryKey[2]! + 192];
  } else {
    const lenType = tag & 0x03;
    if (lenType === 0) [offset, length] = [2, binaryKey[1]!];
    else [offset, length] = [3, (binaryKey[1]! << 8) | binaryKey[2]!];
  }
  const body = binaryKey.subarray(offset, offset + length);
  return createHash('sha1')
    .update(Uint8Array.from([0x99, length >> 8, length & 0xff]))
    .update(body)
    .digest('hex');
}

/** Runs `fn` and asserts it throws a KeyshareError with `code`. */
export async function expectCode(fn: () => unknown, code: string): Promise<KeyshareError> {
  let caught: unknown;
  try {
    await fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected a KeyshareError ${code}`).toBeInstanceOf(KeyshareError);
  expect((caught as KeyshareError).code).toBe(code);
  return caught as KeyshareError;
}
