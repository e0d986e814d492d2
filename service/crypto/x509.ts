/** X.509 certificate parsing (RFC 5280) on top of @peculiar/x509. */
import { KeyshareError, Codes } from '../errors.js';
import { x509 } from './provider.js';
import {
  MAX_MATERIAL_BYTES,
  NEVER_UPLOAD_PRIVATE,
  asText,
  decodePem,
  encodePem,
  isDerSequence,
  isPrivateKeyLabel,
  sha256Hex,
} from './encoding.js';
import { screenCertificateDer } from './x509-screen.js';

export interface ParsedCertificate {
  /** `sha256:<hex of the DER>` (CONTRACT "Anchor IDs"). */
  id: string;
  der: Uint8Array;
  /** One CERTIFICATE block, 64-column base64, trailing newline. */
  pem: string;
  /** RFC 4514-style string, e.g. `CN=Root, O=Acme`. */
  subject: string;
  issuer: string;
  /** The subject's first commonName, when there is one. */
  commonName: string | null;
  /**
   * Lower-case hex of the serialNumber INTEGER content octets with the DER sign-padding
   * byte removed (a leading 00 before a byte >= 0x80), so 0x8badf00d is `8badf00d` and
   * 0x0a1b is `0a1b`. Other leading zero octets are not allowed by DER (X.690 8.3.2) and
   * are kept as encoded. This matches what CRL entries report for the same serial.
   */
  serialHex: string;
  notBefore: Date;
  notAfter: Date;
  /** RFC 5280 4.2.1.9: basicConstraints cA; false when the extension is absent. */
  isCA: boolean;
  pathLen?: number;
  /** RFC 5280 4.2.1.3 bit names, e.g. `keyCertSign`; empty when the extension is absent. */
  keyUsage: string[];
  spkiDer: Uint8Array;
  /** `sha256:<hex of the SubjectPublicKeyInfo DER>`. */
  spkiId: string;
  /** OIDs of critical extensions outside RECOGNISED_EXTENSIONS (RFC 5280 4.2: a verifier rejects these). */
  unknownCriticalExtensions: string[];
}

export type CertificateValidity = 'valid' | 'expired' | 'notYetValid';

const KEY_USAGE_NAMES: [x509.KeyUsageFlags, string][] = [
  [x509.KeyUsageFlags.digitalSignature, 'digitalSignature'],
  [x509.KeyUsageFlags.nonRepudiation, 'nonRepudiation'],
  [x509.KeyUsageFlags.keyEncipherment, 'keyEncipherment'],
  [x509.KeyUsageFlags.dataEncipherment, 'dataEncipherment'],
  [x509.KeyUsageFlags.keyAgreement, 'keyAgreement'],
  [x509.KeyUsageFlags.keyCertSign, 'keyCertSign'],
  [x509.KeyUsageFlags.cRLSign, 'cRLSign'],
  [x509.KeyUsageFlags.encipherOnly, 'encipherOnly'],
  [x509.KeyUsageFlags.decipherOnly, 'decipherOnly'],
];

/**
 * Extensions keyshare's verifiers know: those of RFC 5280 4.2.1 and 4.2.2, plus what timestamp
 * and CA certificates here carry. A critical extension outside this list refuses an anchor.
 */
export const RECOGNISED_EXTENSIONS: ReadonlySet<string> = new Set([
  '2.5.29.19', // basicConstraints
  '2.5.29.15', // keyUsage
  '2.5.29.37', // extKeyUsage
  '2.5.29.17', // subjectAltName
  '2.5.29.18', // issuerAltName
  '2.5.29.30', // nameConstraints
  '2.5.29.32', // certificatePolicies
  '2.5.29.33', // policyMappings
  '2.5.29.36', // policyConstraints
  '2.5.29.54', // inhibitAnyPolicy
  '2.5.29.14', // subjectKeyIdentifier
  '2.5.29.35', // authorityKeyIdentifier
  '2.5.29.31', // cRLDistributionPoints
  '2.5.29.46', // freshestCRL
  '1.3.6.1.5.5.7.1.1', // authorityInfoAccess
  '1.3.6.1.5.5.7.1.11', // subjectInfoAccess
]);

/** What to do about certificate bytes that do not parse (issue 15: every error says what to do). */
const DAMAGED_ADVICE = 'the file is damaged or holds something else; export the certificate again (openssl x509 -in FILE -text shows whether it reads)';

function bad(message: string, cause?: unknown): KeyshareError {
  return new KeyshareError(Codes.BAD_CERTIFICATE, message, { cause });
}

/** The DER of exactly one certificate, from PEM text or DER bytes. */
function certificateDer(input: string | Uint8Array): Uint8Array {
  const size = typeof input === 'string' ? Buffer.byteLength(input) : input.length;
  if (size > MAX_MATERIAL_BYTES) throw bad(`certificate is larger than ${MAX_MATERIAL_BYTES} bytes`);
  const text = asText(input);
  if (text === null) {
    if (typeof input === 'string') throw bad('not a PEM certificate');
    // Neither PEM armor nor a DER SEQUENCE (X.690 8.9): a text file, say, given as a certificate.
    if (input[0] !== 0x30) throw bad('neither a PEM nor a DER certificate (PEM starts with "-----BEGIN CERTIFICATE-----")');
    return input;
  }
  let blocks;
  try {
    blocks = decodePem(text);
  } catch (e) {
    throw bad(`malformed PEM: ${(e as Error).message}`, e);
  }
  if (blocks.some((b) => isPrivateKeyLabel(b.label))) throw bad(NEVER_UPLOAD_PRIVATE);
  const certs = blocks.filter((b) => b.label === 'CERTIFICATE');
  if (certs.length === 0) throw bad('no "-----BEGIN CERTIFICATE-----" block found');
  if (certs.length > 1) throw bad(`expected one certificate, found ${certs.length}: give each certificate on its own`);
  if (blocks.length > 1) throw bad('expected only a CERTIFICATE block in the PEM');
  return certs[0]!.der;
}

