import { describe, expect, it } from 'vitest';
import { NoteError, NoteSigner, openNote, parseVerifierKey, signNote } from '../../../shared/tlog/note.js';
import { formatCheckpoint, parseCheckpoint } from '../../../shared/tlog/checkpoint.js';
import { decodeBundle, encodeBundle, encodeTileIndex, parseTilePath, tilePath } from '../../../shared/tlog/tiles.js';
import { formatEntry, parseEntry } from '../../../shared/tlog/leaf.js';

// golang.org/x/mod/sumdb/note note_test.go (TestSign, TestOpen).
const SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const ENOCH = 'EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop';
const TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PETER_SIG = '— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n';
const ENOCH_SIG = '— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n';

describe('signed-note (Go sumdb/note test vectors)', () => {
  it('signs the test text exactly as Go does', () => {
    const signer = NoteSigner.fromPrivateKey(SKEY);
    expect(signer.verifierKey()).toBe(VKEY);
    expect(signer.privateKey()).toBe(SKEY);
    expect(signNote(TEXT, [signer])).toBe(`${TEXT}\n${PETER_SIG}`);
  });

  it('verifies known keys, ignores unknown ones, and refuses a note with none verified', () => {
    const peter = parseVerifierKey(VKEY);
    const enoch = parseVerifierKey(ENOCH);
    const opened = openNote(`${TEXT}\n${PETER_SIG}${ENOCH_SIG}`, [peter]);
    expect(opened.text).toBe(TEXT);
    expect(opened.verified.map((s) => s.name)).toEqual(['PeterNeumann']);
    expect(opened.unverified.map((s) => s.name)).toEqual(['EnochRoot']);
    expect(openNote(`${TEXT}\n${PETER_SIG}${ENOCH_SIG}`, [peter, enoch]).verified).toHaveLength(2);
    expect(() => openNote(`${TEXT}\n${PETER_SIG}`, [enoch])).toThrow('note has no verifiable signatures');
  });

  it('refuses a bad signature by a known key and malformed notes', () => {
    const peter = parseVerifierKey(VKEY);
    expect(() => openNote(`${TEXT}\n${PETER_SIG.slice(0, 60)}ABCD${PETER_SIG.slice(60)}`, [peter])).toThrow('invalid signature for key PeterNeumann+c74f20a3');
    for (const bad of [TEXT, `${TEXT}\n`, `${TEXT}\n${PETER_SIG.slice(0, -1)}`, `\u0001${TEXT}\n${PETER_SIG}`, `${TEXT}\n${PETER_SIG}Unexpected line.\n`]) {
      expect(() => openNote(bad, [peter])).toThrow(NoteError);
    }
  });

  it('refuses mangled verifier and signer keys', () => {
    expect(() => parseVerifierKey('PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==')).toThrow(NoteError);
    expect(() => parseVerifierKey('PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW')).toThrow(NoteError);
    expect(() => parseVerifierKey(VKEY.replace('c74f20a3', 'c74f20a4'))).toThrow(NoteError);
    expect(() => NoteSigner.fromPrivateKey(SKEY.replace('Peter', 'Petra'))).toThrow(NoteError);
  });
});

describe('tlog-checkpoint', () => {
  it('round-trips the spec example and refuses malformed sizes and hashes', () => {
    const text = 'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n';
    const c = parseCheckpoint(text);
    expect(c).toMatchObject({ origin: 'example.com/behind-the-sofa', size: 20852163, extensions: [] });
    expect(formatCheckpoint(c)).toBe(text);
    expect(() => parseCheckpoint(text.replace('20852163', '020852163'))).toThrow();
    expect(() => parseCheckpoint(text.replace('CsUY', 'CsU'))).toThrow();
    expect(() => parseCheckpoint(text.slice(0, -1))).toThrow();
  });
});

describe('tlog-tiles paths and entry bundles', () => {
  it('encodes the spec example index and partial widths, and parses only canonical paths', () => {
    expect(encodeTileIndex(1234067)).toBe('x001/x234/067');
    expect(tilePath({ level: 0, index: 1234067, width: 256 })).toBe('tile/0/x001/x234/067');
    expect(tilePath({ level: 'entries', index: 1234067, width: 8 })).toBe('tile/entries/x001/x234/067.p/8');
    expect(parseTilePath('tile/0/x001/x234/067')).toEqual({ level: 0, index: 1234067, width: 256 });
    expect(parseTilePath('tile/entries/x001/x234/067.p/8')).toEqual({ level: 'entries', index: 1234067, width: 8 });
    expect(parseTilePath('tile/2/000.p/1')).toEqual({ level: 2, index: 0, width: 1 });
    for (const bad of ['tile/00/000', 'tile/64/000', 'tile/0/1', 'tile/0/x000/001', 'tile/0/001.p/256', 'tile/0/001.p/07', 'tile/0/001/x002', 'tile/entries', 'tiles/0/000']) {
      expect(parseTilePath(bad)).toBeNull();
    }
  });

  it('frames entries with big-endian uint16 lengths', () => {
    const b = encodeBundle([Buffer.from('ab'), Buffer.alloc(0), Buffer.alloc(300, 1)]);
    expect(Buffer.from(b.subarray(0, 4)).toString('hex')).toBe('00026162');
    expect(decodeBundle(b, 3).map((e) => e.length)).toEqual([2, 0, 300]);
    expect(() => decodeBundle(b, 2)).toThrow();
    expect(() => decodeBundle(b.subarray(0, b.length - 1), 3)).toThrow();
  });
});

describe('log entries', () => {
  it('round-trip in their one canonical form', () => {
    const e = { timestamp: { version: 3, sha256: 'a'.repeat(64) }, snapshot: { version: 2, sha256: 'b'.repeat(64) }, time: '2026-12-07T05:00:00Z', audit: { seq: 4, hash: 'c'.repeat(64) } };
    expect(parseEntry(formatEntry(e))).toEqual(e);
    expect(parseEntry(formatEntry({ ...e, audit: null })).audit).toBeNull();
    expect(() => parseEntry(Buffer.from(Buffer.from(formatEntry(e)).toString().replace('time 2026', 'time  2026')))).toThrow();
  });
});
