/**
 * The index shards' own hashed bins (service/repo/index-bins.ts, issue 17 bench B3): a few small
 * bins that grow with the number of shards, each shard in the bin a TUF client looks in.
 */
import { describe, expect, it } from 'vitest';
import { MetadataKind } from '@tufjs/models';
import { FileSigner, generateSigningKeyPem } from '../../../service/crypto/signer.js';
import { shardBytes, shardPaths } from '../../../service/domain/trust-index.js';
import { SHARDS_ROLE, isCurrentShardBin, layShardBins, shardBinBitsFor } from '../../../service/repo/index-bins.js';
import { parseMetadata } from '../../../service/repo/tuf.js';

const signer = new FileSigner(generateSigningKeyPem());

describe('the shard bins', () => {
  it('hold about 16 shards each, at least 2 bins, and grow with the document bins', () => {
    expect(shardBinBitsFor(4)).toBe(1);
    expect(shardBinBitsFor(10)).toBe(6);
    expect(shardBinBitsFor(11)).toBe(7);
  });

  for (const binBits of [10, 11]) {
    it(`list each of the ${2 ** binBits} shards once, in the bin the shards role's delegation gives it`, async () => {
      const shards = new Map(shardPaths(binBits).map((p) => [p, shardBytes([])]));
      const metadata = await layShardBins({ shards, binBits, versionOf: (r) => (r === 'shards-bin-00' ? 4 : 0), signer, expires: '2030-01-01T00:00:00Z' });
      const role = parseMetadata(MetadataKind.Targets, metadata[0]!.bytes).signed;
      expect(metadata[0]!.role).toBe(SHARDS_ROLE);
      const bins = role.delegations!.succinctRoles!;
      expect(bins.bitLength).toBe(binBits - 4);
      expect(metadata).toHaveLength(1 + 2 ** (binBits - 4));
      // A reused bin name goes on from its last version (TUF spec 5.6.5).
      expect(metadata.find((m) => m.role === 'shards-bin-00')!.version).toBe(5);
      const listed = new Map<string, string>();
      for (const m of metadata.slice(1)) {
        expect(isCurrentShardBin(m.role, bins.bitLength)).toBe(true);
        for (const path of Object.keys(parseMetadata(MetadataKind.Targets, m.bytes).signed.targets)) {
          expect(listed.has(path)).toBe(false);
          listed.set(path, m.role);
          expect(bins.getRoleForTarget(path)).toBe(m.role);
        }
      }
      expect(listed.size).toBe(2 ** binBits);
    });
  }
});
