/**
 * C2SP signed-note with Ed25519 keys (signature type 0x01), in the key encodings of Go's
 * golang.org/x/mod/sumdb/note (verifier key `name+hash+base64(0x01||pub)`, signer key
 * `PRIVATE+KEY+name+hash+base64(0x01||seed)`). Pure apart from the signing itself.
 *
 *   text ending in "\n"
 *   (blank line)
 *   — <key name> base64(4-byte key ID || signature)
 */
import { createPrivateKey, createPublicKey, randomBytes, sign as edSign, verify as edVerify, type KeyObject } from 'node:crypto';
import { sha256Bytes } from '../hash.js';

/** signed-note "Signature types". */
export const SIG_ED25519 = 0x01;
/** Verifiers MUST accept at least 16 signatures; more than this is refused as malformed. */
const MAX_SIGNATURES = 100;

export class NoteError extends Error {
  override name = 'NoteError';
}

/** signed-note: key ID = SHA-256(key name || 0x0A || signature type || public key)[:4], big-endian. */
export function keyId(name: string, type: number, publicKey: Uint8Array): number {
  return sha256Bytes(name, Uint8Array.of(0x0a, type), publicKey).readUInt32BE(0);
}

/** signed-note: key names are non-empty, with no Unicode spaces and no `+`. */
export const isKeyName = (name: string) => name.length > 0 && !/[\s+]/u.test(name);

const hex8 = (n: number) => n.toString(16).padStart(8, '0');
const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');

/** A verifier for one name and key: Ed25519 unless `type` says otherwise (witness cosignatures, 0x04). */
export interface NoteVerifier {
  name: string;
  keyId: number;
  /** Whether `sig` (without the key ID) signs `text`. */
  verify(text: Uint8Array, sig: Uint8Array): boolean;
}

/** An Ed25519 private key from its 32-byte seed. */
export function ed25519PrivateKey(seed: Uint8Array): KeyObject {
  if (seed.length !== 32) throw new NoteError('an Ed25519 private key is a 32-byte seed');
  return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, seed]), format: 'der', type: 'pkcs8' });
}

/** The raw 32-byte public key of an Ed25519 private key. */
export function ed25519RawPublicKey(key: KeyObject): Uint8Array {
  const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
  return new Uint8Array(spki.subarray(spki.length - 32));
}

/** The 32-byte seed of an Ed25519 private key. */
export function ed25519Seed(key: KeyObject): Uint8Array {
  const der = key.export({ type: 'pkcs8', format: 'der' });
  return new Uint8Array(der.subarray(der.length - 32));
}

/**
 * The parts of a key text `[PRIVATE+KEY+]name+hash+base64(type||key)` (signed-note "Verifier
 * keys", Go note's signer key) of one signature type; the hash must match the name and key.
 */
export function parseKeyText(text: string, type: number, secret: boolean): { name: string; key: Uint8Array } {
  const m = new RegExp(`^${secret ? 'PRIVATE\\+KEY\\+' : ''}([^+\\s]+)\\+([0-9a-f]{8})\\+([A-Za-z0-9+/]+={0,2})$`).exec(text.trim());
  const raw = m ? Buffer.from(m[3]!, 'base64') : null;
  if (!m || !raw || raw.toString('base64') !== m[3] || raw.length !== 33 || raw[0] !== type) {
    throw new NoteError(`not a ${secret ? 'signer' : 'verifier'} key of signature type 0x${type.toString(16).padStart(2, '0')} (${secret ? 'PRIVATE+KEY+' : ''}name+hash+base64 key)`);
  }
  if (!isKeyName(m[1]!)) throw new NoteError(`${JSON.stringify(m[1])} is not a key name`);
  const key = new Uint8Array(raw.subarray(1));
  // The hash covers the public key: for a signer key, derive it from the seed.
  const pub = secret ? ed25519RawPublicKey(ed25519PrivateKey(key)) : key;
  if (hex8(keyId(m[1]!, type, pub)) !== m[2]) throw new NoteError('the key hash does not match its name and key');
  return { name: m[1]!, key };
}

/** `[PRIVATE+KEY+]name+hash+base64(type||key)`. */
export function formatKeyText(name: string, type: number, publicKey: Uint8Array, secret?: Uint8Array): string {
  return `${secret ? 'PRIVATE+KEY+' : ''}${name}+${hex8(keyId(name, type, publicKey))}+${Buffer.concat([Uint8Array.of(type), secret ?? publicKey]).toString('base64')}`;
}

export function ed25519PublicKey(raw: Uint8Array): KeyObject {
  if (raw.length !== 32) throw new NoteError('an Ed25519 public key is 32 bytes');
  // As a JWK: Node imports the raw key directly, where a DER SPKI goes through OpenSSL 3's
  // decoder search (a few times slower; issue 25, a fetch's start).
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') }, format: 'jwk' });
}

export function ed25519Verifier(name: string, publicKey: Uint8Array): NoteVerifier {
  if (publicKey.length !== 32) throw new NoteError('an Ed25519 public key is 32 bytes');
  // Imported on first use: a fetch whose timestamp is unchanged checks no note (issue 25).
  let key: KeyObject | undefined;
  return { name, keyId: keyId(name, SIG_ED25519, publicKey), verify: (text, sig) => sig.length === 64 && edVerify(null, text, (key ??= ed25519PublicKey(publicKey)), sig) };
}

