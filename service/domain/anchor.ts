/**
 * Anchor validation: turns what an admin gave (a certificate, or a public key) into an
 * AnchorRecord, or refuses it with a stable code. Pure apart from parsing: no fs, http or db.
 */
import {
  certificateValidity,
  checkCertificateKey,
  detectMaterial,
  parsePgpPublicKey,
  parsePublicKey,
  type ParsedCertificate,
} from '../crypto/index.js';
import { parseUntrustedCertificate } from '../crypto/untrusted.js';
import { Codes, KeyshareError } from '../errors.js';
import type { AnchorRecord, AnchorType, CertificateAnchorType } from './types.js';

export interface AnchorInput {
  scope: string;
  certificate?: string | Uint8Array;
  publicKey?: string | Uint8Array;
  type?: AnchorType;
  name?: string;
  trustedIdentities?: string[];
}

export const CERTIFICATE_ANCHOR_TYPES: readonly CertificateAnchorType[] = ['ca', 'signingAuthority', 'tsa'];
export const MAX_NAME_LENGTH = 128;
/** Notation trust policy: a trusted identity is `*` or `x509.subject: <DN>`. */
export const IDENTITY_PREFIX = 'x509.subject:';

function invalid(message: string): KeyshareError {
  return new KeyshareError(Codes.ANCHOR_INVALID, message);
}

/** Validates one anchor at the time `now` and returns the record to store. */
export async function buildAnchor(input: AnchorInput, now: Date): Promise<AnchorRecord> {
  const hasCert = input.certificate !== undefined && input.certificate !== null;
  const hasKey = input.publicKey !== undefined && input.publicKey !== null;
  if (hasCert === hasKey) throw invalid('give exactly one of a certificate or a public key');
  // Apply files come from hand-written YAML: anything but text or bytes is refused here.
  const material = hasCert ? input.certificate : input.publicKey;
  if (typeof material !== 'string' && !(material instanceof Uint8Array)) throw invalid(`${hasCert ? 'certificate' : 'publicKey'} must be PEM text or DER bytes`);
  return hasCert
    ? certificateAnchor(input, input.certificate!, now)
    : keyAnchor(input, input.publicKey!);
}

/**
 * buildAnchor for many anchors at one time `now` (an apply): the same material, type, name and
 * identities give the same record at any scope, so each distinct one is validated once and its
 * record (or refusal) reused with the scope filled in (bench B4: 100k scopes often share a few keys).
 * Input that is not all text (bytes) is validated each time.
 */
export function anchorBuilder(now: Date): (input: AnchorInput) => Promise<AnchorRecord> {
  const built = new Map<string, Promise<Omit<AnchorRecord, 'scope'>>>();
  return (input) => {
    const { scope, ...rest } = input;
    const key = memoKey(rest);
    if (key === null) return buildAnchor(input, now);
    let record = built.get(key);
    if (!record) built.set(key, (record = buildAnchor({ ...rest, scope: '' }, now).then(({ scope: _, ...r }) => r)));
    return record.then((r) => ({ scope, ...r, trustedIdentities: r.trustedIdentities && [...r.trustedIdentities] }));
  };
}

/** The memo key of an anchor's fields, or null when one is not plain text (a list of texts for trustedIdentities). */
function memoKey(input: Omit<AnchorInput, 'scope'>): string | null {
  const { certificate, publicKey, type, name, trustedIdentities, ...other } = input;
  if (Object.keys(other).length > 0) return null;
  const text = (v: unknown) => v === undefined || v === null || typeof v === 'string';
  if (![certificate, publicKey, type, name].every(text)) return null;
  if (trustedIdentities !== undefined && trustedIdentities !== null && !(Array.isArray(trustedIdentities) && trustedIdentities.every((i) => typeof i === 'string'))) return null;
  // undefined and null differ for type and name (buildAnchor refuses a null one): 0 stands for undefined.
  return JSON.stringify([certificate, publicKey, type, name, trustedIdentities].map((v) => (v === undefined ? 0 : v)));
}

