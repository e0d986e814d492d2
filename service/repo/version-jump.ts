/**
 * A version jump: every role this service signs gets a new version `jump` above its newest,
 * with the same content and a fresh expiry, then snapshot and timestamp. After a restore from
 * a backup, the live service may have published versions the backup never saw, and clients
 * that saw them treat anything lower as a rollback (TUF spec 5.4.3, 5.5.5, 5.6.4). Jumping
 * above anything they can plausibly have seen lets them accept the restored repository.
 *
 * A role signed by a key this service does not hold (an offline tenant's) cannot jump; it is
 * reported, and keeps its version.
 */
import { createHash } from 'node:crypto';
import { MetaFile, Metadata, MetadataKind, Snapshot, Targets, Timestamp } from '@tufjs/models';
import type { MetadataRecord, Store } from '../store/index.js';
import type { OnlineSigners } from './keys.js';
import { lifetimeOf, type ExpiryConfig } from './layout.js';
import { SPEC_VERSION, expiresAt, metadataBytes, parseMetadata, signMetadata } from './tuf.js';

export interface VersionJumpResult {
  /** The timestamp version before and after. */
  from: number;
  to: number;
  /** Roles signed by keys this service does not hold: they keep their versions. */
  skipped: string[];
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const TOP = new Set(['root', 'snapshot', 'timestamp']);

export async function jumpVersions(input: { store: Store; signers: OnlineSigners; expiry: ExpiryConfig; jump: number; now: Date }): Promise<VersionJumpResult> {
  const { store, signers, expiry, jump, now } = input;
  const latest = new Map((await store.latestMetadataAll()).map((r) => [r.role, r]));
  const out: MetadataRecord[] = [];
  const skipped: string[] = [];
  for (const [role, rec] of [...latest].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (TOP.has(role)) continue;
    const md = parseMetadata(MetadataKind.Targets, rec.bytes);
    if (!Object.keys(md.signatures).includes(signers.targets.keyid)) {
      skipped.push(role);
      continue;
    }
    const json = md.signed.toJSON() as Record<string, unknown>;
    json.version = md.signed.version + jump;
    json.expires = expiresAt(now, lifetimeOf(role, expiry));
    const next = new Metadata(Targets.fromJSON(json as never));
    await signMetadata(next, [signers.targets]);
    out.push({ role, version: next.signed.version, bytes: metadataBytes(next), expires: next.signed.expires });
  }
  const oldSnapshot = parseMetadata(MetadataKind.Snapshot, latest.get('snapshot')!.bytes).signed;
  const meta: Record<string, MetaFile> = { ...oldSnapshot.meta };
  for (const m of out) meta[`${m.role}.json`] = new MetaFile({ version: m.version });
  const snapshot = new Metadata(
    new Snapshot({
      version: oldSnapshot.version + jump,
      specVersion: SPEC_VERSION,
      expires: expiresAt(now, expiry.snapshot),
      meta: Object.fromEntries(Object.entries(meta).sort(([a], [b]) => (a < b ? -1 : 1))),
    }),
  );
  await signMetadata(snapshot, [signers.snapshot]);
  const snapshotBytes = metadataBytes(snapshot);
  const base = latest.get('timestamp')!;
  const timestamp = new Metadata(
    new Timestamp({
      version: base.version + jump,
      specVersion: SPEC_VERSION,
      expires: expiresAt(now, expiry.timestamp),
      snapshotMeta: new MetaFile({ version: snapshot.signed.version, length: snapshotBytes.length, hashes: { sha256: sha256(snapshotBytes) } }),
    }),
  );
  await signMetadata(timestamp, [signers.timestamp]);
  out.push(
    { role: 'snapshot', version: snapshot.signed.version, bytes: snapshotBytes, expires: snapshot.signed.expires },
    { role: 'timestamp', version: timestamp.signed.version, bytes: metadataBytes(timestamp), expires: timestamp.signed.expires },
  );
  // upToSeq 0: consumes no dirty marks; the content is unchanged.
  await store.commitPublish({ upToSeq: 0, docs: [], targets: [], metadata: out, publishedAt: now.toISOString(), baseTimestampVersion: base.version });
  return { from: base.version, to: timestamp.signed.version, skipped };
}
