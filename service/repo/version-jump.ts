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
import { MetadataKind } from '@tufjs/models';
import type { MetadataRecord, Store } from '../store/index.js';
import type { OnlineSigners } from './keys.js';
import { lifetimeOf, type ExpiryConfig } from './layout.js';
import { expiresAt, parseMetadata } from './tuf.js';
import { reissuedRecord, snapshotAndTimestampAfter } from './writer.js';

export interface VersionJumpResult {
  /** The timestamp version before and after. */
  from: number;
  to: number;
  /** Roles signed by keys this service does not hold: they keep their versions. */
  skipped: string[];
}

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
    out.push(await reissuedRecord(role, md.signed, { version: md.signed.version + jump, expires: expiresAt(now, lifetimeOf(role, expiry)) }, signers.targets));
  }
  const base = latest.get('timestamp')!;
  const [snapshot, timestamp] = await snapshotAndTimestampAfter({ latest, changed: out, signers, now, expiry, step: jump });
  out.push(snapshot, timestamp);
  // upToSeq 0: consumes no dirty marks; the content is unchanged.
  await store.commitPublish({ upToSeq: 0, docs: [], targets: [], metadata: out, publishedAt: now.toISOString(), baseTimestampVersion: base.version });
  return { from: base.version, to: timestamp.version, skipped };
}
