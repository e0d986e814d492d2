/** PEM (RFC 7468), DER length and hashing helpers shared by the parsers. No library imports. */
import { createPrivateKey, hash } from 'node:crypto';

/** Upper bound on any certificate, key or OpenPGP key handed to a parser. */
export const MAX_MATERIAL_BYTES = 256 * 1024;

export interface PemBlock {
  label: string;
  der: Uint8Array;
}

const BEGIN = '-----BEGIN ';
const END = '-----END ';
const DASHES = '-----';
const LABEL = /^[A-Z0-9 ]+$/;

/**
 * Every PEM block in `text`. RFC 7468 section 2: text outside the blocks is ignored; the body
 * is strict base64 (section 3) without RFC 1421 headers, with whitespace and line breaks
 * anywhere. Throws a plain Error on a malformed block (mismatched labels, bad base64, a BEGIN
 * without END); callers map it to their code. Linear in the text: certificates up to
 * MAX_MATERIAL_BYTES are decoded on the event loop (issue 16, finding 1).
 */
export function decodePem(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (let at = 0; ; ) {
    const begin = text.indexOf(BEGIN, at);
    const strayEnd = text.indexOf(END, at);
    if (begin < 0) {
      if (strayEnd >= 0) throw unbalanced();
      return blocks;
    }
    if (strayEnd >= 0 && strayEnd < begin) throw unbalanced();
    const label = labelAt(text, begin + BEGIN.length);
    const bodyStart = begin + BEGIN.length + label.length + DASHES.length;
    const end = text.indexOf(END, bodyStart);
    if (end < 0) throw unbalanced();
    const endLabel = labelAt(text, end + END.length);
    if (label !== endLabel) throw new Error(`PEM block "${label}" ends with "${endLabel}"`);
    blocks.push({ label, der: base64Body(text, bodyStart, end, label) });
    at = end + END.length + endLabel.length + DASHES.length;
  }
}

const unbalanced = () => new Error('truncated or unbalanced PEM block');

/** The label that starts at `from` and ends with five dashes. */
function labelAt(text: string, from: number): string {
  const close = text.indexOf(DASHES, from);
  const label = close < 0 ? '' : text.slice(from, close);
  if (!LABEL.test(label)) throw unbalanced();
  return label;
}

const BASE64_BODY = /^[A-Za-z0-9+/]*={0,2}$/;

/** Strict base64 (RFC 4648 section 4) in `text[start, end)`, with whitespace anywhere. */
function base64Body(text: string, start: number, end: number, label: string): Uint8Array {
  // Regular expressions, not a character loop: V8 runs them several times faster here.
  const b64 = text.slice(start, end).replace(/\s+/g, '');
  if (b64.length === 0 || b64.length % 4 !== 0 || !BASE64_BODY.test(b64)) {
    throw new Error(`PEM block "${label}" has a malformed base64 body`);
  }
  return new Uint8Array(Buffer.from(b64, 'base64'));
}

/** RFC 7468 section 2: 64-character lines, one block, trailing newline. */
export function encodePem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** True when the input is (or, as bytes, decodes to) text that holds a PEM or armor header. */
export function asText(input: string | Uint8Array): string | null {
  if (typeof input === 'string') return input;
  // Look only at the start: PEM or OpenPGP armor may be preceded by explanatory text
  // (RFC 7468 section 5.2) but binary DER / OpenPGP never contains "-----BEGIN " early on.
  const head = Buffer.from(input.subarray(0, 4096)).toString('latin1');
  if (!head.includes('-----BEGIN ')) return null;
  return Buffer.from(input).toString('utf8');
}

/**
 * The total length of the DER TLV at the start of `bytes` (X.690 section 8.1), or null when
 * the header is malformed. Used to refuse trailing garbage, which the ASN.1 parser ignores.
 */
export function derTotalLength(bytes: Uint8Array): number | null {
  if (bytes.length < 2) return null;
  const first = bytes[1]!;
  if (first < 0x80) return 2 + first;
  const n = first & 0x7f;
  // X.690 8.1.3.5: 0x80 is the indefinite form (BER only) and 0xff is reserved.
  if (n === 0 || n > 4 || bytes.length < 2 + n) return null;
  let len = 0;
  for (let i = 0; i < n; i++) len = len * 256 + bytes[2 + i]!;
  // X.690 10.1: DER uses the fewest length octets.
  if (len < 0x80 || bytes[2] === 0) return null;
  return 2 + n + len;
}

/** A DER SEQUENCE (tag 0x30) that spans exactly the whole input. */
export function isDerSequence(bytes: Uint8Array): boolean {
  return bytes.length > 0 && bytes[0] === 0x30 && derTotalLength(bytes) === bytes.length;
}

export { sha256Hex } from '../../shared/hash.js';

/** RFC 7468 labels that mean a private key was handed over where a public one belongs. */
export function isPrivateKeyLabel(label: string): boolean {
  return label.endsWith('PRIVATE KEY') || label === 'PGP PRIVATE KEY BLOCK';
}

export const NEVER_UPLOAD_PRIVATE =
  'this is a private key: never upload private keys, give the public key (or certificate) instead';

/** A PKCS#8 PrivateKeyInfo (RFC 5208) in DER. */
export function isPrivateKeyDer(der: Uint8Array): boolean {
  try {
    createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' });
    return true;
  } catch {
    return false;
  }
}
