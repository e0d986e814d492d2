/** OpenPGP public keys (RFC 4880 / RFC 9580 transferable public keys) via openpgp.js. */
import * as openpgp from 'openpgp';
import { KeyshareError, Codes } from '../errors.js';
import { MAX_MATERIAL_BYTES, NEVER_UPLOAD_PRIVATE, asText } from './encoding.js';

export interface ParsedPgpKey {
  /** `pgp:<40-hex v4 fingerprint>` (CONTRACT "Anchor IDs"). */
  id: string;
  /** 40 lower-case hex characters (RFC 4880 12.2). */
  fingerprint: string;
  /** The public key re-armored by openpgp.js. */
  armored: string;
  /** The binary transferable public key. */
  binary: Uint8Array;
  userIds: string[];
  created: Date;
  /** null when the key does not expire. */
  expires: Date | null;
}

function bad(message: string, cause?: unknown): KeyshareError {
  return new KeyshareError(Codes.BAD_PGP_KEY, message, { cause });
}

async function readOne(input: string | Uint8Array): Promise<openpgp.Key> {
  const size = typeof input === 'string' ? Buffer.byteLength(input) : input.length;
  if (size > MAX_MATERIAL_BYTES) throw bad(`OpenPGP key is larger than ${MAX_MATERIAL_BYTES} bytes`);
  const text = asText(input);
  if (text !== null && text.includes('-----BEGIN PGP PRIVATE KEY BLOCK-----')) throw bad(NEVER_UPLOAD_PRIVATE);
  let keys: openpgp.Key[];
  try {
    if (text !== null) keys = await openpgp.readKeys({ armoredKeys: text });
    else if (typeof input === 'string') throw new Error('not an armored OpenPGP key');
    else keys = await openpgp.readKeys({ binaryKeys: input });
  } catch (e) {
    throw bad('not a valid OpenPGP public key', e);
  }
  if (keys.some((k) => k.isPrivate())) throw bad(NEVER_UPLOAD_PRIVATE);
  if (keys.length !== 1) throw bad(`expected exactly one OpenPGP public key, found ${keys.length}`);
  return keys[0]!;
}

/** Parses exactly one OpenPGP transferable public key, armored or binary. */
export async function parsePgpPublicKey(input: string | Uint8Array): Promise<ParsedPgpKey> {
  const key = await readOne(input);
  // The contract's ID is the 160-bit v4 fingerprint (RFC 4880 12.2); v5/v6 keys have none.
  const version = key.keyPacket.version;
  if (version !== 4) {
    throw new KeyshareError(Codes.UNSUPPORTED_KEY, `OpenPGP v${version} keys are not supported: a v4 key is required`);
  }
  const fingerprint = key.getFingerprint().toLowerCase();
  if (!/^[0-9a-f]{40}$/.test(fingerprint)) throw bad('unexpected OpenPGP fingerprint');
  // RFC 4880 11.1: a transferable public key carries self-signed user IDs. No valid
  // self-signature means no expiry can be read either: openpgp.js returns null then.
  const expiry = await key.getExpirationTime().catch(() => null);
  if (expiry === null) throw bad('the OpenPGP key has no valid self-signature');
  const userIds = key.getUserIDs();
  return {
    id: `pgp:${fingerprint}`,
    fingerprint,
    armored: key.armor(),
    binary: key.write(),
    userIds,
    created: key.getCreationTime(),
    expires: expiry instanceof Date ? expiry : null,
  };
}

/**
 * One binary keyring: the binary transferable public keys one after the other (RFC 4880
 * 11.1), which is what GnuPG reads as a keyring file (containers-policy.json `signedBy`
 * GPGKeys). A key given twice is written once.
 */
export async function pgpKeyring(armoredKeys: string[]): Promise<Uint8Array> {
  const seen = new Set<string>();
  const parts: Uint8Array[] = [];
  for (const armored of armoredKeys) {
    const key = await parsePgpPublicKey(armored);
    if (seen.has(key.fingerprint)) continue;
    seen.add(key.fingerprint);
    parts.push(key.binary);
  }
  return new Uint8Array(Buffer.concat(parts));
}
