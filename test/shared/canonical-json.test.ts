/**
 * shared/canonical-json.ts writes what @tufjs/canonical-json's canonicalize writes (TUF
 * spec 4.2: the bytes every signature covers), and refuses what it refuses.
 */
import { canonicalize } from '@tufjs/canonical-json';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../shared/canonical-json.js';

const values: unknown[] = [
  'plain',
  'quote " and backslash \\ and both \\"',
  'line\nbreak, tab\t, control \u0001, non-ASCII é 日本 😀, lone surrogate \ud800',
  '',
  0,
  -0,
  42,
  -7,
  Number.MAX_SAFE_INTEGER,
  true,
  false,
  null,
  [],
  {},
  [1, 'a', null, [true, { b: 1, a: 2 }]],
  { z: 1, a: { y: [], x: {} }, 'é': 1, 'E': 2, '"k\\': 'v', '10': 0, '9': 1, '': '' },
  {
    _type: 'targets',
    spec_version: '1.0.31',
    version: 3,
    expires: '2027-01-01T00:00:00Z',
    targets: { 'trust/b.example.json': { length: 10, hashes: { sha256: 'ab'.repeat(32) } }, 'trust/a.example.json': { length: 9, hashes: { sha256: 'cd'.repeat(32) }, custom: { x: [1, 2] } } },
    delegations: { keys: {}, roles: [{ name: 'trust', keyids: ['k'], threshold: 1, terminating: false, path_hash_prefixes: ['0', '1'] }] },
  },
];

describe('canonicalJson', () => {
  it('writes the same string as canonicalize', () => {
    for (const v of values) expect(canonicalJson(v)).toBe(canonicalize(v as never));
  });

  it('refuses what canonical JSON cannot encode, as canonicalize does', () => {
    for (const v of [1.5, Number.NaN, Infinity, undefined, { a: 0.1 }, [() => 1]]) {
      expect(() => canonicalize(v as never)).toThrow(TypeError);
      expect(() => canonicalJson(v)).toThrow(TypeError);
    }
  });
});
