/**
 * Issue 24 row 10: the served repository checked the way a TUF client checks it (TUF spec 5.3
 * to 5.6), from the repository's own root, before anything is served: every role's signature
 * threshold by its delegator's keys, and every role's length, hashes and version as its parent
 * (timestamp → snapshot → targets → delegated roles and bins) records them. Pure: bytes in.
 */
import { MetadataKind, type MetaFile, type Metadata, type Root, type Snapshot, type Targets } from '@tufjs/models';
import { parseMetadata } from './tuf.js';

export interface ServedFault {
  role: string;
  problem: string;
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** Every fault found in `latest` (role → bytes of its served version); empty when a client would accept all of it. */
export function verifyServed(latest: ReadonlyMap<string, { bytes: Uint8Array; version: number }>): ServedFault[] {
  const faults: ServedFault[] = [];
  const parse = <T extends Root | Snapshot | Targets>(kind: MetadataKind, role: string): Metadata<T> | null => {
    const rec = latest.get(role);
    if (!rec) {
      faults.push({ role, problem: 'missing' });
      return null;
    }
    try {
      return parseMetadata(kind as never, rec.bytes) as unknown as Metadata<T>;
    } catch (e) {
      faults.push({ role, problem: `unreadable: ${message(e)}` });
      return null;
    }
  };
  const check = (role: string, what: () => void) => {
    try {
      what();
      return true;
    } catch (e) {
      faults.push({ role, problem: message(e) });
      return false;
    }
  };
  /** TUF spec 5.4.3, 5.5.2: the bytes match what the parent records (length, hashes), and the version too. */
  const matches = (role: string, meta: MetaFile | undefined, md: Metadata<Root | Snapshot | Targets> | { signed: { version: number } }) =>
    check(role, () => {
      if (!meta) throw new Error('not listed by its parent');
      meta.verify(Buffer.from(latest.get(role)!.bytes));
      if (meta.version !== md.signed.version) throw new Error(`version ${md.signed.version}, but its parent records ${meta.version}`);
    });

  const root = parse<Root>(MetadataKind.Root, 'root');
  if (!root) return faults;
  // TUF spec 5.3.4: a root is signed by a threshold of its own root keys.
  if (!check('root', () => root.verifyDelegate('root', root))) return faults;
  const timestamp = parse<never>(MetadataKind.Timestamp, 'timestamp') as unknown as Metadata<import('@tufjs/models').Timestamp> | null;
  if (timestamp) check('timestamp', () => root.verifyDelegate('timestamp', timestamp as never));
  const snapshot = parse<Snapshot>(MetadataKind.Snapshot, 'snapshot');
  if (!snapshot) return faults;
  check('snapshot', () => root.verifyDelegate('snapshot', snapshot));
  if (timestamp) matches('snapshot', timestamp.signed.snapshotMeta, snapshot);

  // TUF spec 5.6: targets from the root, then each delegated role (and TAP 15 bin) from its delegator.
  const queue: { role: string; delegator: Metadata<Root | Targets> }[] = [{ role: 'targets', delegator: root }];
  const seen = new Set<string>();
  while (queue.length > 0) {
    const { role, delegator } = queue.shift()!;
    if (seen.has(role)) continue;
    seen.add(role);
    const md = parse<Targets>(MetadataKind.Targets, role);
    if (!md) continue;
    check(role, () => delegator.verifyDelegate(role, md));
    matches(role, snapshot.signed.meta[`${role}.json`], md);
    const delegations = md.signed.delegations;
    for (const name of Object.keys(delegations?.roles ?? {})) if (latest.has(name) || snapshot.signed.meta[`${name}.json`]) queue.push({ role: name, delegator: md });
    for (const name of delegations?.succinctRoles?.getRoles() ?? []) if (latest.has(name)) queue.push({ role: name, delegator: md });
  }
  return faults;
}
