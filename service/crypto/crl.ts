/**
 * CRLs (RFC 5280 section 5) and the signatures of signed X.509 structures.
 *
 * Parsing goes through @peculiar/x509. Signature checks walk the DER of the SIGNED{} wrapper
 * (tbs, signatureAlgorithm, signatureValue) themselves and verify with node:crypto, so that
 * they are synchronous: the check decision (sync/check) stays a plain function, like
 * sigstore-js `Verifier.verify()`.
 */
import { createPublicKey, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { KeyshareError } from '../errors.js';
import { x509 } from './provider.js';
import { asText, decodePem, derTotalLength, encodePem, isDerSequence, sha256Hex } from './encoding.js';
import type { ParsedCertificate } from './x509.js';

/**
 * Upper bound on a CRL. The admin API takes a CRL as base64 inside JSON under its 4 MiB body
 * limit, so 2 MiB of DER (2.7 MiB of base64) always fits and the CRL cap is what a client sees.
 */
export const MAX_CRL_BYTES = 2 * 1024 * 1024;

export const CrlCodes = {
  CRL_INVALID: 'CRL_INVALID',
  CRL_TOO_LARGE: 'CRL_TOO_LARGE',
  CRL_UNKNOWN_ISSUER: 'CRL_UNKNOWN_ISSUER',
  CRL_BAD_SIGNATURE: 'CRL_BAD_SIGNATURE',
  CRL_NOT_YET_VALID: 'CRL_NOT_YET_VALID',
  CRL_EXPIRED: 'CRL_EXPIRED',
  CRL_NO_NEXT_UPDATE: 'CRL_NO_NEXT_UPDATE',
} as const;

/** RFC 5280 5.3.1 reason codes, by value (7 is unused). */
const REASONS: Record<number, string> = {
  0: 'unspecified',
  1: 'keyCompromise',
  2: 'cACompromise',
  3: 'affiliationChanged',
  4: 'superseded',
  5: 'cessationOfOperation',
  6: 'certificateHold',
  8: 'removeFromCRL',
  9: 'privilegeWithdrawn',
  10: 'aACompromise',
};

const OID_CRL_NUMBER = '2.5.29.20';
const OID_DELTA_CRL_INDICATOR = '2.5.29.27';
const OID_ISSUING_DISTRIBUTION_POINT = '2.5.29.28';
const OID_AUTHORITY_KEY_IDENTIFIER = '2.5.29.35';
const OID_ISSUER_ALT_NAME = '2.5.29.18';
const OID_CERTIFICATE_ISSUER = '2.5.29.29';
/** CRL extensions we understand (RFC 5280 5.2: a CRL with an unknown critical one is unusable). */
const KNOWN_CRL_EXTENSIONS = new Set([OID_CRL_NUMBER, OID_ISSUING_DISTRIBUTION_POINT, OID_AUTHORITY_KEY_IDENTIFIER, OID_ISSUER_ALT_NAME]);
/** Entry extensions: reasonCode, invalidityDate, holdInstructionCode. */
const KNOWN_ENTRY_EXTENSIONS = new Set(['2.5.29.21', '2.5.29.24', '2.5.29.23']);

export interface CrlEntry {
  /** Lower-case hex, sign-padding octet removed: the same form as ParsedCertificate.serialHex. */
  serialHex: string;
  revokedAt: Date;
  /** RFC 5280 5.3.1 reason name, null when the entry has no reasonCode. */
  reason: string | null;
}

export interface ParsedCrl {
  der: Uint8Array;
  /** `sha256:<hex of the DER>`. */
  digest: string;
  /** The issuer DN, in the same string form as ParsedCertificate.subject. */
  issuer: string;
  /** RFC 5280 5.2.3 cRLNumber as minimal lower-case hex (`0` for zero); null when absent. */
  crlNumber: string | null;
  thisUpdate: Date;
  /** RFC 5280 5.1.2.5: null when absent (which a conforming CRL issuer never does). */
  nextUpdate: Date | null;
  entries: CrlEntry[];
  signatureAlgorithm: string;
}

function invalid(message: string, cause?: unknown): KeyshareError {
  return new KeyshareError(CrlCodes.CRL_INVALID, message, { cause });
}

/** The DER of one CRL, from PEM (`X509 CRL`, RFC 7468 section 6) or DER bytes. */
function crlDer(input: string | Uint8Array): Uint8Array {
  const size = typeof input === 'string' ? Buffer.byteLength(input) : input.length;
  const text = asText(input);
  // Cap before parsing (STYLE.md "Security habits"). PEM is 4/3 of the DER plus line ends.
  if (size > (text === null ? MAX_CRL_BYTES : Math.ceil((MAX_CRL_BYTES * 4) / 3) * 1.03 + 1024)) {
    throw new KeyshareError(CrlCodes.CRL_TOO_LARGE, `a CRL is limited to ${MAX_CRL_BYTES} bytes`);
  }
  if (text === null) {
    if (typeof input === 'string') throw invalid('not a CRL: expected DER or a PEM "X509 CRL" block');
    return new Uint8Array(input);
  }
  let blocks;
  try {
    blocks = decodePem(text);
  } catch (e) {
    throw invalid(`malformed PEM: ${(e as Error).message}`, e);
  }
  // RFC 7468 section 6 says "X509 CRL"; some tools write the legacy "CRL".
  const crls = blocks.filter((b) => b.label === 'X509 CRL' || b.label === 'CRL');
  if (crls.length === 0) {
    const label = blocks[0]?.label;
    throw invalid(label ? `not a CRL: the PEM block is "${label}", expected "X509 CRL"` : 'not a CRL: no "-----BEGIN X509 CRL-----" block');
  }
  if (crls.length > 1) throw invalid(`expected one CRL, found ${crls.length}`);
  return crls[0]!.der;
}

/** Parses one CRL (PEM text, DER bytes, or bytes holding PEM). Throws CRL_INVALID / CRL_TOO_LARGE. */
export function parseCrl(input: string | Uint8Array): ParsedCrl {
  const der = crlDer(input);
  if (der.length > MAX_CRL_BYTES) throw new KeyshareError(CrlCodes.CRL_TOO_LARGE, `a CRL is limited to ${MAX_CRL_BYTES} bytes, this one has ${der.length}`);
  // The CRL is published byte for byte: refuse trailing bytes, which the ASN.1 parser ignores.
  if (!isDerSequence(der)) throw invalid('not a CRL: not one DER SEQUENCE');
  let signed: SignedParts;
  try {
    signed = signedParts(der, 'crl');
  } catch (e) {
    throw invalid(`not a CRL: ${(e as Error).message}`, e);
  }
  let crl: x509.X509Crl;
  try {
    crl = new x509.X509Crl(new Uint8Array(der) as Uint8Array<ArrayBuffer>);
  } catch (e) {
    throw invalid('not a CRL', e);
  }
  try {
    // RFC 5280 5.1.2.1: v2 CRLs carry version 1; extensions need v2.
    const extensions = crl.extensions;
    if (extensions.some((e) => e.type === OID_DELTA_CRL_INDICATOR)) {
      throw invalid('delta CRLs are not supported: give the complete CRL (RFC 5280 5.2.4)');
    }
    const unknown = extensions.filter((e) => e.critical && !KNOWN_CRL_EXTENSIONS.has(e.type));
    if (unknown.length > 0) {
      // RFC 5280 5.2: a CRL with an unrecognised critical extension must not be used.
      throw invalid(`the CRL has unsupported critical extensions: ${unknown.map((e) => e.type).join(', ')}`);
    }
    const numberExt = extensions.find((e) => e.type === OID_CRL_NUMBER);
    const entries: CrlEntry[] = crl.entries.map((entry) => {
      const exts = entry.extensions;
      if (exts.some((e) => e.type === OID_CERTIFICATE_ISSUER)) {
        throw invalid('indirect CRLs (certificateIssuer entries) are not supported (RFC 5280 5.3.3)');
      }
      const bad = exts.filter((e) => e.critical && !KNOWN_ENTRY_EXTENSIONS.has(e.type));
      if (bad.length > 0) throw invalid(`a CRL entry has unsupported critical extensions: ${bad.map((e) => e.type).join(', ')}`);
      const reason = entry.reason;
      return {
        serialHex: entry.serialNumber.toLowerCase(),
        revokedAt: entry.revocationDate,
        reason: reason === undefined ? null : (REASONS[reason] ?? 'unspecified'),
      };
    });
    const thisUpdate = crl.thisUpdate;
    const nextUpdate = crl.nextUpdate ?? null;
    if (Number.isNaN(thisUpdate.getTime()) || (nextUpdate && Number.isNaN(nextUpdate.getTime()))) throw invalid('the CRL has invalid dates');
    return {
      der,
      digest: `sha256:${sha256Hex(der)}`,
      issuer: crl.issuer,
      crlNumber: numberExt ? derIntegerHex(new Uint8Array(numberExt.value)) : null,
      thisUpdate,
      nextUpdate,
      entries,
      signatureAlgorithm: signed.algorithm,
    };
  } catch (e) {
    if (e instanceof KeyshareError) throw e;
    // Lazy getters decode fields on first use.
    throw invalid('not a valid CRL', e);
  }
}

/** The CRL as one PEM `X509 CRL` block (RFC 7468 section 6). */
export function crlPem(der: Uint8Array): string {
  return encodePem('X509 CRL', der);
}

/** RFC 5280 5.2.3: CRL numbers are compared as integers. Negative when a < b. */
export function compareCrlNumbers(a: string, b: string): number {
  const x = BigInt(`0x${a}`);
  const y = BigInt(`0x${b}`);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** A DER INTEGER as minimal hex; throws on a negative number (RFC 5280 5.2.3: 0..MAX). */
function derIntegerHex(bytes: Uint8Array): string {
  if (bytes[0] !== 0x02) throw invalid('the cRLNumber is not an INTEGER');
  const tlv = readTlv(bytes, 0);
  if (tlv.end !== bytes.length) throw invalid('the cRLNumber has trailing bytes');
  const content = bytes.subarray(tlv.contentStart, tlv.end);
  if (content.length === 0 || (content[0]! & 0x80) !== 0) throw invalid('the cRLNumber is negative or empty');
  if (content.length > 21) throw invalid('the cRLNumber is longer than 20 octets (RFC 5280 5.2.3)');
  const hex = Buffer.from(content).toString('hex').replace(/^0+(?=.)/, '');
  return hex;
}

// ---- signatures of SIGNED{} structures (certificates, CRLs) ----

interface Tlv {
  tag: number;
  start: number;
  contentStart: number;
  end: number;
}

/** One DER TLV at `offset` (definite lengths only, X.690 8.1.3). */
function readTlv(bytes: Uint8Array, offset: number): Tlv {
  if (offset >= bytes.length) throw new Error('unexpected end of DER');
  const total = derTotalLength(bytes.subarray(offset));
  if (total === null) throw new Error('malformed DER length');
  const first = bytes[offset + 1]!;
  const headerLen = first < 0x80 ? 2 : 2 + (first & 0x7f);
  const end = offset + total;
  if (end > bytes.length) throw new Error('DER value runs past the end');
  return { tag: bytes[offset]!, start: offset, contentStart: offset + headerLen, end };
}

interface SignedParts {
  tbs: Uint8Array;
  algorithmDer: Uint8Array;
  algorithm: string;
  signature: Uint8Array;
}

/**
 * Splits a certificate (RFC 5280 4.1) or CRL (5.1) into what was signed, the algorithm and the
 * signature, and checks that the algorithm inside the signed part is the same (4.1.1.2, 5.1.1.2).
 */
function signedParts(der: Uint8Array, kind: 'certificate' | 'crl'): SignedParts {
  const outer = readTlv(der, 0);
  if (outer.tag !== 0x30 || outer.end !== der.length) throw new Error('not a SEQUENCE');
  const tbs = readTlv(der, outer.contentStart);
  if (tbs.tag !== 0x30) throw new Error('the signed part is not a SEQUENCE');
  const alg = readTlv(der, tbs.end);
  if (alg.tag !== 0x30) throw new Error('no signatureAlgorithm');
  const sig = readTlv(der, alg.end);
  if (sig.tag !== 0x03 || sig.end !== outer.end) throw new Error('no signatureValue BIT STRING');
  if (der[sig.contentStart] !== 0) throw new Error('the signature BIT STRING has unused bits');
  // The AlgorithmIdentifier inside the signed part.
  let field = readTlv(der, tbs.contentStart);
  if (kind === 'certificate') {
    if (field.tag === 0xa0) field = readTlv(der, field.end); // [0] version
    field = readTlv(der, field.end); // serialNumber
  } else if (field.tag === 0x02) {
    field = readTlv(der, field.end); // version
  }
  const inner = der.subarray(field.start, field.end);
  const algorithmDer = der.subarray(alg.start, alg.end);
  if (field.tag !== 0x30 || !Buffer.from(inner).equals(Buffer.from(algorithmDer))) {
    throw new Error('the signature algorithm inside the signed part differs from the outer one');
  }
  const oid = readTlv(der, alg.contentStart);
  if (oid.tag !== 0x06) throw new Error('malformed AlgorithmIdentifier');
  return {
    tbs: der.subarray(tbs.start, tbs.end),
    algorithmDer,
    algorithm: decodeOid(der.subarray(oid.contentStart, oid.end)),
    signature: der.subarray(sig.contentStart + 1, sig.end),
  };
}

function decodeOid(content: Uint8Array): string {
  const parts: number[] = [];
  let value = 0;
  for (const b of content) {
    value = value * 128 + (b & 0x7f);
    if ((b & 0x80) === 0) {
      parts.push(value);
      value = 0;
    }
  }
  const first = parts.shift() ?? 0;
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...parts].join('.');
}

/**
 * Signature algorithms accepted on certificates and CRLs, with the hash node:crypto needs.
 * SHA-1 is not accepted (collisions are practical); RSASSA-PSS is not supported yet.
 */
const SIGNATURE_ALGORITHMS: Record<string, { hash: string | null; key: string }> = {
  '1.2.840.10045.4.3.2': { hash: 'sha256', key: 'ec' }, // ecdsa-with-SHA256
  '1.2.840.10045.4.3.3': { hash: 'sha384', key: 'ec' },
  '1.2.840.10045.4.3.4': { hash: 'sha512', key: 'ec' },
  '1.2.840.113549.1.1.11': { hash: 'sha256', key: 'rsa' }, // sha256WithRSAEncryption
  '1.2.840.113549.1.1.12': { hash: 'sha384', key: 'rsa' },
  '1.2.840.113549.1.1.13': { hash: 'sha512', key: 'rsa' },
  '1.3.101.112': { hash: null, key: 'ed25519' }, // id-Ed25519 (RFC 8410)
};

export interface SignatureCheck {
  ok: boolean;
  /** Why it failed, for error messages. */
  reason?: string;
}

/** Verifies the signature of a DER certificate or CRL with the issuer's SubjectPublicKeyInfo. */
export function verifySignedDer(der: Uint8Array, kind: 'certificate' | 'crl', issuerSpkiDer: Uint8Array): SignatureCheck {
  let parts: SignedParts;
  try {
    parts = signedParts(der, kind);
  } catch (e) {
    return { ok: false, reason: `malformed ${kind}: ${(e as Error).message}` };
  }
  const alg = SIGNATURE_ALGORITHMS[parts.algorithm];
  if (!alg) return { ok: false, reason: `unsupported signature algorithm ${parts.algorithm}` };
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(issuerSpkiDer), format: 'der', type: 'spki' });
  } catch (e) {
    return { ok: false, reason: `the issuer's public key is unusable: ${(e as Error).message}` };
  }
  if (key.asymmetricKeyType !== alg.key) {
    return { ok: false, reason: `a ${key.asymmetricKeyType} key cannot verify a ${parts.algorithm} signature` };
  }
  try {
    // X.509 ECDSA signatures are DER Ecdsa-Sig-Value, node's default dsaEncoding.
    const ok = nodeVerify(alg.hash, parts.tbs, key, parts.signature);
    return ok ? { ok } : { ok, reason: 'the signature does not verify' };
  } catch (e) {
    return { ok: false, reason: `the signature does not verify: ${(e as Error).message}` };
  }
}

