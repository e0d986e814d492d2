/**
 * A new repository (Publisher.bootstrap), in the layout of layout.ts and index-bins.ts, through
 * the one metadata writer (writer.ts).
 */
import { Metadata, Targets } from '@tufjs/models';
// @tufjs/models does not re-export the delegation classes from its index.
import { DelegatedRole } from '@tufjs/models/dist/role.js';
import { Delegations } from '@tufjs/models/dist/delegations.js';
import type { MetadataRecord } from '../store/index.js';
import type { OnlineSigners } from './keys.js';
import { IndexShards } from './index-shards.js';
import { SHARDS_ROLE, layShardBins, shardsDelegation } from './index-bins.js';
import { ALL_HASH_PREFIXES, INDEX_TARGET, TRUST_ROLE, binRoles, type ExpiryConfig } from './layout.js';
import { SPEC_VERSION, expiresAt, tufKey } from './tuf.js';
import { indexTargetFile, signSnapshotAndTimestamp, signedRecord, targetFile, withVersions } from './writer.js';

/**
 * Version 1 of every role but root: targets (index.json; the shards and trust delegations),
 * trust with its succinct hashed bins (TAP 15), every (empty) bin, the shards role with the
 * shard bins listing every empty shard (index-bins.ts), snapshot and timestamp. Returns the signed roles and the target files they list.
 */
export async function initialRepository(input: {
  signers: OnlineSigners;
  binBits: number;
  now: Date;
  expiry: Pick<ExpiryConfig, 'targets' | 'snapshot' | 'timestamp'>;
  /** Issue 23: the log's verifier key, stated in index.json's entry. */
  logKey?: string;
}): Promise<{ metadata: MetadataRecord[]; targets: [path: string, bytes: Buffer][] }> {
  const { signers, binBits, now, expiry, logKey } = input;
  const { targets } = signers;
  const bins = binRoles([targets.keyid], binBits);
  const records: MetadataRecord[] = [];
  const add = async (role: string, signed: Targets) => {
    records.push(await signedRecord(role, new Metadata(signed), targets));
  };
  const targetsExpiry = expiresAt(now, expiry.targets);
  const keys = { [targets.keyid]: tufKey(targets.keyid, targets.publicKey) };
  await add(TRUST_ROLE, new Targets({ version: 1, specVersion: SPEC_VERSION, expires: targetsExpiry, delegations: new Delegations({ keys, succinctRoles: bins }) }));
  // index.json and every (empty) shard; the shards in their own role and bins (index-bins.ts).
  const files = new IndexShards(binBits).allFiles(INDEX_TARGET);
  const indexBytes = files.get(INDEX_TARGET)!;
  files.delete(INDEX_TARGET);
  for (const bin of bins.getRoles()) await add(bin, new Targets({ version: 1, specVersion: SPEC_VERSION, expires: targetsExpiry }));
  records.push(...(await layShardBins({ shards: files, binBits, versionOf: () => 0, signer: targets, expires: targetsExpiry })));
  const trust = new DelegatedRole({ name: TRUST_ROLE, keyIDs: [targets.keyid], threshold: 1, terminating: true, pathHashPrefixes: ALL_HASH_PREFIXES });
  await add(
    'targets',
    new Targets({
      version: 1,
      specVersion: SPEC_VERSION,
      expires: targetsExpiry,
      targets: { [INDEX_TARGET]: indexTargetFile(targetFile(INDEX_TARGET, indexBytes), false, logKey) },
      delegations: new Delegations({ keys, roles: { [SHARDS_ROLE]: shardsDelegation(targets.keyid), [TRUST_ROLE]: trust } }),
    }),
  );
  const snapshotAndTimestamp = await signSnapshotAndTimestamp({
    signers,
    meta: withVersions({}, records),
    snapshotVersion: 1,
    timestampVersion: 1,
    snapshotExpires: expiresAt(now, expiry.snapshot),
    timestampExpires: expiresAt(now, expiry.timestamp),
  });
  return { metadata: [...records, ...snapshotAndTimestamp], targets: [[INDEX_TARGET, indexBytes], ...files] };
}
