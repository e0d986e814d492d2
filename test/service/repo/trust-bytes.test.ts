/**
 * TrustBytesWriter (service/repo/trust-bytes.ts) writes many documents into a reused buffer and
 * slices of an arena (bench B9). Each document's digest must be that of its unstamped text, and
 * its bytes serializeJson(stampTrust(...)), whatever came before it: documents of every size
 * (larger than the scratch buffer and the arena's chunk) and with non-ASCII text.
 */
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../../service/crypto/encoding.js';
import { serializeJson, stampTrust, type TrustContent } from '../../../service/domain/trust.js';
import { TrustBytesWriter } from '../../../service/repo/trust-bytes.js';
import { TRUST_MEDIA_TYPE } from '../../../service/domain/types.js';

const content = (i: number, size: number): TrustContent => ({
  mediaType: TRUST_MEDIA_TYPE,
  scope: i % 3 === 0 ? `bücher-${i}.example/ü` : `r${i}.example`,
  level: 'strict',
  inherit: true,
  anchors: [{ id: `sha256:${i}`, name: i % 2 ? 'clé 🔑' : 'k', type: 'publicKey', publicKey: 'é'.repeat(size), definedAt: `r${i}.example` }],
  revoked: { certificates: [], keys: [], signatures: [] },
  crls: [],
});

describe('TrustBytesWriter', () => {
  it('digests the unstamped text and stamps it, document after document', () => {
    const writer = new TrustBytesWriter();
    const sizes = [0, 10, 5000, 40_000, 3, 70_000, 100, 20_000, 20_000, 20_000, 1];
    const out: [Buffer, string][] = [];
    for (const [i, size] of sizes.entries()) {
      const c = content(i, size);
      const text = serializeJson(c);
      const scopeLine = `  "scope": ${JSON.stringify(c.scope)},\n`;
      const headEnd = text.indexOf(scopeLine) + scopeLine.length;
      expect(writer.digest(text.slice(0, headEnd), text.slice(headEnd))).toBe(sha256Hex(text));
      const issuedAt = `2026-01-0${(i % 9) + 1}T00:00:00Z`;
      out.push([writer.stamped(i + 1, issuedAt), serializeJson(stampTrust(c, i + 1, issuedAt))]);
    }
    // Every document's bytes stay its own once later ones are written.
    for (const [bytes, expected] of out) expect(bytes.toString('utf8')).toBe(expected);
  });

  it('stamps documents of one time and many versions, each with its own', () => {
    const writer = new TrustBytesWriter();
    const out: [Buffer, string][] = [];
    // More versions than the stamps kept, repeated, then another time.
    for (let i = 0; i < 300; i++) {
      const c = content(i, i % 50);
      const text = serializeJson(c);
      const scopeLine = `  "scope": ${JSON.stringify(c.scope)},\n`;
      const headEnd = text.indexOf(scopeLine) + scopeLine.length;
      writer.digest(text.slice(0, headEnd), text.slice(headEnd));
      const version = ((i * 7) % 90) + 1;
      const issuedAt = i < 250 ? '2026-01-01T00:00:00Z' : '2026-01-02T00:00:00Z';
      out.push([writer.stamped(version, issuedAt), serializeJson(stampTrust(c, version, issuedAt))]);
    }
    for (const [bytes, expected] of out) expect(bytes.toString('utf8')).toBe(expected);
  });
});
