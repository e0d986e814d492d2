/**
 * Re-signing after a root rotation that changed online keys (TUF spec 5.3.11): clients drop
 * cached timestamp and snapshot when their keys rotate, and verify every targets role afresh
 * against the new keys, so each role signed by a rotated key gets a new version signed by
 * the new key. A new targets key also replaces the old one wherever a delegation names it
 * (the `trust` role and the hashed bins use the targets key: see Publisher.bootstrap).
 */
import { MetadataKind, type Root } from '@tufjs/models';
import type { MetadataRecord } from '../store/index.js';
import type { OnlineSigners } from './keys.js';
import { lifetimeOf, type ExpiryConfig } from './layout.js';
import { expiresAt, parseMetadata, tufKey } from './tuf.js';
import { reissuedRecord, snapshotAndTimestampAfter } from './writer.js';

export interface RekeyInput {
  /** The newest record of every role, as served now (root N among them). */
  latest: ReadonlyMap<string, MetadataRecord>;
  /** Root N+1, about to be published. */
  nextRoot: Root;
  signers: OnlineSigners;
  now: Date;
  expiry: ExpiryConfig;
}

const TOP = new Set(['root', 'snapshot', 'timestamp']);

/** The roles whose key IDs differ between two roots. */
export function rotatedRoles(previous: Root, next: Root): Set<string> {
  const out = new Set<string>();
  for (const role of ['targets', 'snapshot', 'timestamp']) {
    const a = [...(previous.roles[role]?.keyIDs ?? [])].sort().join(',');
    const b = [...(next.roles[role]?.keyIDs ?? [])].sort().join(',');
    if (a !== b) out.add(role);
  }
  return out;
}

/** Replaces old key IDs by the new one in a delegations JSON object; true when it changed. */
function rewriteDelegations(delegations: Record<string, any>, oldIds: Set<string>, newId: string, newKey: Record<string, unknown>): boolean {
  let changed = false;
  const keys = delegations.keys as Record<string, unknown>;
  for (const id of Object.keys(keys)) {
    if (oldIds.has(id)) {
      delete keys[id];
      changed = true;
    }
  }
  const swap = (ids: string[]) => {
    if (!ids.some((id) => oldIds.has(id))) return ids;
    changed = true;
    return [...new Set(ids.map((id) => (oldIds.has(id) ? newId : id)))];
  };
  for (const role of (delegations.roles ?? []) as { keyids: string[] }[]) role.keyids = swap(role.keyids);
  if (delegations.succinct_roles) delegations.succinct_roles.keyids = swap(delegations.succinct_roles.keyids);
  if (changed) keys[newId] = newKey;
  return changed;
}

/**
 * The metadata to publish together with root N+1: every targets-type role signed by a rotated
 * targets key (delegations rewritten), then snapshot and timestamp signed by their current
 * keys. Returns [] when root N+1 changes no online key.
 */
export async function rekeyMetadata(input: RekeyInput): Promise<MetadataRecord[]> {
  const { latest, nextRoot, signers, now, expiry } = input;
  const previous = parseMetadata(MetadataKind.Root, latest.get('root')!.bytes).signed;
  const rotated = rotatedRoles(previous, nextRoot);
  if (rotated.size === 0) return [];

  const out: MetadataRecord[] = [];
  if (rotated.has('targets')) {
    const oldIds = new Set(previous.roles.targets?.keyIDs ?? []);
    const newKey = tufKey(signers.targets.keyid, signers.targets.publicKey).toJSON();
    for (const [role, rec] of [...latest.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (TOP.has(role)) continue;
      const md = parseMetadata(MetadataKind.Targets, rec.bytes);
      // Only roles the targets key signs are ours to re-sign; a role with a key of its own
      // (e.g. one an offline tenant signs) keeps its signature.
      if (!Object.keys(md.signatures).some((id) => oldIds.has(id))) continue;
      const at = { version: md.signed.version + 1, expires: expiresAt(now, lifetimeOf(role, expiry)) };
      out.push(
        await reissuedRecord(role, md.signed, at, signers.targets, (json) => {
          if (json.delegations) rewriteDelegations(json.delegations, oldIds, signers.targets.keyid, newKey);
        }),
      );
    }
  }

  // Snapshot and timestamp: new versions signed with the (possibly new) keys.
  out.push(...(await snapshotAndTimestampAfter({ latest, changed: out, signers, now, expiry })));
  return out;
}
