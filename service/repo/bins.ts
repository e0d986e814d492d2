/**
 * Bins that grow (issue 17). The number of the service's hashed bins follows the number of
 * scopes, so that a bin's metadata (and its index shard) stays small: TAP 15 chooses the
 * bit length from the number of targets (PEP 458 used 16,384 bins at 2M targets). Growing is
 * one publish: the trust role delegates to the new bins, every target of the old bins is
 * listed in its new bin, and each new bin is signed once. Clients follow it without a restart
 * (TUF spec 5.6: the delegation walk starts again from the new trust role). Old bin names
 * that the new layout does not reuse stay listed in the snapshot at their last version (TUF
 * spec 5.5.5: a role in the trusted snapshot must be in the new one; tuf-js refuses a
 * snapshot without it), but nothing delegates to them and they are never re-signed. Bins
 * never shrink: a shrinking repository keeps its bins.
 */
import { Delegations } from '@tufjs/models/dist/delegations.js';
import { Metadata, Targets, type TargetFile } from '@tufjs/models';
import type { Signer } from '../crypto/signer.js';
import type { MetadataRecord } from '../store/index.js';
import { TRUST_ROLE, binRoles } from './layout.js';
import { SPEC_VERSION } from './tuf.js';
import { binIndex } from '../domain/trust-index.js';
import { signedRecord, targetFile } from './writer.js';

/** A new repository starts with 2^MIN_BIN_BITS bins. */
export const MIN_BIN_BITS = 4;
/**
 * At most this many scopes per bin on average: a bin then lists about as many trust files (and
 * its shard as many entries), about 20 KB of metadata, under the 32 KB.
 */
export const SCOPES_PER_BIN = 128;

/** The bit length for `scopes` scopes: the least with at most SCOPES_PER_BIN a bin, and at least MIN_BIN_BITS. */
export function binBitsFor(scopes: number): number {
  let bits = MIN_BIN_BITS;
  while (2 ** bits * SCOPES_PER_BIN < scopes && bits < 24) bits++;
  return bits;
}

export interface RegrowInput {
  /** The served targets-type roles, by name. */
  load: (role: string) => Targets | undefined;
  /** The newest version of each role name ever published: a reused bin name gets a higher one (TUF spec 5.6.5). */
  versionOf: (role: string) => number;
  bits: number;
  signer: Signer;
  expires: string;
  /** Changes to targets in the service's bins (null removes), applied while moving them. */
  changes: ReadonlyMap<string, Uint8Array | null>;
  /** Targets that leave the bins (the old index shards, whose paths name the old bins). */
  drop: (path: string) => boolean;
}

/** Whether `role` is one of the bins of a `bits`-bit layout (bin names of another width are from an older layout). */
export function isCurrentBin(role: string, bits: number): boolean {
  const suffix = role.slice(role.indexOf('-') + 1);
  return suffix.length === ((1 << bits) - 1).toString(16).length && parseInt(suffix, 16) < 2 ** bits;
}

/** The new trust role and every new bin, signed. */
export async function regrowBins(input: RegrowInput): Promise<{ metadata: MetadataRecord[] }> {
  const { load, versionOf, bits, signer, expires, changes, drop } = input;
  const trust = load(TRUST_ROLE)!;
  const oldBins = [...trust.delegations!.succinctRoles!.getRoles()];
  const files = new Map<string, TargetFile>();
  for (const bin of oldBins) for (const [path, file] of Object.entries(load(bin)?.targets ?? {})) if (!drop(path)) files.set(path, file);
  for (const [path, bytes] of changes) {
    if (bytes) files.set(path, targetFile(path, bytes));
    else files.delete(path);
  }
  const bins = binRoles([signer.keyid], bits);
  // Each path's bin from its one cached hash (as SuccinctRoles.getRoleForTarget, binSuffix: bin i
  // is getRoles()'s i-th; a first publish of 100k scopes hashed each path already), each bin's paths sorted as a list.
  const names = [...bins.getRoles()];
  const byBin = names.map((): string[] => []);
  for (const path of files.keys()) byBin[binIndex(path, bits)]!.push(path);

  const delegations = new Delegations({ keys: trust.delegations!.keys, succinctRoles: bins });
  const metadata = [await signedRecord(TRUST_ROLE, new Metadata(new Targets({ version: trust.version + 1, specVersion: SPEC_VERSION, expires, delegations })), signer)];
  for (const [i, bin] of names.entries()) {
    const targets: Record<string, TargetFile> = {};
    for (const path of byBin[i]!.sort()) targets[path] = files.get(path)!;
    metadata.push(await signedRecord(bin, new Metadata(new Targets({ version: versionOf(bin) + 1, specVersion: SPEC_VERSION, expires, targets })), signer));
  }
  return { metadata };
}
