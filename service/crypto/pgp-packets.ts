/**
 * A first look at OpenPGP packets (RFC 4880 4.2 and 5.5.2, RFC 9580 5.5.2), before openpgp.js
 * does any work on them: the framing, the packet counts, and each primary key's and subkey's
 * algorithm and size against an allow-list (issue 16, finding 1). A DSA key with 12,288-bit
 * parameters took 7.7 s of pure-JS modular exponentiation per self-signature; this refuses it
 * in microseconds, before any signature is checked. Pure: bytes in, a verdict out.
 */
import { KeyshareError, Codes } from '../errors.js';
import { rsaBitsAllowed, unsupportedKey as unsupported } from './key-policy.js';

/** Caps on what one transferable public key may hold (a real key has a few of each). */
export const PGP_LIMITS = { packets: 256, userIds: 32, subkeys: 16, signatures: 128 } as const;

const TAG = { signature: 2, secretKey: 5, publicKey: 6, secretSubkey: 7, userId: 13, publicSubkey: 14, userAttribute: 17 } as const;

/** Curve OIDs (RFC 9580 9.2) by name, hex of the OID body. */
const CURVES: Record<string, string> = {
  '2a8648ce3d030107': 'P-256',
  '2b81040022': 'P-384',
  '2b81040023': 'P-521',
  '2b06010401da470f01': 'Ed25519',
  '2b060104019755010501': 'Curve25519',
};
/** The allow-list (key-policy.ts) in OpenPGP's terms: algorithm ID (RFC 9580 9.1) → the curves it may use (empty for RSA and the fixed-curve algorithms). */
const ALLOWED: Record<number, { name: string; curves?: string[] }> = {
  1: { name: 'RSA' },
  2: { name: 'RSA (encrypt only)' },
  3: { name: 'RSA (sign only)' },
  18: { name: 'ECDH', curves: ['P-256', 'P-384', 'P-521', 'Curve25519'] },
  19: { name: 'ECDSA', curves: ['P-256', 'P-384', 'P-521'] },
  22: { name: 'EdDSA', curves: ['Ed25519'] },
  25: { name: 'X25519' },
  27: { name: 'Ed25519' },
};
const REFUSED_NAMES: Record<number, string> = { 16: 'ElGamal', 17: 'DSA', 20: 'ElGamal', 26: 'X448', 28: 'Ed448' };

const bad = (message: string) => new KeyshareError(Codes.BAD_PGP_KEY, message);

export interface PgpPacket {
  tag: number;
  body: Uint8Array;
}

/** Splits binary OpenPGP data into packets (RFC 4880 4.2); refuses bad framing and partial lengths. */
export function splitPackets(data: Uint8Array, maxPackets: number = PGP_LIMITS.packets): PgpPacket[] {
  const packets: PgpPacket[] = [];
  let pos = 0;
  while (pos < data.length) {
    if (packets.length >= maxPackets) throw bad(`an OpenPGP key holds at most ${maxPackets} packets`);
    const first = data[pos]!;
    if ((first & 0x80) === 0) throw bad('not OpenPGP data: bad packet header');
    let tag: number;
    let len: number;
    let at = pos + 1;
    const byte = (i: number) => {
      if (i >= data.length) throw bad('truncated OpenPGP packet header');
      return data[i]!;
    };
    if (first & 0x40) {
      tag = first & 0x3f;
      const o1 = byte(at++);
      if (o1 < 192) len = o1;
      else if (o1 < 224) len = ((o1 - 192) << 8) + byte(at++) + 192;
      else if (o1 === 255) {
        len = byte(at) * 2 ** 24 + (byte(at + 1) << 16) + (byte(at + 2) << 8) + byte(at + 3);
        at += 4;
      } else throw bad('partial body lengths are not allowed in an OpenPGP key');
    } else {
      tag = (first >> 2) & 0x0f;
      const type = first & 0x03;
      if (type === 3) throw bad('indeterminate packet lengths are not allowed in an OpenPGP key');
      const n = [1, 2, 4][type]!;
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + byte(at + i);
      at += n;
    }
    if (at + len > data.length) throw bad('truncated OpenPGP packet');
    packets.push({ tag, body: data.subarray(at, at + len) });
    pos = at + len;
  }
  return packets;
}

/** The bit length of the MPI at `at` (RFC 4880 3.2): its 2-byte header. */
function mpiBits(body: Uint8Array, at: number): number {
  if (at + 2 > body.length) throw bad('truncated OpenPGP key material');
  return (body[at]! << 8) | body[at + 1]!;
}

/** Checks one public key or subkey packet's algorithm and size against the allow-list. */
export function checkKeyPacket(body: Uint8Array, what: 'key' | 'subkey'): void {
  const version = body[0];
  if (version !== 4 && version !== 5 && version !== 6) throw unsupported(`OpenPGP ${what} packet version ${version} is not supported`);
  // v4: version, 4-byte time, algorithm; v5/v6 add a 4-byte key material length.
  const algo = body[5];
  const material = version === 4 ? 6 : 10;
  if (algo === undefined || body.length < material) throw bad('truncated OpenPGP key packet');
  const allowed = ALLOWED[algo];
  if (!allowed) throw unsupported(`the OpenPGP ${what} uses ${REFUSED_NAMES[algo] ?? `algorithm ${algo}`}, which is refused`);
  if (algo <= 3) {
    const bits = mpiBits(body, material);
    if (!rsaBitsAllowed(bits)) throw unsupported(`the OpenPGP ${what} is RSA-${bits}`);
    return;
  }
  if (!allowed.curves) return;
  const oidLen = body[material];
  if (oidLen === undefined || oidLen === 0 || oidLen === 0xff || material + 1 + oidLen > body.length) throw bad('truncated OpenPGP curve OID');
  const oid = Buffer.from(body.subarray(material + 1, material + 1 + oidLen)).toString('hex');
  const curve = CURVES[oid];
  if (!curve || !allowed.curves.includes(curve)) throw unsupported(`the OpenPGP ${what} uses ${allowed.name} on ${curve ?? `curve OID ${oid}`}`);
}

/**
 * Refuses, before any signature check, a binary transferable public key that holds too many
 * packets, user IDs, subkeys or signatures, or a key or subkey outside the allow-list.
 */
export function screenPgpKey(data: Uint8Array): void {
  const packets = splitPackets(data);
  const count = (tag: number) => packets.filter((p) => p.tag === tag).length;
  if (count(TAG.userId) + count(TAG.userAttribute) > PGP_LIMITS.userIds) throw bad(`an OpenPGP key holds at most ${PGP_LIMITS.userIds} user IDs`);
  if (count(TAG.publicSubkey) + count(TAG.secretSubkey) > PGP_LIMITS.subkeys) throw bad(`an OpenPGP key holds at most ${PGP_LIMITS.subkeys} subkeys`);
  if (count(TAG.signature) > PGP_LIMITS.signatures) throw bad(`an OpenPGP key holds at most ${PGP_LIMITS.signatures} signatures`);
  for (const p of packets) {
    if (p.tag === TAG.publicKey) checkKeyPacket(p.body, 'key');
    else if (p.tag === TAG.publicSubkey) checkKeyPacket(p.body, 'subkey');
  }
}