/** The ID an anchor of this material would get (for the audit entry), or null when it cannot be read. */
export async function anchorIdOf(input: Omit<AnchorInput, 'scope'>): Promise<string | null> {
  const material = input.certificate ?? input.publicKey;
  if (typeof material !== 'string' && !(material instanceof Uint8Array)) return null;
  try {
    if (input.certificate !== undefined) return (await parseUntrustedCertificate(material)).id;
    switch (detectMaterial(material)) {
      case 'certificate':
        return (await parseUntrustedCertificate(material)).id;
      case 'publicKey':
        return parsePublicKey(material).id;
      case 'pgp':
        return (await parsePgpPublicKey(material)).id;
      default:
        return null;
    }
  } catch {
    return null;
  }
}

/**
 * Parses a certificate, in the worker pool (issue 16, finding 1: never on the event loop);
 * when that fails on a public key, says to use --key.
 */
async function certificateOrKeyHint(material: string | Uint8Array): Promise<ParsedCertificate> {
  try {
    return await parseUntrustedCertificate(material);
  } catch (e) {
    const kind = detectMaterial(material);
    if (kind === 'publicKey' || kind === 'pgp') throw invalid('this is a public key, not a certificate: use --key');
    throw e;
  }
}

async function certificateAnchor(input: AnchorInput, material: string | Uint8Array, now: Date): Promise<AnchorRecord> {
  const type = input.type ?? 'ca';
  if (!(CERTIFICATE_ANCHOR_TYPES as readonly string[]).includes(type)) {
    throw invalid(`a certificate anchor has type ${CERTIFICATE_ANCHOR_TYPES.join('|')}, not "${type}"`);
  }
  const cert = await certificateOrKeyHint(material);
  // Issue 16: the certificate's key is held to the allow-list (UNSUPPORTED_KEY) before anything else.
  checkCertificateKey(cert.spkiDer);
  // RFC 5280 4.2: a certificate with a critical extension the verifier does not recognise is rejected.
  if (cert.unknownCriticalExtensions.length > 0) {
    throw new KeyshareError(Codes.BAD_CERTIFICATE, `the certificate has an unrecognised critical extension (${cert.unknownCriticalExtensions.join(', ')}), which RFC 5280 4.2 says to reject`);
  }
  // CONTRACT "Anchor IDs": a ca or tsa anchor must be a CA certificate (RFC 5280 4.2.1.9).
  if ((type === 'ca' || type === 'tsa') && !cert.isCA) {
    throw new KeyshareError(Codes.NOT_A_CA, `"${cert.subject}" is not a CA certificate (basicConstraints cA is not set)`);
  }
  // RFC 5280 4.1.2.5: every certificate anchor must be valid now.
  const validity = certificateValidity(cert, now);
  if (validity === 'expired') {
    throw new KeyshareError(Codes.CERT_EXPIRED, `the certificate expired at ${cert.notAfter.toISOString()}`);
  }
  if (validity === 'notYetValid') {
    throw new KeyshareError(Codes.CERT_NOT_YET_VALID, `the certificate is not valid before ${cert.notBefore.toISOString()}`);
  }
  return {
    scope: input.scope,
    id: cert.id,
    name: anchorName(input.name, [cert.commonName, cert.subject], shortId(cert.id)),
    type,
    material: cert.pem,
    trustedIdentities: normalizeIdentities(input.trustedIdentities),
    notAfter: cert.notAfter.toISOString(),
    subject: cert.subject,
    // For key and certificate revocation (CONTRACT.md: revoke key by X.509, SPKI or OpenPGP ID).
    keyId: cert.spkiId,
    serial: cert.serialHex,
    issuerName: cert.issuer,
  };
}

async function keyAnchor(input: AnchorInput, material: string | Uint8Array): Promise<AnchorRecord> {
  if (input.type !== undefined && input.type !== 'publicKey' && input.type !== 'pgp') {
    throw invalid(`a key anchor has type publicKey or pgp, not "${input.type}"`);
  }
  if (input.trustedIdentities !== undefined && input.trustedIdentities !== null) {
    throw invalid('trusted identities apply to certificate anchors only');
  }
  const kind = detectMaterial(material);
  switch (kind) {
    case 'certificate':
      throw invalid('this is a certificate, not a public key: use --cert');
    case 'privateKey':
      throw new KeyshareError(Codes.BAD_PUBLIC_KEY, 'this is a private key: never upload private keys, give the public key');
    case 'unknown':
      throw new KeyshareError(Codes.BAD_PUBLIC_KEY, 'not a PEM public key or an OpenPGP public key');
    case 'publicKey': {
      if (input.type === 'pgp') throw invalid('this is a PEM public key, not an OpenPGP key');
      const key = parsePublicKey(material);
      return keyRecord(input, key.id, 'publicKey', key.pem, anchorName(input.name, [], shortId(key.id)));
    }
    case 'pgp': {
      if (input.type === 'publicKey') throw invalid('this is an OpenPGP key, not a PEM public key');
      const key = await parsePgpPublicKey(material);
      return keyRecord(input, key.id, 'pgp', key.armored, anchorName(input.name, [key.userIds[0]], shortId(key.id)));
    }
  }
}

