/**
 * The one allow-list of public keys (issue 16, finding 1), for every kind of anchor: PEM public
 * keys, the keys of X.509 certificates (anchors, and every member of a chain or CA bundle, from
 * an upload, an upstream or a bundle) and OpenPGP keys and subkeys (pgp-packets.ts, which reads
 * the same bounds from here). A key outside it is refused with UNSUPPORTED_KEY before any
 * signature is checked with it: an RSA-16384 or a DSA key with huge parameters would make every
 * later verification (a CRL's, a chain's) expensive, and nothing here needs one.
 */
import type { KeyObject } from 'node:crypto';
import { KeyshareError, Codes } from '../errors.js';

export const RSA_BITS = { min: 2048, max: 8192 } as const;

/** NIST curves by OpenSSL name (what Node reports) → the name used here. */
const EC_CURVES: Record<string, 'P-256' | 'P-384' | 'P-521'> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };

/** What every UNSUPPORTED_KEY message ends with. */
export const KEY_ALLOW_LIST_TEXT = `allowed: RSA ${RSA_BITS.min}-${RSA_BITS.max} bits, Ed25519, ECDSA on P-256/384/521, and for OpenPGP also ECDH on those curves and Curve25519; DSA and ElGamal are refused`;

export function unsupportedKey(message: string): KeyshareError {
  return new KeyshareError(Codes.UNSUPPORTED_KEY, `${message} (${KEY_ALLOW_LIST_TEXT})`);
}

export function rsaBitsAllowed(bits: number): boolean {
  return bits >= RSA_BITS.min && bits <= RSA_BITS.max;
}

export type SpkiKeyAlgorithm = 'ecdsa-p256' | 'ecdsa-p384' | 'ecdsa-p521' | 'rsa' | 'ed25519';

/** A SubjectPublicKeyInfo key (a PEM public key, or a certificate's) against the allow-list. */
export function classifySpkiKey(key: KeyObject): { algorithm: SpkiKeyAlgorithm; bits?: number } {
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  switch (type) {
    case 'ec': {
      // RFC 5480 2.1.1.1 named curves (explicit parameters have no name: refused).
      const curve = EC_CURVES[details.namedCurve ?? ''];
      if (!curve) throw unsupportedKey(`EC curve ${details.namedCurve ?? '(explicit parameters)'} is not supported`);
      const bits = Number(curve.slice(2));
      return { algorithm: `ecdsa-p${bits}` as SpkiKeyAlgorithm, bits };
    }
    case 'rsa': {
      const bits = details.modulusLength ?? 0;
      if (!rsaBitsAllowed(bits)) throw unsupportedKey(`an RSA key of ${bits} bits is not supported`);
      return { algorithm: 'rsa', bits };
    }
    case 'ed25519':
      return { algorithm: 'ed25519' };
    default:
      throw unsupportedKey(`${type ?? 'unknown'} keys are not supported`);
  }
}
