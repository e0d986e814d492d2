/**
 * The private keys of keyshare's signing authorities (issue 18): a PKCS#8 PEM file, or a key in
 * a PKCS#11 token. Both are handed to @peculiar/x509 as a WebCrypto key plus the Crypto that
 * signs with it (STYLE.md: "keep the provider swappable: a PKCS#11 provider with the same
 * WebCrypto API ... signs with HSM keys through the same code paths").
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, webcrypto, type KeyObject } from 'node:crypto';
import { KeyshareError } from '../errors.js';
import { Pkcs11Signer, isPkcs11Uri } from './pkcs11.js';
import { decodePem } from './encoding.js';
import { MIN_RSA_BITS } from './public-key.js';

export const CaKeyCodes = {
  PKCS11_ERROR: 'PKCS11_ERROR',
  CA_KEY_INVALID: 'CA_KEY_INVALID',
} as const;

/** A CA signing key as @peculiar/x509 takes it. */
export interface CaKey {
  /** SubjectPublicKeyInfo DER. */
  spki: Uint8Array;
  /** The WebCrypto signing parameters (RFC 5758 / RFC 4055 with SHA-256 or SHA-384). */
  algorithm: EcdsaParams | RsaHashedImportParams;
  privateKey: CryptoKey;
  /** The Crypto whose subtle.sign() signs with `privateKey` (the HSM's, for a PKCS#11 key). */
  crypto: Crypto;
  /** Releases an HSM session; nothing for a file key. */
  close(): void;
}

const CURVES: Record<string, { namedCurve: string; hash: string }> = {
  prime256v1: { namedCurve: 'P-256', hash: 'SHA-256' },
  secp384r1: { namedCurve: 'P-384', hash: 'SHA-384' },
  secp521r1: { namedCurve: 'P-521', hash: 'SHA-512' },
};

const bad = (message: string, cause?: unknown) => new KeyshareError(CaKeyCodes.CA_KEY_INVALID, message, { cause });

/** A fresh ECDSA P-256 key (notation: ECDSA P-256/384/521 or RSA >= 2048) as PKCS#8 PEM. */
export function generateCaKeyPem(): string {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** Checks a PEM private key (PKCS#8, SEC1 or PKCS#1) and returns it as PKCS#8 PEM, the form keyshare stores. */
export function normalizeCaKeyPem(pem: string): string {
  if (pem.length > 64 * 1024) throw bad('a CA key file is at most 64 KiB');
  let key: KeyObject;
  try {
    if (decodePem(pem).length !== 1) throw new Error('expected one PEM block');
    key = createPrivateKey(pem);
  } catch (e) {
    throw bad('not a PEM private key (PKCS#8, SEC1 or PKCS#1)', e);
  }
  keyParams(key);
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}

function keyParams(key: KeyObject): EcdsaParams | RsaHashedImportParams {
  if (key.asymmetricKeyType === 'ec') {
    const curve = CURVES[key.asymmetricKeyDetails?.namedCurve ?? ''];
    if (!curve) throw bad(`a CA key is ECDSA P-256, P-384 or P-521, not ${key.asymmetricKeyDetails?.namedCurve}`);
    return { name: 'ECDSA', namedCurve: curve.namedCurve, hash: curve.hash } as EcdsaParams;
  }
  if (key.asymmetricKeyType === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < MIN_RSA_BITS || bits > 8192) throw bad(`an RSA CA key has ${MIN_RSA_BITS} to 8192 bits, not ${bits}`);
    return { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  }
  throw bad(`a CA key is ECDSA or RSA, not ${key.asymmetricKeyType}`);
}

async function fileKey(pem: string): Promise<CaKey> {
  const key = createPrivateKey(normalizeCaKeyPem(pem));
  const algorithm = keyParams(key);
  const der = key.export({ type: 'pkcs8', format: 'der' });
  const subtle = webcrypto.subtle as unknown as SubtleCrypto;
  const privateKey = await subtle.importKey('pkcs8', der, algorithm, false, ['sign']);
  const spki = new Uint8Array(createPublicKey(key).export({ type: 'spki', format: 'der' }));
  return { spki, algorithm, privateKey, crypto: webcrypto as unknown as Crypto, close() {} };
}

/** DER ECDSA-Sig-Value (what Pkcs11Signer gives) to WebCrypto's r||s of `size` octets each. */
function ecdsaDerToRaw(der: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(2 * size);
  let i = der[1]! & 0x80 ? 2 + (der[1]! & 0x7f) : 2;
  for (const at of [0, size]) {
    if (der[i] !== 0x02) throw new KeyshareError(CaKeyCodes.PKCS11_ERROR, 'the token returned a malformed ECDSA signature');
    const len = der[i + 1]!;
    let v = der.subarray(i + 2, i + 2 + len);
    while (v.length > size && v[0] === 0) v = v.subarray(1);
    out.set(v, at + size - v.length);
    i += 2 + len;
  }
  return out;
}

/**
 * A key in a PKCS#11 token (ECDSA P-256, as Pkcs11Signer opens them): a Crypto whose
 * subtle.sign() is the token's C_Sign, every other operation the built-in WebCrypto's.
 */
function tokenKey(uri: string): CaKey {
  const signer = Pkcs11Signer.open(uri);
  const spki = new Uint8Array(createPublicKey(signer.publicKeyPem).export({ type: 'spki', format: 'der' }));
  const base = webcrypto.subtle as unknown as SubtleCrypto;
  const subtle = new Proxy(base, {
    get(target, prop) {
      if (prop === 'sign') return async (_alg: unknown, _key: unknown, data: BufferSource) => ecdsaDerToRaw(await signer.sign(new Uint8Array(data as ArrayBuffer)), 32).buffer;
      const v = Reflect.get(target, prop) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  const crypto = { subtle, getRandomValues: <T extends ArrayBufferView | null>(a: T) => webcrypto.getRandomValues(a as never) as T, randomUUID: () => webcrypto.randomUUID() } as unknown as Crypto;
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as EcdsaParams;
  const privateKey = { algorithm, type: 'private', extractable: false, usages: ['sign'] } as unknown as CryptoKey;
  return { spki, algorithm, privateKey, crypto, close: () => signer.close() };
}

/** Opens a CA key: PKCS#8 PEM text, or a `pkcs11:` URI. */
export async function openCaKey(ref: { pem: string } | { uri: string }): Promise<CaKey> {
  if ('uri' in ref) {
    if (!isPkcs11Uri(ref.uri)) throw bad('a CA key reference is a pkcs11: URI');
    return tokenKey(ref.uri);
  }
  return fileKey(ref.pem);
}
