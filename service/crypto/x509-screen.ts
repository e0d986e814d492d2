/**
 * A first look at a certificate's DER (X.690), before the ASN.1 parser builds objects from it
 * (issue 16, finding 1). Inside the 256 KiB size cap, 6,000 tiny extensions cost an anchor upload
 * 0.6 s of event loop, and extension values nested thousands deep cost tens of ms; a real
 * certificate has a dozen extensions and nests under 16 levels (nameConstraints with a
 * directoryName: 14). This walk is linear in the bytes and stops at the first cap it passes
 * (about a millisecond here). Pure: bytes in, a verdict out.
 */
import { KeyshareError, Codes } from '../errors.js';

/** Caps on one certificate (RFC 5280 profiles and real CAs stay far below them). */
export const X509_LIMITS = { extensions: 64, depth: 32, elements: 8192 } as const;

const bad = (message: string) => new KeyshareError(Codes.BAD_CERTIFICATE, message);

interface Tlv {
  tag: number;
  /** Offsets of the contents. */
  start: number;
  end: number;
}

/** The TLV at `at` within `[at, limit)` (single-octet tags, definite lengths: X.690 8.1), or null. */
function tlvAt(der: Uint8Array, at: number, limit: number): Tlv | null {
  if (at + 2 > limit) return null;
  const tag = der[at]!;
  if ((tag & 0x1f) === 0x1f) return null;
  const first = der[at + 1]!;
  let start = at + 2;
  let length = first;
  if (first >= 0x80) {
    const n = first & 0x7f;
    if (n === 0 || n > 4 || start + n > limit) return null;
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + der[start + i]!;
    start += n;
  }
  return start + length <= limit ? { tag, start, end: start + length } : null;
}

/** The TLVs that exactly fill `[start, end)`, or null when they do not. */
function children(der: Uint8Array, start: number, end: number): Tlv[] | null {
  const out: Tlv[] = [];
  for (let at = start; at < end; ) {
    const t = tlvAt(der, at, end);
    if (!t) return null;
    out.push(t);
    at = t.end;
  }
  return out;
}

/**
 * Refuses a certificate with more than X509_LIMITS.extensions extensions, or more than
 * X509_LIMITS.elements ASN.1 elements or deeper than X509_LIMITS.depth, counting what an OCTET
 * or BIT STRING encapsulates (extension values, keys) since the parser decodes that too.
 * Malformed framing is left to the parser, which refuses it.
 */
export function screenCertificateDer(der: Uint8Array): void {
  const root = tlvAt(der, 0, der.length);
  if (!root) return;
  let elements = 0;
  const stack: [Tlv, number][] = [[root, 1]];
  while (stack.length > 0) {
    const [t, depth] = stack.pop()!;
    if (++elements > X509_LIMITS.elements) throw bad(`the certificate holds more than ${X509_LIMITS.elements} ASN.1 elements`);
    if (depth > X509_LIMITS.depth) throw bad(`the certificate nests ASN.1 deeper than ${X509_LIMITS.depth} levels`);
    const constructed = (t.tag & 0x20) !== 0;
    // BIT STRING contents start with the unused-bits octet.
    const start = t.tag === 0x03 ? t.start + 1 : t.start;
    if (!constructed && t.tag !== 0x04 && t.tag !== 0x03) continue;
    const inner = start < t.end ? children(der, start, t.end) : null;
    if (inner) for (const c of inner) stack.push([c, depth + 1]);
  }
  // Certificate → tbsCertificate → [3] extensions → SEQUENCE OF Extension (RFC 5280 4.1).
  const tbs = children(der, root.start, root.end)?.[0];
  const explicit = tbs && children(der, tbs.start, tbs.end)?.find((c) => c.tag === 0xa3);
  const list = explicit && children(der, explicit.start, explicit.end)?.[0];
  const count = list ? (children(der, list.start, list.end)?.length ?? 0) : 0;
  if (count > X509_LIMITS.extensions) throw bad(`the certificate has ${count} extensions, more than ${X509_LIMITS.extensions}`);
}

/**
 * Whether DER has the outline of a certificate (RFC 5280 4.1: a SEQUENCE of tbsCertificate
 * SEQUENCE, signatureAlgorithm SEQUENCE and signatureValue BIT STRING), without parsing it:
 * telling the kind of an upload must not run the certificate parser on the event loop.
 */
export function hasCertificateOutline(der: Uint8Array): boolean {
  const root = tlvAt(der, 0, der.length);
  if (!root || root.tag !== 0x30 || root.end !== der.length) return false;
  const parts = children(der, root.start, root.end);
  return parts !== null && parts.length === 3 && parts[0]!.tag === 0x30 && parts[1]!.tag === 0x30 && parts[2]!.tag === 0x03;
}