/** A verifier key `name+hash+base64(0x01||pub)` (Go note.NewVerifier); the hash must match. */
export function parseVerifierKey(vkey: string): NoteVerifier & { publicKey: Uint8Array; vkey: string } {
  const { name, key: publicKey } = parseKeyText(vkey, SIG_ED25519, false);
  return { ...ed25519Verifier(name, publicKey), publicKey, vkey: vkey.trim() };
}

export const formatVerifierKey = (name: string, publicKey: Uint8Array) => formatKeyText(name, SIG_ED25519, publicKey);

/** An Ed25519 signer with its name (Go note.NewSigner's key format). */
export class NoteSigner {
  readonly keyId: number;
  readonly publicKey: Uint8Array;
  private readonly key: KeyObject;

  private constructor(
    readonly name: string,
    seed: Uint8Array,
  ) {
    if (!isKeyName(name)) throw new NoteError(`${JSON.stringify(name)} is not a key name (no spaces or +)`);
    this.key = ed25519PrivateKey(seed);
    this.publicKey = ed25519RawPublicKey(this.key);
    this.keyId = keyId(name, SIG_ED25519, this.publicKey);
  }

  static generate(name: string): NoteSigner {
    return new NoteSigner(name, randomBytes(32));
  }

  /** `PRIVATE+KEY+name+hash+base64(0x01||seed)`; the hash must match. */
  static fromPrivateKey(skey: string): NoteSigner {
    const { name, key } = parseKeyText(skey, SIG_ED25519, true);
    return new NoteSigner(name, key);
  }

  privateKey(): string {
    return formatKeyText(this.name, SIG_ED25519, this.publicKey, ed25519Seed(this.key));
  }

  verifierKey(): string {
    return formatVerifierKey(this.name, this.publicKey);
  }

  verifier(): NoteVerifier {
    return ed25519Verifier(this.name, this.publicKey);
  }

  /** The signature line for `text`: `— name base64(keyID || sig)\n`. */
  signatureLine(text: string): string {
    const id = Buffer.alloc(4);
    id.writeUInt32BE(this.keyId);
    return signatureLine(this.name, Buffer.concat([id, edSign(null, Buffer.from(text, 'utf8'), this.key)]));
  }
}

export const signatureLine = (name: string, idAndSig: Uint8Array) => `\u2014 ${name} ${Buffer.from(idAndSig).toString('base64')}\n`;

/** signed-note "Format": the text ends in a newline; no control characters but newline. */
function checkText(text: string): void {
  // eslint-disable-next-line no-control-regex
  if (!text.endsWith('\n') || /[\u0000-\u0009\u000b-\u001f]/.test(text)) throw new NoteError('malformed note');
}

/** The signed note: `text`, a blank line, and one signature line per signer. */
export function signNote(text: string, signers: NoteSigner[]): string {
  checkText(text);
  return `${text}\n${signers.map((s) => s.signatureLine(text)).join('')}`;
}

export interface Signature {
  name: string;
  keyId: number;
  /** The base64 of key ID and signature, as in the note. */
  base64: string;
}

export interface OpenedNote {
  text: string;
  /** Signatures by known keys, all verified. */
  verified: Signature[];
  /** Signatures by unknown keys (ignored, as signed-note requires). */
  unverified: Signature[];
}

/**
 * Parses a signed note and verifies every signature by a known key (name and key ID). A known
 * key's bad signature rejects the whole note; no verified signature at all rejects it too.
 */
export function openNote(note: string, verifiers: NoteVerifier[]): OpenedNote {
  checkText(note);
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw new NoteError('malformed note');
  const text = note.slice(0, split + 1);
  const lines = note.slice(split + 2).split('\n');
  if (lines.pop() !== '' || lines.length === 0 || lines.length > MAX_SIGNATURES) throw new NoteError('malformed note');
  const verified: Signature[] = [];
  const unverified: Signature[] = [];
  const body = Buffer.from(text, 'utf8');
  for (const line of lines) {
    const m = /^\u2014 (\S+) ([A-Za-z0-9+/]+={0,2})$/.exec(line);
    const raw = m ? Buffer.from(m[2]!, 'base64') : null;
    if (!m || !raw || raw.length < 5 || raw.toString('base64') !== m[2] || !isKeyName(m[1]!)) throw new NoteError('malformed note');
    const sig: Signature = { name: m[1]!, keyId: raw.readUInt32BE(0), base64: m[2]! };
    const known = verifiers.filter((v) => v.name === sig.name && v.keyId === sig.keyId);
    if (known.length === 0) {
      unverified.push(sig);
      continue;
    }
    if (!known[0]!.verify(body, raw.subarray(4))) throw new NoteError(`invalid signature for key ${sig.name}+${hex8(sig.keyId)}`);
    if (!verified.some((s) => s.name === sig.name && s.keyId === sig.keyId)) verified.push(sig);
  }
  if (verified.length === 0) throw new NoteError('note has no verifiable signatures');
  return { text, verified, unverified };
}
