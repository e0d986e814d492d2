/**
 * Crafted OpenPGP transferable public keys, built packet by packet (RFC 4880 4.2, 5.5.2), for
 * the parameter bombs of issue 16 finding 1: any algorithm, any MPI sizes, any packet counts.
 * Deterministic (the MPIs are a fixed byte pattern), so no fixture file is needed: a real
 * RSA-16384 key would take gpg minutes to generate, and the refusal happens before any
 * signature is read, so the signature packets only need the right shape.
 */

/** A new-format packet (RFC 4880 4.2.2) with a 5-octet length. */
function packet(tag: number, body: Uint8Array): Uint8Array {
  const len = body.length;
  return new Uint8Array([0xc0 | tag, 0xff, (len >>> 24) & 0xff, (len >>> 16) & 0xff, (len >>> 8) & 0xff, len & 0xff, ...body]);
}

/** An MPI (RFC 4880 3.2) of exactly `bits` bits. */
function mpi(bits: number): number[] {
  const bytes = Math.ceil(bits / 8);
  const out = [(bits >> 8) & 0xff, bits & 0xff];
  for (let i = 0; i < bytes; i++) out.push(i === 0 ? 1 << ((bits - 1) % 8) : (i * 37 + 11) & 0xff);
  return out;
}

export interface CraftedKey {
  /** RFC 9580 9.1 public key algorithm ID (1 RSA, 17 DSA, 19 ECDSA, 22 EdDSA, ...). */
  algorithm: number;
  /** Bit sizes of the key's MPIs (RSA: n, e; DSA: p, q, g, y). */
  mpiBits?: number[];
  /** For the EC algorithms: the curve OID bytes, then one point MPI. */
  curveOid?: readonly number[];
  userIds?: number;
  subkeys?: number;
  /** Signatures per user ID (their bytes are a plausible header and junk MPIs). */
  signatures?: number;
}

export function craftPgpKey(k: CraftedKey): Uint8Array {
  const material = k.curveOid ? [k.curveOid.length, ...k.curveOid, ...mpi(263)] : (k.mpiBits ?? [2048, 17]).flatMap(mpi);
  const keyBody = new Uint8Array([4, 0x5f, 0x00, 0x00, 0x00, k.algorithm, ...material]);
  // A v4 signature (type 0x13 positive certification), hashed and unhashed areas empty, junk MPI.
  const sig = new Uint8Array([4, 0x13, k.algorithm, 8, 0, 0, 0, 0, 0xab, 0xcd, ...mpi(k.mpiBits?.[1] ?? 256), ...mpi(k.mpiBits?.[1] ?? 256)]);
  const parts = [packet(6, keyBody)];
  for (let u = 0; u < (k.userIds ?? 1); u++) {
    parts.push(packet(13, new TextEncoder().encode(`bomb ${u} <bomb@example.com>`)));
    for (let s = 0; s < (k.signatures ?? 1); s++) parts.push(packet(2, sig));
  }
  for (let s = 0; s < (k.subkeys ?? 0); s++) parts.push(packet(14, keyBody));
  return new Uint8Array(Buffer.concat(parts));
}

/** CRC-24 of RFC 4880 6.1. */
function crc24(data: Uint8Array): number {
  let crc = 0xb704ce;
  for (const b of data) {
    crc ^= b << 16;
    for (let i = 0; i < 8; i++) {
      crc <<= 1;
      if (crc & 0x1000000) crc ^= 0x1864cfb;
    }
  }
  return crc & 0xffffff;
}

/** ASCII armor (RFC 4880 6.2) of a public key block. */
export function armorPublicKey(binary: Uint8Array): string {
  const b64 = Buffer.from(binary).toString('base64').replace(/(.{64})/g, '$1\n').trimEnd();
  const crc = Buffer.from([(crc24(binary) >> 16) & 0xff, (crc24(binary) >> 8) & 0xff, crc24(binary) & 0xff]).toString('base64');
  return `-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n${b64}\n=${crc}\n-----END PGP PUBLIC KEY BLOCK-----\n`;
}

/** The review's bomb: DSA (17) with p and q of 12,288 bits, several self-signatures. */
export const DSA_BOMB: CraftedKey = { algorithm: 17, mpiBits: [12_288, 12_288, 12_288, 12_288], signatures: 4 };
/** RSA-16384: over the allow-list's 8192 bits. */
export const RSA_16384: CraftedKey = { algorithm: 1, mpiBits: [16_384, 17] };
