/**
 * TUF signing keys behind the Signer port. File keys are Ed25519 PKCS#8 PEM; an HSM signer
 * implements the same interface.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { sha256Hex } from '../../shared/hash.js';
import { canonicalize } from '@tufjs/canonical-json';
import { KeyshareError, Codes } from '../errors.js';

/** A TUF key as it appears in root.json and delegations (TUF spec 4.2, "KEY"). */
export interface TufPublicKey {
  keytype: string;
  scheme: string;
  keyval: { public: string };
}

/** The port every signer implements. */
export interface Signer {
  readonly keyid: string;
  readonly publicKey: TufPublicKey;
  sign(data: Uint8Array): Promise<Uint8Array>;
}

/** TUF spec 4.2: KEYID is the hex SHA-256 of the canonical JSON of the public key. */
export function tufKeyId(key: TufPublicKey): string {
  return sha256Hex(canonicalize(key as never));
}

function tufKeyFromPublic(pub: KeyObject): TufPublicKey {
  if (pub.asymmetricKeyType === 'ed25519') {
    // keyval.public is the 32-byte raw key in hex: the last 32 bytes of the SPKI DER.
    const spki = pub.export({ type: 'spki', format: 'der' });
    return { keytype: 'ed25519', scheme: 'ed25519', keyval: { public: spki.subarray(spki.length - 32).toString('hex') } };
  }
  if (pub.asymmetricKeyType === 'ec' && pub.asymmetricKeyDetails?.namedCurve === 'prime256v1') {
    return { keytype: 'ecdsa', scheme: 'ecdsa-sha2-nistp256', keyval: { public: pub.export({ type: 'spki', format: 'pem' }).toString() } };
  }
  throw new KeyshareError(Codes.UNSUPPORTED_KEY, `TUF signing keys must be Ed25519 or ECDSA P-256, not ${pub.asymmetricKeyType}`);
}

export function tufPublicKeyFromPem(pem: string): TufPublicKey {
  try {
    return tufKeyFromPublic(createPublicKey(pem));
  } catch (e) {
    if (e instanceof KeyshareError) throw e;
    throw new KeyshareError(Codes.BAD_PUBLIC_KEY, 'not a PEM public or private key', { cause: e });
  }
}

/** The SPKI DER prefix of an Ed25519 public key (RFC 8410): the raw 32 bytes follow it. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/**
 * Whether `sigHex` is a signature by `key` over `data` (TUF spec 4.2: over the canonical JSON of
 * `signed`; ed25519, or ecdsa-sha2-nistp256 with a DER signature). False for anything malformed.
 */
export function verifyTufSignature(key: TufPublicKey, data: Uint8Array, sigHex: string): boolean {
  if (!/^(?:[0-9a-f]{2})+$/.test(sigHex)) return false;
  try {
    if (key.keytype === 'ed25519' && key.scheme === 'ed25519' && /^[0-9a-f]{64}$/.test(key.keyval.public)) {
      const pub = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, Buffer.from(key.keyval.public, 'hex')]), format: 'der', type: 'spki' });
      return nodeVerify(null, data, pub, Buffer.from(sigHex, 'hex'));
    }
    if (key.keytype === 'ecdsa' && key.scheme === 'ecdsa-sha2-nistp256') {
      const pub = createPublicKey(key.keyval.public);
      if (pub.asymmetricKeyDetails?.namedCurve !== 'prime256v1') return false;
      return nodeVerify('sha256', data, pub, Buffer.from(sigHex, 'hex'));
    }
  } catch {
    return false;
  }
  return false;
}

export class FileSigner implements Signer {
  readonly keyid: string;
  readonly publicKey: TufPublicKey;
  private readonly key: KeyObject;

  constructor(privatePem: string) {
    try {
      this.key = createPrivateKey(privatePem);
    } catch (e) {
      throw new KeyshareError(Codes.BAD_PRIVATE_KEY, 'not a PKCS#8 PEM private key', { cause: e });
    }
    this.publicKey = tufKeyFromPublic(createPublicKey(this.key));
    this.keyid = tufKeyId(this.publicKey);
  }

  async sign(data: Uint8Array): Promise<Uint8Array> {
    const algorithm = this.publicKey.keytype === 'ed25519' ? null : 'sha256';
    return nodeSign(algorithm, data, this.key);
  }
}

/** A fresh Ed25519 private key as PKCS#8 PEM. */
export function generateSigningKeyPem(): string {
  const { privateKey } = generateKeyPairSync('ed25519');
  return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** The SPKI PEM public key of a PEM public or private key (e.g. to propose a root key without sending its private half). */
export function publicKeyPem(pem: string): string {
  try {
    return createPublicKey(pem).export({ type: 'spki', format: 'pem' }).toString();
  } catch (e) {
    throw new KeyshareError(Codes.BAD_PUBLIC_KEY, 'not a PEM public or private key', { cause: e });
  }
}
