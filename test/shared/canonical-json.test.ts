/** shared/canonical-json.ts writes what @tufjs/canonical-json writes (TUF spec 4.2: the bytes signed). */
import { canonicalize } from '@tufjs/canonical-json';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../shared/canonical-json.js';

const values: unknown[] = [
  'plain',
  'quote " and back\\slash \\" and ünïcode ✓ and \n newline',
  0,
  -17,
  2 ** 40,
  true,
  null,
  [],
  {},
  [1, 'a', [null, { z: 1, a: [true] }]],
  { b: 1, a: { 'key "q"': 'v\\', 'é': 2, A: 3 }, _type: 'targets', targets: { 'trust/r1.json': { length: 3, hashes: { sha256: 'ab' } } } },
];

describe('canonicalJson', () => {
  it('writes the same text as canonicalize', () => {
    for (const v of values) expect(canonicalJson(v)).toBe(canonicalize(v as never));
  });

  it('refuses what canonical JSON cannot encode, as canonicalize does', () => {
    for (const v of [1.5, { a: 1.5 }, [undefined]]) expect(() => canonicalJson(v)).toThrow();
  });
});
