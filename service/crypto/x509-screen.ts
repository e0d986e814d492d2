/**
 * A first look at a certificate's DER (X.690), before the ASN.1 parser builds objects from it
 * (issue 16, finding 1). Inside the 256 KiB size cap, 6,000 tiny extensions cost an anchor upload
 * 0.6 s of event loop, and extension values nested thousands deep cost tens of ms; a real
 * certificate has a dozen extensions and nests under 16 levels (nameConstraints with a
 * directoryName: 14). This walk is linear in the bytes (about a millisecond at the size cap).
 * Pure: bytes in, a verdict out.
 */
import { KeyshareError, Codes } from '../errors.js';

/**
 * Caps on one certificate. Everything accepted is parsed again on the event loop later (once
 * per process: x509.ts remembers), so the caps bound that cost too (issue 16, finding 1: "the
 * event loop never runs attacker-sized math"). Measured with bench/x509-parse-cost.ts: the
 * parser's cost follows the ASN.1 element count, at 5-35 µs an element (decoded names
 * costliest), not the byte size; a CA certificate holds 50-100 elements (2 ms), one with 500
 * DNS names 618 (30 ms), a crafted 2,979-element one cost 50 ms on a quiet machine and several
 * hundred on a busy one. 1,024 elements keeps any certificate under about 40 ms, with room for
 * 900 names. RFC 5280 profiles stay far below the other caps.
 */
export const X509_LIMITS = { extensions: 64, depth: 32, elements: 1024 } as const;

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

/** What the parser will build from a certificate's DER (every element, as in screenCertificateDer). */
export interface DerCost {
  /** ASN.1 elements, counting what OCTET and BIT STRINGs encapsulate. */
  elements: number;
  /** The deepest nesting. */
  depth: number;
  /** Each element's encoded size, summed: the bytes the parser copies and decodes, level by level. */
  copied: number;
}

/** Walks every element of `der` (iteratively: depth costs no stack). Malformed framing ends a branch. */
export function derCost(der: Uint8Array): DerCost {
  const cost: DerCost = { elements: 0, depth: 0, copied: 0 };
  const root = tlvAt(der, 0, der.length);
  if (!root) return cost;
  const stack: [Tlv, number][] = [[root, 1]];
  while (stack.length > 0) {
    const [t, depth] = stack.pop()!;
    cost.elements++;
    cost.depth = Math.max(cost.depth, depth);
    cost.copied += t.end - t.start;
    const constructed = (t.tag & 0x20) !== 0;
    // BIT STRING contents start with the unused-bits octet.
    const start = t.tag === 0x03 ? t.start + 1 : t.start;
    if (!constructed && t.tag !== 0x04 && t.tag !== 0x03) continue;
    const inner = start < t.end ? children(der, start, t.end) : null;
    if (inner) for (const c of inner) stack.push([c, depth + 1]);
  }
  return cost;
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
  const cost = derCost(der);
  if (cost.depth > X509_LIMITS.depth) throw bad(`the certificate nests ASN.1 deeper than ${X509_LIMITS.depth} levels`);
  if (cost.elements > X509_LIMITS.elements) throw bad(`the certificate holds more than ${X509_LIMITS.elements} ASN.1 elements`);
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
