/** TAP 15 bin placement from the one cached path hash (shared/trust-index.ts), against @tufjs/models and SHA-256. */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SuccinctRoles } from '@tufjs/models/dist/role.js';
import { binSuffix, pathHash32 } from '../../shared/trust-index.js';

const paths = ['trust/*.json', 'trust/registry.acme.io/team-a.json', 'trust/*.acme.io.json', 'index/3f.json', 'crl/ab.crl', 'trust/ünïcode.example.json', ...Array.from({ length: 300 }, (_, i) => `trust/r${i}.bench.example.json`)];

describe('pathHash32 and binSuffix', () => {
  it('are the first 32 bits of SHA-256 and the bin @tufjs/models SuccinctRoles names, at every width', () => {
    for (const path of paths) {
      expect(pathHash32(path)).toBe(createHash('sha256').update(path).digest().readUInt32BE(0));
      for (const bitLength of [1, 4, 8, 10, 13, 16]) {
        const roles = new SuccinctRoles({ keyIDs: ['k'], threshold: 1, bitLength, namePrefix: 'bin' });
        expect(`bin-${binSuffix(path, bitLength)}`).toBe(roles.getRoleForTarget(path));
      }
    }
  });
});
