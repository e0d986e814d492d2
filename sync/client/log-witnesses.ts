/**
 * `fetch --witness FILE ... --witness-threshold N` (issue 23): a log checkpoint is accepted only
 * with valid cosignatures (C2SP tlog-cosignature, cosignature/v1) by at least N of the witness
 * keys given, so that a log that shows this client a history no witness saw is refused
 * (NOT_WITNESSED), even on the client's first contact.
 */
import { KeyshareError, SharedCodes as Codes } from '../../shared/errors.js';
import { cosignedBy, parseCosignerKey, type CosignatureVerifier } from '../../shared/tlog/cosignature.js';
import { NoteError, type NoteVerifier } from '../../shared/tlog/note.js';
import { FetchCodes } from './errors.js';

export interface WitnessPolicy {
  witnesses: CosignatureVerifier[];
  threshold: number;
}

/** The policy of the witness key texts given (each `name+hash+base64(0x04||pub)`); threshold: all of them by default. */
export function witnessPolicy(keys: { text: string; where: string }[], threshold?: number): WitnessPolicy | null {
  if (keys.length === 0) {
    if (threshold !== undefined) throw new KeyshareError(Codes.CONFIG_INVALID, '--witness-threshold needs --witness');
    return null;
  }
  const witnesses = keys.map(({ text, where }) => {
    try {
      return parseCosignerKey(text);
    } catch (e) {
      if (e instanceof NoteError) throw new KeyshareError(Codes.CONFIG_INVALID, `${where}: ${e.message} (a witness's cosignature/v1 verifier key, as it serves at /witness/key)`);
      throw e;
    }
  });
  if (new Set(witnesses.map((w) => `${w.name}/${w.keyId}`)).size !== witnesses.length) throw new KeyshareError(Codes.CONFIG_INVALID, 'the same witness key is given twice');
  const n = threshold ?? witnesses.length;
  if (!Number.isSafeInteger(n) || n < 1 || n > witnesses.length) throw new KeyshareError(Codes.CONFIG_INVALID, `--witness-threshold must be 1 to ${witnesses.length} (the witnesses given)`);
  return { witnesses, threshold: n };
}

/** The names of the witnesses that cosigned `note`; NOT_WITNESSED below the threshold or with a bad cosignature. */
export function checkCosignatures(note: string, logKey: NoteVerifier, policy: WitnessPolicy): string[] {
  let names: string[];
  try {
    names = cosignedBy(note, logKey, policy.witnesses);
  } catch (e) {
    throw new KeyshareError(FetchCodes.NOT_WITNESSED, `the log checkpoint's cosignatures do not verify: ${(e as Error).message}`);
  }
  if (names.length < policy.threshold) {
    throw new KeyshareError(
      FetchCodes.NOT_WITNESSED,
      `the log checkpoint is cosigned by ${names.length} of the witnesses given (${names.join(', ') || 'none'}), and ${policy.threshold} are required: a witness has not seen this checkpoint yet (retry), or the log shows this client a history the witnesses did not see`,
    );
  }
  return names;
}
