/**
 * The index shards' own hashed bins (issue 17, bench B3). The shards `index/{prefix}.json` are
 * listed by a delegated role of their own, "shards" (paths `index/*`, terminating), before
 * "trust", with succinct hashed bins "shards-bin-…" (TAP 15; a role has either `roles` or
 * `succinct_roles`, not both, hence a role beside "trust" rather than inside it):
 *
 *   targets ─ "shards" (index/*) ─ shards-bin-00 … (SHARDS_PER_BIN shards each)
 *           ─ "trust" (every other path) ─ bin-000 … (trust/*.json, crl/*.crl)
 *
 * A one-scope change then re-signs its document's bin and one small shard bin instead of two
 * document-sized bins (docs/BENCHMARKS.md "Issue 17, eighth round"). CONTRACT.md "Target
 * files" names target paths, not roles, so clients (tuf-js walks the delegations) read the
 * same paths. The shard bins are laid out anew, in one publish, whenever every shard is
 * rewritten: the bins grow, the index is upgraded from v1, or a repository published with
 * the shards inside the document bins moves to this layout (the document bins are then laid
 * out again without them, as when they grow: service/repo/bins.ts).
 */
import { Metadata, Targets, type TargetFile } from '@tufjs/models';
// @tufjs/models does not re-export the delegation classes from its index.
import { DelegatedRole, SuccinctRoles } from '@tufjs/models/dist/role.js';
import { Delegations } from '@tufjs/models/dist/delegations.js';
import type { Signer } from '../crypto/signer.js';
import type { MetadataRecord } from '../store/index.js';
import { SPEC_VERSION, tufKey } from './tuf.js';
import { signedRecord, sortedKeys, targetFile } from './writer.js';

export const SHARDS_ROLE = 'shards';
export const SHARD_BIN_PREFIX = 'shards-bin';
/** The paths the shards role is trusted for (CONTRACT.md "Target files": `index/{prefix}.json`). */
export const SHARD_PATHS = ['index/*'];
/** Shards per shard bin, as a power of two: 16 shards of about 120 B an entry, about 2 KB a bin. */
export const SHARDS_PER_BIN_BITS = 4;

/** The shard bins' bit length for `binBits` document bins (one shard per document bin); TAP 15 needs at least 1. */
export function shardBinBitsFor(binBits: number): number {
  return Math.max(1, binBits - SHARDS_PER_BIN_BITS);
}

export function shardBinRoles(keyids: string[], bitLength: number): SuccinctRoles {
  return new SuccinctRoles({ keyIDs: keyids, threshold: 1, bitLength, namePrefix: SHARD_BIN_PREFIX });
}

export function isShardBinRole(role: string): boolean {
  return /^shards-bin-[0-9a-f]+$/.test(role);
}

/** The delegation of the shards role, signed by the targets key as "trust" is. */
export function shardsDelegation(keyid: string): DelegatedRole {
  return new DelegatedRole({ name: SHARDS_ROLE, keyIDs: [keyid], threshold: 1, terminating: true, paths: SHARD_PATHS });
}

/** Whether top-level targets delegates the shards to their own role (false: a repository published before this layout). */
export function delegatesShards(top: Targets): boolean {
  return top.delegations?.roles?.[SHARDS_ROLE] !== undefined;
}

/**
 * `top` (same version) with the shards role delegated first, before tenants and "trust"
 * (TUF spec 5.6.7.2: searched in order; its paths and theirs never overlap).
 */
export function withShardsDelegation(top: Targets, keyid: string): Targets {
  const old = top.delegations!;
  const roles: Record<string, DelegatedRole> = { [SHARDS_ROLE]: shardsDelegation(keyid) };
  for (const [name, role] of Object.entries(old.roles ?? {})) if (name !== SHARDS_ROLE) roles[name] = role;
  const delegations = new Delegations({ keys: old.keys, roles });
  return new Targets({ version: top.version, specVersion: top.specVersion, expires: top.expires, targets: top.targets, delegations, unrecognizedFields: top.unrecognizedFields });
}

/** Whether `role` is a shard bin of a `bits`-bit layout (names of another width are from an older one). */
export function isCurrentShardBin(role: string, bits: number): boolean {
  const suffix = role.slice(SHARD_BIN_PREFIX.length + 1);
  return suffix.length === ((1 << bits) - 1).toString(16).length && parseInt(suffix, 16) < 2 ** bits;
}

export interface ShardBinsInput {
  /** Every shard's bytes, by path. */
  shards: ReadonlyMap<string, Uint8Array>;
  /** The document bins' bit length (one shard each). */
  binBits: number;
  /** The newest version of each role name ever published: a reused name gets a higher one (TUF spec 5.6.5). */
  versionOf: (role: string) => number;
  /** The targets key (it signs "shards" and its bins, as "trust" and its bins). */
  signer: Signer;
  expires: string;
}

/**
 * The shards role and every shard bin, signed, listing `shards`. Old shard bin names that the
 * new layout does not reuse stay in the snapshot at their last version (TUF spec 5.5.5), as old
 * document bins do (bins.ts).
 */
export async function layShardBins(input: ShardBinsInput): Promise<MetadataRecord[]> {
  const { shards, binBits, versionOf, signer, expires } = input;
  const bins = shardBinRoles([signer.keyid], shardBinBitsFor(binBits));
  const byBin = new Map<string, Record<string, TargetFile>>([...bins.getRoles()].map((b) => [b, {}]));
  for (const [path, bytes] of shards) byBin.get(bins.getRoleForTarget(path))![path] = targetFile(path, bytes);
  const keys = { [signer.keyid]: tufKey(signer.keyid, signer.publicKey) };
  const role = new Targets({ version: versionOf(SHARDS_ROLE) + 1, specVersion: SPEC_VERSION, expires, delegations: new Delegations({ keys, succinctRoles: bins }) });
  const metadata = [await signedRecord(SHARDS_ROLE, new Metadata(role), signer)];
  for (const [bin, targets] of byBin) {
    metadata.push(await signedRecord(bin, new Metadata(new Targets({ version: versionOf(bin) + 1, specVersion: SPEC_VERSION, expires, targets: sortedKeys(targets) })), signer));
  }
  return metadata;
}
