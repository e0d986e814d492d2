/**
 * C2SP tlog-cosignature, Ed25519 `cosignature/v1`: a witness's timestamped signature line on a
 * checkpoint note. Pure apart from the signing itself.
 *
 *   key ID     SHA-256(name || "\n" || 0x04 || 32-byte public key)[:4]
 *   signature  u64 big-endian POSIX timestamp || Ed25519 signature over
 *              "cosignature/v1\n" "time <timestamp>\n" <checkpoint note text>
 *
 * Witness keys are signed-note verifier keys of signature type 0x04 (`name+hash+base64(0x04||pub)`);
 * a witness's own key file is the same with `PRIVATE+KEY+` and the seed (as Go note's signer keys).
 */
import { randomBytes, sign as edSign, verify as edVerify, type KeyObject } from 'node:crypto';
import {
  ed25519PrivateKey,
  ed25519PublicKey,
  ed25519RawPublicKey,
  ed25519Seed,
  formatKeyText,
  isKeyName,
  keyId,
  NoteError,
  openNote,
  parseKeyText,
  signatureLine,
  type NoteVerifier,
} from './note.js';

/** signed-note "Signature types": timestamped Ed25519 cosignature/v1. */
export const SIG_COSIGNATURE_V1 = 0x04;
/** tlog-cosignature: the timestamp MUST NOT exceed 2^63 - 1. */
const MAX_TIME = 2n ** 63n - 1n;

/** The message a cosignature/v1 signs. */
export const cosignedMessage = (text: string, time: number) => Buffer.from(`cosignature/v1\ntime ${time}\n${text}`, 'utf8');

export interface CosignatureVerifier extends NoteVerifier {
  /** The witness key, `name+hash+base64(0x04||pub)`. */
  vkey: string;
}

/** A verifier of one witness's cosignatures, from its verifier key (signature type 0x04). */
export function parseCosignerKey(vkey: string): CosignatureVerifier {
  const { name, key: publicKey } = parseKeyText(vkey, SIG_COSIGNATURE_V1, false);
  const key = ed25519PublicKey(publicKey);
  return {
    name,
    keyId: keyId(name, SIG_COSIGNATURE_V1, publicKey),
    vkey: vkey.trim(),
    verify(text, sig) {
      if (sig.length !== 72) return false;
      const time = Buffer.from(sig).readBigUInt64BE(0);
      return time <= MAX_TIME && edVerify(null, cosignedMessage(Buffer.from(text).toString('utf8'), Number(time)), key, sig.subarray(8));
    },
  };
}

/** A witness's signing key. */
export class Cosigner {
  readonly publicKey: Uint8Array;

  private constructor(
    readonly name: string,
    private readonly key: KeyObject,
  ) {
    if (!isKeyName(name)) throw new NoteError(`${JSON.stringify(name)} is not a key name (no spaces or +)`);
    this.publicKey = ed25519RawPublicKey(key);
  }

  /** A new key; its name may be derived from its public key. */
  static generate(name: string | ((publicKey: Uint8Array) => string)): Cosigner {
    const key = ed25519PrivateKey(randomBytes(32));
    return new Cosigner(typeof name === 'string' ? name : name(ed25519RawPublicKey(key)), key);
  }

  /** `PRIVATE+KEY+name+hash+base64(0x04||seed)`. */
  static fromPrivateKey(text: string): Cosigner {
    const { name, key } = parseKeyText(text, SIG_COSIGNATURE_V1, true);
    return new Cosigner(name, ed25519PrivateKey(key));
  }

  privateKey(): string {
    return formatKeyText(this.name, SIG_COSIGNATURE_V1, this.publicKey, ed25519Seed(this.key));
  }

  verifierKey(): string {
    return formatKeyText(this.name, SIG_COSIGNATURE_V1, this.publicKey);
  }

  /** The cosignature line on a checkpoint's note text, made at `time` (POSIX seconds). */
  cosign(text: string, time: number): string {
    const id = Buffer.alloc(12);
    id.writeUInt32BE(keyId(this.name, SIG_COSIGNATURE_V1, this.publicKey), 0);
    id.writeBigUInt64BE(BigInt(time), 4);
    return signatureLine(this.name, Buffer.concat([id, edSign(null, cosignedMessage(text, time), this.key)]));
  }
}

/**
 * The witnesses among `witnesses` whose valid cosignature the signed checkpoint `note` carries
 * (`logKey` must have signed it too). A present but invalid cosignature by a known witness is
 * refused by openNote, as signed-note requires of any known key.
 */
export function cosignedBy(note: string, logKey: NoteVerifier, witnesses: NoteVerifier[]): string[] {
  const { verified } = openNote(note, [logKey, ...witnesses]);
  return witnesses.filter((w) => verified.some((s) => s.name === w.name && s.keyId === w.keyId)).map((w) => w.name);
}
