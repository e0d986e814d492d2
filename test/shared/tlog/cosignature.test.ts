/**
 * C2SP tlog-cosignature (cosignature/v1, Ed25519): key IDs, the signed message and the
 * timestamped signature, checked against the spec's text and its example
 * (github.com/C2SP/C2SP tlog-cosignature.md), and with node's Ed25519 directly.
 */
import { createHash, createPrivateKey, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Cosigner, cosignedBy, cosignedMessage, parseCosignerKey, SIG_COSIGNATURE_V1 } from '../../../shared/tlog/cosignature.js';
import { NoteError, NoteSigner, parseVerifierKey, signNote } from '../../../shared/tlog/note.js';

// The seed of the Go sumdb/note test key PeterNeumann (note_test.go), used here as a witness key.
const SEED = Buffer.from('AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz', 'base64').subarray(1);
const NAME = 'witness.example.com/w1';
const SKEY = `PRIVATE+KEY+${NAME}+`;
// The checkpoint of the spec's example.
const CHECKPOINT = 'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n';

function witness(): Cosigner {
  const pub = parseVerifierKey('PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW').publicKey;
  const id = createHash('sha256').update(NAME).update(Uint8Array.of(0x0a, 0x04)).update(pub).digest().subarray(0, 4).toString('hex');
  return Cosigner.fromPrivateKey(`${SKEY}${id}+${Buffer.concat([Uint8Array.of(0x04), SEED]).toString('base64')}`);
}

describe('cosignature/v1', () => {
  it('names the key by SHA-256(name || "\\n" || 0x04 || public key)[:4], in a vkey of type 0x04', () => {
    const w = witness();
    const vkey = w.verifierKey();
    expect(vkey).toMatch(/^witness\.example\.com\/w1\+[0-9a-f]{8}\+B[A-Za-z0-9+/]{43}$/); // base64(0x04 || key)
    const v = parseCosignerKey(vkey);
    const expected = createHash('sha256').update(`${NAME}\n`).update(Uint8Array.of(SIG_COSIGNATURE_V1)).update(w.publicKey).digest().readUInt32BE(0);
    expect(v.keyId).toBe(expected);
    expect(Cosigner.fromPrivateKey(w.privateKey()).verifierKey()).toBe(vkey);
    // A log key (type 0x01) is not a witness key, and the other way round.
    expect(() => parseCosignerKey('PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW')).toThrow(NoteError);
    expect(() => parseVerifierKey(vkey)).toThrow(NoteError);
  });

  it('signs "cosignature/v1\\ntime T\\n" + the checkpoint, as u64 timestamp || Ed25519 signature', () => {
    const line = witness().cosign(CHECKPOINT, 1679315147);
    expect(cosignedMessage(CHECKPOINT, 1679315147).toString()).toBe(`cosignature/v1\ntime 1679315147\n${CHECKPOINT}`);
    const m = /^— witness\.example\.com\/w1 (\S+)\n$/.exec(line)!;
    const raw = Buffer.from(m[1]!, 'base64');
    expect(raw.length).toBe(4 + 8 + 64);
    expect(raw.readUInt32BE(0)).toBe(parseCosignerKey(witness().verifierKey()).keyId);
    expect(raw.readBigUInt64BE(4)).toBe(1679315147n);
    // Ed25519 is deterministic: node's own signature over the spec's message is the same.
    const key = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), SEED]), format: 'der', type: 'pkcs8' });
    expect(raw.subarray(12).equals(sign(null, Buffer.from(`cosignature/v1\ntime 1679315147\n${CHECKPOINT}`), key))).toBe(true);
  });

  it("reads the spec example's timestamp (1679315147) from its cosignature line", () => {
    const raw = Buffer.from('jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==', 'base64');
    expect(raw.length).toBe(76);
    expect(raw.readBigUInt64BE(4)).toBe(1679315147n);
  });

  it('counts the valid cosignatures of known witnesses on a signed checkpoint, and refuses a forged one', () => {
    const log = NoteSigner.generate('example.com/behind-the-sofa');
    const w1 = witness();
    const w2 = Cosigner.generate('w2.example');
    const stranger = Cosigner.generate('w3.example');
    const note = signNote(CHECKPOINT, [log]) + w1.cosign(CHECKPOINT, 1700000000) + stranger.cosign(CHECKPOINT, 1700000000);
    const known = [parseCosignerKey(w1.verifierKey()), parseCosignerKey(w2.verifierKey())];
    expect(cosignedBy(note, log.verifier(), known)).toEqual([NAME]);
    // A cosignature on another checkpoint, or with its timestamp changed, does not verify.
    const other = CHECKPOINT.replace('20852163', '20852164');
    expect(() => cosignedBy(signNote(CHECKPOINT, [log]) + w1.cosign(other, 1700000000), log.verifier(), known)).toThrow(NoteError);
    const line = w1.cosign(CHECKPOINT, 1700000000);
    const raw = Buffer.from(line.split(' ')[2]!, 'base64');
    raw.writeBigUInt64BE(1700000001n, 4);
    expect(() => cosignedBy(signNote(CHECKPOINT, [log]) + `— ${NAME} ${raw.toString('base64')}\n`, log.verifier(), known)).toThrow(NoteError);
    // A timestamp above 2^63 - 1 is refused even when signed.
    expect(parseCosignerKey(w1.verifierKey()).verify(Buffer.from(CHECKPOINT), Buffer.concat([Buffer.from('8000000000000000', 'hex'), Buffer.alloc(64)]))).toBe(false);
  });
});