/** True when `issuer` signed `cert` (RFC 5280 6.1.3 (a)(1)); names are not compared here. */
export function verifyCertificateSignature(cert: Pick<ParsedCertificate, 'der'>, issuer: Pick<ParsedCertificate, 'spkiDer'>): SignatureCheck {
  return verifySignedDer(cert.der, 'certificate', issuer.spkiDer);
}

/**
 * Checks a CRL against a CA certificate: the names match (RFC 5280 6.3.3 (b)), the CA may
 * sign CRLs (keyUsage cRLSign when keyUsage is present, 4.2.1.3), and the signature verifies
 * (6.3.3 (f)). Times and numbers are the caller's policy.
 */
export function verifyCrlSignature(crl: Pick<ParsedCrl, 'der' | 'issuer'>, issuer: Pick<ParsedCertificate, 'subject' | 'spkiDer' | 'keyUsage'>): SignatureCheck {
  if (crl.issuer !== issuer.subject) return { ok: false, reason: `the CRL is issued by "${crl.issuer}", not "${issuer.subject}"` };
  if (issuer.keyUsage.length > 0 && !issuer.keyUsage.includes('cRLSign')) {
    return { ok: false, reason: `"${issuer.subject}" may not sign CRLs (its keyUsage lacks cRLSign)` };
  }
  return verifySignedDer(crl.der, 'crl', issuer.spkiDer);
}

export type CrlTimeStatus = 'valid' | 'notYetValid' | 'expired' | 'noNextUpdate';

/** RFC 5280 6.3.3: a CRL is usable from thisUpdate until nextUpdate. */
export function crlTimeStatus(crl: Pick<ParsedCrl, 'thisUpdate' | 'nextUpdate'>, now: Date): CrlTimeStatus {
  if (crl.thisUpdate.getTime() > now.getTime()) return 'notYetValid';
  if (!crl.nextUpdate) return 'noNextUpdate';
  if (crl.nextUpdate.getTime() < now.getTime()) return 'expired';
  return 'valid';
}
