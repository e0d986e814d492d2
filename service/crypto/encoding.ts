/** PEM (RFC 7468), DER length and hashing helpers shared by the parsers. No library imports. */
import { createPrivateKey, hash } from 'node:crypto';

/** Upper bound on any certificate, key or OpenPGP key handed to a parser. */
export const MAX_MATERIAL_BYTES = 256 * 1024;

export interface PemBlock {
  label: string;
  der: Uint8Array;
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;
const BASE64_BODY = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Every PEM block in `text`. RFC 7468 section 2: text outside the blocks is ignored; the body
 * is strict base64 (section 3) without RFC 1421 headers. Throws a plain Error on a malformed
 * block (mismatched labels, bad base64, a BEGIN without END); callers map it to their code.
 */
export function decodePem(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  let rest = text;
  for (const m of text.matchAll(PEM_BLOCK)) {
    const [whole, label, body, endLabel] = m as unknown as [string, string, string, string];
    if (label !== endLabel) throw new Error(`PEM block "${label}" ends with "${endLabel}"`);
    const b64 = body.replace(/\s+/g, '');
    if (b64.length === 0 || b64.length % 4 !== 0 || !BASE64_BODY.test(b64)) {
      throw new Error(`PEM block "${label}" has a malformed base64 body`);
    }
    blocks.push({ label, der: new Uint8Array(Buffer.from(b64, 'base64')) });
    rest = rest.replace(whole, '');
  }
  if (/-----(BEGIN|END) /.test(rest)) throw new Error('truncated or unbalanced PEM block');
  return blocks;
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
