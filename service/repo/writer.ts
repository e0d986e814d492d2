/**
 * The one metadata writer (STYLE.md "One writer per artefact"; python-tuf
 * `tuf/repository/_repository.py` `do_snapshot`/`do_timestamp`): the next version of a
 * targets-type role, and snapshot plus timestamp over a set of role versions. The publisher,
 * root rotation (rekey) and bundle export all sign snapshot and timestamp here.
 */
import { createHash } from 'node:crypto';
import { MetaFile, Metadata, Snapshot, TargetFile, Targets, Timestamp } from '@tufjs/models';
import type { Signer } from '../crypto/signer.js';
import type { MetadataRecord } from '../store/index.js';
import { SPEC_VERSION, metadataBytes, signMetadata } from './tuf.js';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

export function targetFile(path: string, bytes: Uint8Array, digest?: string): TargetFile {
  return new TargetFile({ path, length: bytes.length, hashes: { sha256: digest ?? sha256(bytes) } });
}

export function sortedKeys<T>(rec: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(rec).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The next version of a targets-type role: `changes` applied to its targets (null removes a path), the same delegations. */
export function nextTargets(old: Targets, expires: string, changes: ReadonlyMap<string, Uint8Array | null> = new Map()): Targets {
  const targets = { ...old.targets };
  for (const [path, bytes] of changes) {
    if (bytes) targets[path] = targetFile(path, bytes);
    else delete targets[path];
  }
  return new Targets({ version: old.version + 1, specVersion: SPEC_VERSION, expires, targets: sortedKeys(targets), delegations: old.delegations });
}

/** Signs a targets-type role and returns its stored form. */
export async function signedRecord(role: string, md: Metadata<Targets>, signer: Signer): Promise<MetadataRecord> {
  await signMetadata(md, [signer]);
  return { role, version: md.signed.version, bytes: metadataBytes(md), expires: md.signed.expires };
}

export interface SnapshotAndTimestamp {
  signers: { snapshot: Signer; timestamp: Signer };
  /** The snapshot's meta: every targets-type role with its version (TUF spec 4.4). */
  meta: Record<string, MetaFile>;
  snapshotVersion: number;
  timestampVersion: number;
  snapshotExpires: string;
  timestampExpires: string;
}

/** TUF spec 4.4 and 4.5: the snapshot over `meta`, and the timestamp over that snapshot's bytes. */
export async function signSnapshotAndTimestamp(input: SnapshotAndTimestamp): Promise<[MetadataRecord, MetadataRecord]> {
  const { signers, meta, snapshotVersion, timestampVersion, snapshotExpires, timestampExpires } = input;
  const snapshot = new Metadata(new Snapshot({ version: snapshotVersion, specVersion: SPEC_VERSION, expires: snapshotExpires, meta: sortedKeys(meta) }));
  await signMetadata(snapshot, [signers.snapshot]);
  const snapshotBytes = metadataBytes(snapshot);
  const timestamp = new Metadata(
    new Timestamp({
      version: timestampVersion,
      specVersion: SPEC_VERSION,
      expires: timestampExpires,
      snapshotMeta: new MetaFile({ version: snapshotVersion, length: snapshotBytes.length, hashes: { sha256: sha256(snapshotBytes) } }),
    }),
  );
  await signMetadata(timestamp, [signers.timestamp]);
  return [
    { role: 'snapshot', version: snapshotVersion, bytes: snapshotBytes, expires: snapshotExpires },
    { role: 'timestamp', version: timestampVersion, bytes: metadataBytes(timestamp), expires: timestampExpires },
  ];
}
