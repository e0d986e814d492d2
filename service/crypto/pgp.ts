/** OpenPGP public keys (RFC 4880 / RFC 9580 transferable public keys) via openpgp.js. */
import * as openpgp from 'openpgp';
import { KeyshareError, Codes } from '../errors.js';
import { MAX_MATERIAL_BYTES, NEVER_UPLOAD_PRIVATE, asText } from './encoding.js';
import { screenPgpKey } from './pgp-packets.js';
import { pgpFactsInWorker } from './sandbox.js';

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

/** The binary packets of armored or binary input, without any verification (for the allow-list). */
async function packetsOf(text: string | null, input: string | Uint8Array): Promise<Uint8Array> {
  if (text === null) {
    if (typeof input === 'string') throw bad('not an armored OpenPGP key');
    return input;
  }
  try {
    const { data } = await openpgp.unarmor(text);
    return data as Uint8Array;
  } catch (e) {
    throw bad('not a valid OpenPGP public key', e);
  }
}

/**
 * Parses exactly one OpenPGP transferable public key, armored or binary. Issue 16, finding 1:
 * the packets are screened against the allow-list and caps first (pgp-packets.ts), then parsed
 * and verified in a worker with a time limit (sandbox.ts).
 */
export async function parsePgpPublicKey(input: string | Uint8Array): Promise<ParsedPgpKey> {
  const size = typeof input === 'string' ? Buffer.byteLength(input) : input.length;
  if (size > MAX_MATERIAL_BYTES) throw bad(`OpenPGP key is larger than ${MAX_MATERIAL_BYTES} bytes`);
  const text = asText(input);
  if (text !== null && text.includes('-----BEGIN PGP PRIVATE KEY BLOCK-----')) throw bad(NEVER_UPLOAD_PRIVATE);
  const packets = await packetsOf(text, input);
  screenPgpKey(packets);
  const key = await pgpFactsInWorker(text !== null ? { armored: text } : { binary: new Uint8Array(packets) });
  if (key.private) throw bad(NEVER_UPLOAD_PRIVATE);
  if (key.keys !== 1) throw bad(`expected exactly one OpenPGP public key, found ${key.keys}`);
  // The contract's ID is the 160-bit v4 fingerprint (RFC 4880 12.2); v5/v6 keys have none.
  if (key.version !== 4) {
    throw new KeyshareError(Codes.UNSUPPORTED_KEY, `OpenPGP v${key.version} keys are not supported: a v4 key is required`);
  }
  const fingerprint = key.fingerprint;
  if (!/^[0-9a-f]{40}$/.test(fingerprint)) throw bad('unexpected OpenPGP fingerprint');
  // RFC 4880 11.1: a transferable public key carries self-signed user IDs. No valid
  // self-signature means no expiry can be read either: openpgp.js returns null then.
  if (key.expiry === null) throw bad('the OpenPGP key has no valid self-signature');
  return {
    id: `pgp:${fingerprint}`,
    fingerprint,
    armored: key.armored,
    binary: key.binary,
    userIds: key.userIds,
    created: new Date(key.created),
    expires: key.expiry === 'never' ? null : new Date(key.expiry),
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
