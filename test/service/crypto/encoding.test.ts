/** RFC 7468 PEM decoding: what decodePem accepts, and each way it refuses. */
import { describe, expect, it } from 'vitest';
import { decodePem, encodePem } from '../../../service/crypto/encoding.js';

const der = new Uint8Array(Array.from({ length: 300 }, (_, i) => (i * 37) & 255));

describe('decodePem', () => {
  it('reads each block, ignoring text around them and whitespace inside', () => {
    const crlf = encodePem('CERTIFICATE', der).replace(/\n/g, '\r\n');
    const spaced = encodePem('PUBLIC KEY', der.subarray(0, 31)).replace(/\n(?!-)/g, '\n \t');
    const blocks = decodePem(`Subject: an explanation (RFC 7468 5.2)\n${crlf}between\n${spaced}after`);
    expect(blocks.map((b) => b.label)).toEqual(['CERTIFICATE', 'PUBLIC KEY']);
    expect(blocks[0]!.der).toEqual(der);
    expect(blocks[1]!.der).toEqual(der.subarray(0, 31));
    expect(decodePem('no armor here')).toEqual([]);
  });

  const pem = encodePem('CERTIFICATE', der);
  const refusals: [string, string, RegExp][] = [
    ['mismatched labels', pem.replace('END CERTIFICATE', 'END PUBLIC KEY'), /ends with "PUBLIC KEY"/],
    ['a BEGIN without END', pem.slice(0, pem.indexOf('-----END')), /truncated or unbalanced/],
    ['an END without BEGIN', `${pem}-----END CERTIFICATE-----\n`, /truncated or unbalanced/],
    ['a lower-case label', pem.replace(/CERTIFICATE/g, 'certificate'), /truncated or unbalanced/],
    ['a character outside base64', pem.replace('\n', '\n*'), /malformed base64/],
    ['padding inside the body', pem.replace('\n', '\n=AAA'), /malformed base64/],
    ['a partial quantum', pem.replace('\n', '\nA'), /malformed base64/],
    ['an empty body', '-----BEGIN CERTIFICATE-----\n\n-----END CERTIFICATE-----\n', /malformed base64/],
    ['an RFC 1421 header', pem.replace('\n', '\nProc-Type: 4,ENCRYPTED\n'), /malformed base64/],
  ];
  for (const [what, text, message] of refusals) {
    it(`refuses ${what}`, () => {
      expect(() => decodePem(text)).toThrow(message);
    });
  }
});
