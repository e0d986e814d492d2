/** PEM / DER SubjectPublicKeyInfo (RFC 5280 4.1.2.7) public keys, e.g. cosign.pub. */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { KeyshareError, Codes } from '../errors.js';
import { x509 } from './provider.js';
import { RSA_BITS, classifySpkiKey as classify, unsupportedKey as unsupported, type SpkiKeyAlgorithm } from './key-policy.js';
import {
  MAX_MATERIAL_BYTES,
  NEVER_UPLOAD_PRIVATE,
  asText,
  decodePem,
  encodePem,
  isDerSequence,
  isPrivateKeyDer,
  isPrivateKeyLabel,
  sha256Hex,
} from './encoding.js';

export type PublicKeyAlgorithm = SpkiKeyAlgorithm;

export interface ParsedPublicKey {
  /** `sha256:<hex of the SubjectPublicKeyInfo DER>` (CONTRACT "Anchor IDs"). */
  id: string;
  /** One "PUBLIC KEY" block, trailing newline. */
  pem: string;
  spkiDer: Uint8Array;
  algorithm: PublicKeyAlgorithm;
  /** Key size: the RSA modulus length, or the EC field size. */
  bits?: number;
}

/** Smallest RSA modulus accepted (NIST SP 800-131A: 2048 bits; key-policy.ts). */
export const MIN_RSA_BITS = RSA_BITS.min;

function bad(message: string, cause?: unknown): KeyshareError {
  return new KeyshareError(Codes.BAD_PUBLIC_KEY, message, { cause });
}

/** The SPKI DER from PEM text or DER bytes. A PKCS#1 "RSA PUBLIC KEY" is converted to SPKI. */
function spkiDerOf(input: string | Uint8Array): Uint8Array {
  const size = typeof input === 'string' ? Buffer.byteLength(input) : input.length;
  if (size > MAX_MATERIAL_BYTES) throw bad(`public key is larger than ${MAX_MATERIAL_BYTES} bytes`);
  const text = asText(input);
  if (text === null) {
    if (typeof input === 'string') throw bad('not a PEM public key');
    if (isDerSequence(input) && isPrivateKeyDer(input)) throw bad(NEVER_UPLOAD_PRIVATE);
    return new Uint8Array(input);
  }
  let blocks;
  try {
    blocks = decodePem(text);
  } catch (e) {
    throw bad(`malformed PEM: ${(e as Error).message}`, e);
  }
  if (blocks.some((b) => isPrivateKeyLabel(b.label))) throw bad(NEVER_UPLOAD_PRIVATE);
  if (blocks.length !== 1) {
    throw bad(blocks.length === 0 ? 'no "-----BEGIN PUBLIC KEY-----" block found' : 'expected exactly one PEM block');
  }
  const block = blocks[0]!;
  if (block.label === 'PUBLIC KEY') return block.der;
  if (block.label === 'RSA PUBLIC KEY') {
    // RFC 8017 A.1.1 RSAPublicKey: re-encode as SPKI so that the ID is the same either way.
    try {
      const key = createPublicKey({ key: Buffer.from(block.der), format: 'der', type: 'pkcs1' });
      return new Uint8Array(key.export({ format: 'der', type: 'spki' }));
    } catch (e) {
      throw bad('malformed RSA PUBLIC KEY', e);
    }
  }
  if (block.label === 'CERTIFICATE') throw bad('this is a certificate, not a public key');
  throw bad(`expected a "PUBLIC KEY" PEM block, found "${block.label}"`);
}

/** Parses a SubjectPublicKeyInfo public key (PEM or DER) and checks its algorithm. */
export function parsePublicKey(input: string | Uint8Array): ParsedPublicKey {
  if (typeof input !== 'string') return parseKey(input);
  let parsed = acceptedText.get(input);
  if (parsed === undefined) {
    parsed = parseKey(input);
    if (acceptedText.size >= ACCEPTED_MAX) acceptedText.clear();
    acceptedText.set(input, parsed);
  }
  return { ...parsed };
}

function parseKey(input: string | Uint8Array): ParsedPublicKey {
  const spkiDer = spkiDerOf(input);
  // The ID hashes the DER: refuse trailing bytes and non-minimal lengths.
  if (!isDerSequence(spkiDer)) throw bad('not a DER-encoded SubjectPublicKeyInfo');
  const id = `sha256:${sha256Hex(spkiDer)}`;
  const { algorithm, bits } = accepted.get(id) ?? remember(id, classify(openKey(spkiDer)));
  const parsed: ParsedPublicKey = {
    id,
    pem: encodePem('PUBLIC KEY', spkiDer),
    spkiDer,
    algorithm,
  };
  if (bits !== undefined) parsed.bits = bits;
  return parsed;
}

/**
 * The key of a certificate against the allow-list (key-policy.ts; issue 16): every certificate
 * anchor and chain member, before any signature is checked with it. UNSUPPORTED_KEY if outside.
 */
export function checkCertificateKey(spkiDer: Uint8Array): void {
  const id = `sha256:${sha256Hex(spkiDer)}`;
  if (accepted.has(id)) return;
  let key: KeyObject;
  try {
    key = openKey(spkiDer);
  } catch (e) {
    // A key that cannot be read makes the certificate bad (an unknown algorithm stays UNSUPPORTED_KEY).
    if ((e as KeyshareError).code === Codes.BAD_PUBLIC_KEY) throw new KeyshareError(Codes.BAD_CERTIFICATE, "the certificate's public key is not valid", { cause: e });
    throw e;
  }
  remember(id, classify(key));
}

function openKey(spkiDer: Uint8Array): KeyObject {
  try {
    return createPublicKey({ key: Buffer.from(spkiDer), format: 'der', type: 'spki' });
  } catch (e) {
    // Well-formed SPKI with an algorithm OpenSSL does not know is unsupported, not garbage.
    if (isWellFormedSpki(spkiDer)) throw unsupported('unknown public key algorithm');
    throw bad('not a valid public key', e);
  }
}

/**
 * Keys already accepted, by ID (the hash of the very DER bytes, so the same bytes give the same
 * answer). OpenSSL's key decoding is most of an apply's CPU when a file repeats keys across
 * scopes, as a team key or a CA over many repositories does (bench B4, issue 17). Bounded.
 */
const accepted = new Map<string, { algorithm: PublicKeyAlgorithm; bits?: number }>();
const ACCEPTED_MAX = 4096;
/** The same for PEM text, by the text: decoding, hashing and encoding it again cost more than the rest of an apply's anchor (bench B4). Bounded. */
const acceptedText = new Map<string, ParsedPublicKey>();

function remember(id: string, c: { algorithm: PublicKeyAlgorithm; bits?: number }): { algorithm: PublicKeyAlgorithm; bits?: number } {
  if (accepted.size >= ACCEPTED_MAX) accepted.clear();
  accepted.set(id, c);
  return c;
}

function isWellFormedSpki(der: Uint8Array): boolean {
  try {
    new x509.PublicKey(new Uint8Array(der)).algorithm;
    return true;
  } catch {
    return false;
  }
}