function keyRecord(input: AnchorInput, id: string, type: AnchorType, material: string, name: string): AnchorRecord {
  return { scope: input.scope, id, name, type, material, trustedIdentities: null, notAfter: null, subject: null, keyId: id };
}

/** Printable: no control, format, private-use or unassigned code points (Unicode category C). */
function isValidName(name: string): boolean {
  const length = [...name].length;
  return length >= 1 && length <= MAX_NAME_LENGTH && /^[^\p{C}]+$/u.test(name);
}

/** The given name, else the first usable candidate (cut to the maximum length), else the short id. */
function anchorName(given: string | undefined, candidates: (string | null | undefined)[], fallback: string): string {
  if (given !== undefined) {
    const name = typeof given === 'string' ? given.trim() : '';
    if (!isValidName(name)) throw invalid(`a name is 1 to ${MAX_NAME_LENGTH} printable characters`);
    return name;
  }
  for (const c of candidates) {
    const name = [...(c ?? '').trim()].slice(0, MAX_NAME_LENGTH).join('').trim();
    if (isValidName(name)) return name;
  }
  return fallback;
}

/** `sha256:` + 12 hex, or the 16-hex long key ID of an OpenPGP fingerprint. */
export function shortId(id: string): string {
  if (id.startsWith('pgp:')) return `pgp:${id.slice(-16)}`;
  const [alg, hex = ''] = id.split(':');
  return `${alg}:${hex.slice(0, 12)}`;
}

/**
 * Notation trust policy `trustedIdentities`: `*` alone, or `x509.subject: <DN>` values.
 * Absent or exactly `["*"]` is stored as null ("*"). An empty list would trust nothing and
 * is refused rather than silently read as "*".
 */
export function normalizeIdentities(identities: string[] | undefined | null): string[] | null {
  if (identities === undefined || identities === null) return null;
  if (!Array.isArray(identities) || identities.length === 0) {
    throw invalid('trustedIdentities must name at least one identity, or "*"');
  }
  const out: string[] = [];
  for (const raw of identities) {
    if (typeof raw !== 'string') throw invalid('a trusted identity is a string');
    const identity = raw.trim();
    if (identity === '*') {
      out.push('*');
      continue;
    }
    if (!identity.startsWith(IDENTITY_PREFIX) || identity.slice(IDENTITY_PREFIX.length).trim() === '') {
      throw invalid(`a trusted identity is "*" or starts with "${IDENTITY_PREFIX}", not "${raw}"`);
    }
    if (/\p{Cc}/u.test(identity)) throw invalid('a trusted identity has no control characters');
    if (!out.includes(identity)) out.push(identity);
  }
  if (out.includes('*')) {
    if (out.length > 1) throw invalid('"*" cannot be combined with other trusted identities');
    return null;
  }
  return out;
}

const ANCHOR_ID = /^(?:sha256:[0-9a-f]{64}|pgp:[0-9a-f]{40})$/;

/** CONTRACT "Anchor IDs": hex is lower case; upper-case input is accepted and normalised. */
export function normalizeAnchorId(id: string): string {
  const [prefix = '', ...rest] = id.trim().split(':');
  const normalized = `${prefix.toLowerCase()}:${rest.join(':').toLowerCase()}`;
  if (!ANCHOR_ID.test(normalized)) throw invalid(`"${id}" is not an anchor ID (sha256:<64 hex> or pgp:<40 hex>)`);
  return normalized;
}

/** When the anchor stops being usable: a certificate's notAfter, else null. */
export function anchorExpiry(anchor: Pick<AnchorRecord, 'notAfter'>): Date | null {
  return anchor.notAfter ? new Date(anchor.notAfter) : null;
}
