/** Guesses what kind of trust material some input is, without throwing. */
import { asText, decodePem, isDerSequence, isPrivateKeyDer, isPrivateKeyLabel } from './encoding.js';
import { parsePublicKey } from './public-key.js';
import { hasCertificateOutline, screenCertificateDer } from './x509-screen.js';
import { KeyshareError, Codes } from '../errors.js';

/**
 * `privateKey` is returned for private keys (PEM, PKCS#8 DER, OpenPGP secret keys) so that
 * callers can refuse them with a clear message instead of "unknown".
 */
export type MaterialKind = 'certificate' | 'publicKey' | 'pgp' | 'privateKey' | 'unknown';

const PGP_ARMOR = /-----BEGIN PGP (PUBLIC|PRIVATE) KEY BLOCK-----/;

export function detectMaterial(input: string | Uint8Array): MaterialKind {
  const text = asText(input);
  if (text !== null) return detectText(text);
  if (typeof input === 'string') return 'unknown';
  return detectBinary(input);
}

function detectText(text: string): MaterialKind {
  // RFC 4880 6.2 armor: checked first, since its body is not PEM base64 (it has a CRC line).
  const armor = PGP_ARMOR.exec(text);
  if (armor) return armor[1] === 'PUBLIC' ? 'pgp' : 'privateKey';
  let blocks;
  try {
    blocks = decodePem(text);
  } catch {
    // A truncated block still tells what was meant; the parser reports what is wrong.
    const label = /-----BEGIN ([A-Z0-9 ]+)-----/.exec(text)?.[1];
    return label ? kindOfLabel(label) : 'unknown';
  }
  if (blocks.some((b) => isPrivateKeyLabel(b.label))) return 'privateKey';
  return blocks.length > 0 ? kindOfLabel(blocks[0]!.label) : 'unknown';
}

function kindOfLabel(label: string): MaterialKind {
  if (isPrivateKeyLabel(label)) return 'privateKey';
  if (label === 'CERTIFICATE') return 'certificate';
  if (label === 'PUBLIC KEY' || label === 'RSA PUBLIC KEY') return 'publicKey';
  return 'unknown';
}

function detectBinary(bytes: Uint8Array): MaterialKind {
  if (isDerSequence(bytes)) {
    // Over the certificate caps (issue 16, finding 1) it is no key either: no parser sees it.
    if (!parses(() => screenCertificateDer(bytes))) return 'unknown';
    // Its outline, not a parse: the parse of an upload runs in the worker pool (untrusted.ts).
    if (hasCertificateOutline(bytes)) return 'certificate';
    if (isPrivateKeyDer(bytes)) return 'privateKey';
    if (parses(() => parsePublicKey(bytes))) return 'publicKey';
    return 'unknown';
  }
  return pgpPacketKind(bytes);
}

/** A parse that fails with UNSUPPORTED_KEY still identifies the kind of material. */
function parses(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch (e) {
    return e instanceof KeyshareError && e.code === Codes.UNSUPPORTED_KEY;
  }
}

/**
 * RFC 4880 4.2 packet header: bit 7 set; new format (bit 6) has the tag in bits 5..0, old
 * format in bits 5..2. A key starts with a Public-Key (6) or Secret-Key (5) packet whose
 * body starts with a version octet (5.5.2: 3, 4, 5 or 6).
 */
function pgpPacketKind(bytes: Uint8Array): MaterialKind {
  const b = bytes[0];
  if (b === undefined || (b & 0x80) === 0) return 'unknown';
  const newFormat = (b & 0x40) !== 0;
  const tag = newFormat ? b & 0x3f : (b >> 2) & 0x0f;
  let headerLen: number;
  if (newFormat) {
    const l = bytes[1] ?? 0;
    headerLen = l < 192 ? 2 : l < 224 ? 3 : l === 255 ? 6 : 0;
  } else {
    headerLen = [2, 3, 5, 0][b & 0x03]!;
  }
  if (headerLen === 0) return 'unknown';
  const version = bytes[headerLen];
  if (version === undefined || version < 3 || version > 6) return 'unknown';
  if (tag === 6) return 'pgp';
  if (tag === 5) return 'privateKey';
  return 'unknown';
}