/**
 * Certificates parsed in this process, by ID (the DER's digest), most recent last. Stored
 * anchors are read again and again (publishing, CRL checks, the console, every format), and a
 * certificate at the caps of x509-screen.ts costs tens of ms to parse: remembered, the event
 * loop parses each one at most once per process (issue 16, finding 1). Bounded by DER bytes;
 * the least recently used go first. Refusals are not remembered.
 */
const REMEMBERED_DER_BYTES = 8 * 1024 * 1024;
const remembered = new Map<string, ParsedCertificate>();
let rememberedBytes = 0;
const memoStats = { decoded: 0, reused: 0 };

/** How many certificates this process decoded, and how many parses the memo answered. */
export function certificateParseStats(): Readonly<typeof memoStats> {
  return { ...memoStats };
}

/** A caller's own copy: nothing it changes reaches the memo. */
function copyOf(c: ParsedCertificate): ParsedCertificate {
  return {
    ...c,
    der: c.der.slice(),
    spkiDer: c.spkiDer.slice(),
    notBefore: new Date(c.notBefore),
    notAfter: new Date(c.notAfter),
    keyUsage: [...c.keyUsage],
    unknownCriticalExtensions: [...c.unknownCriticalExtensions],
  };
}

/** Parses one X.509 certificate (PEM text, DER bytes, or bytes holding PEM text). */
export function parseCertificate(input: string | Uint8Array): ParsedCertificate {
  const der = new Uint8Array(certificateDer(input));
  // The ASN.1 parser silently ignores trailing bytes; the ID hashes the DER, so refuse them.
  if (!isDerSequence(der)) throw bad(`not a DER-encoded certificate: ${DAMAGED_ADVICE}`);
  const id = `sha256:${sha256Hex(der)}`;
  const hit = remembered.get(id);
  if (hit) {
    memoStats.reused++;
    remembered.delete(id);
    remembered.set(id, hit);
    return copyOf(hit);
  }
  const parsed = decodeCertificate(der, id);
  memoStats.decoded++;
  rememberCertificate(parsed);
  return parsed;
}

/**
 * Remembers a certificate parsed elsewhere: what the parse worker (untrusted.ts) accepted, so
 * that the event loop does not decode an accepted upload even once.
 */
export function rememberCertificate(parsed: ParsedCertificate): void {
  if (remembered.has(parsed.id)) return;
  remembered.set(parsed.id, copyOf(parsed));
  rememberedBytes += parsed.der.length;
  for (const [oldest, c] of remembered) {
    if (rememberedBytes <= REMEMBERED_DER_BYTES) break;
    remembered.delete(oldest);
    rememberedBytes -= c.der.length;
  }
}

/** The parse itself: DER that passed certificateDer and isDerSequence, and its ID. */
function decodeCertificate(der: Uint8Array<ArrayBuffer>, id: string): ParsedCertificate {
  screenCertificateDer(der);
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(der);
  } catch (e) {
    throw bad(`not a valid X.509 certificate: ${DAMAGED_ADVICE}`, e);
  }
  try {
    const bc = cert.getExtension(x509.BasicConstraintsExtension);
    const ku = cert.getExtension(x509.KeyUsagesExtension);
    const spkiDer = new Uint8Array(cert.publicKey.rawData);
    const parsed: ParsedCertificate = {
      id,
      der,
      pem: encodePem('CERTIFICATE', der),
      subject: cert.subject,
      issuer: cert.issuer,
      commonName: cert.subjectName.getField('CN')[0] ?? null,
      serialHex: cert.serialNumber.toLowerCase(),
      notBefore: cert.notBefore,
      notAfter: cert.notAfter,
      isCA: bc?.ca === true,
      keyUsage: ku ? KEY_USAGE_NAMES.filter(([flag]) => (ku.usages & flag) !== 0).map(([, n]) => n) : [],
      spkiDer,
      spkiId: `sha256:${sha256Hex(spkiDer)}`,
      unknownCriticalExtensions: cert.extensions.filter((e) => e.critical && !RECOGNISED_EXTENSIONS.has(e.type)).map((e) => e.type),
    };
    if (bc?.ca === true && bc.pathLength !== undefined) parsed.pathLen = bc.pathLength;
    if (Number.isNaN(parsed.notBefore.getTime()) || Number.isNaN(parsed.notAfter.getTime())) {
      throw new Error('invalid validity dates');
    }
    return parsed;
  } catch (e) {
    // Lazy getters decode fields (names, extensions, key) on first use.
    throw bad('not a valid X.509 certificate', e);
  }
}

/** RFC 5280 4.1.2.5: valid from notBefore to notAfter, both inclusive. */
export function certificateValidity(
  cert: Pick<ParsedCertificate, 'notBefore' | 'notAfter'>,
  now: Date,
): CertificateValidity {
  if (now.getTime() < cert.notBefore.getTime()) return 'notYetValid';
  if (now.getTime() > cert.notAfter.getTime()) return 'expired';
  return 'valid';
}
