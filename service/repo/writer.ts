/**
 * The one metadata writer (STYLE.md "One writer per artefact"; python-tuf
 * `tuf/repository/_repository.py` `do_snapshot`/`do_timestamp`): the next version of a
 * targets-type role, and snapshot plus timestamp over a set of role versions. The publisher,
 * root rotation (rekey), version jumps, tenants and bundle export all sign snapshot and
 * timestamp here, and none of them elsewhere.
 */
import { MetaFile, Metadata, MetadataKind, Snapshot, TargetFile, Targets, Timestamp } from '@tufjs/models';
import { sha256Hex as sha256 } from '../crypto/encoding.js';
import type { Signer } from '../crypto/signer.js';
import type { MetadataRecord } from '../store/index.js';
import type { OnlineSigners } from './keys.js';
import { SnapshotEntries } from './snapshot-entries.js';
import { isSorted } from './targets-text.js';
import { defaultScopeStated, indexCustom, logKeyStated } from '../domain/trust-index.js';
import { INDEX_TARGET, type ExpiryConfig } from './layout.js';
import { SPEC_VERSION, expiresAt, metadataBytes, parseMetadata, rememberTargets, signMetadata, signedBytes } from './tuf.js';

export function targetFile(path: string, bytes: Uint8Array, digest?: string): TargetFile {
  return new TargetFile({ path, length: bytes.length, hashes: { sha256: digest ?? digestOf(bytes) } });
}

/** SHA-256 of a target file's bytes, kept by the bytes: a publish needs it for the bin's entry and for the stored record (bench B9: every governed document). */
const digests = new WeakMap<Uint8Array, string>();

export function digestOf(bytes: Uint8Array): string {
  let d = digests.get(bytes);
  if (d === undefined) digests.set(bytes, (d = sha256(bytes)));
  return d;
}

export function sortedKeys<T>(rec: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(rec).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * index.json's entry in the top-level targets role: its length and hash, and whether the default
 * scope `*` is defined (domain/trust-index.ts indexCustom; issue 17, bench B5: a client that
 * resolves one repository learns it there, without the bin that would prove `*` absent).
 */
export function indexTargetFile(file: { length: number; hashes: Record<string, string> }, defaultScopeDefined: boolean, logKey?: string): TargetFile {
  return new TargetFile({ path: INDEX_TARGET, length: file.length, hashes: file.hashes, unrecognizedFields: { custom: indexCustom(defaultScopeDefined, logKey) } });
}

/**
 * The next top-level targets: with index.json's new bytes (`header`, when the bins grew) and the
 * statement about `*`, the log key (issue 23; undefined: as served), and `others` (trusted_root.json); null when none
 * changes and `force` (its expiry) does not ask for one.
 */
export function nextTopLevel(
  old: Targets,
  expires: string,
  header: Buffer | null,
  defaultScopeDefined: boolean,
  force: boolean,
  others: ReadonlyMap<string, Uint8Array | null> = new Map(),
  logKey?: string,
): Targets | null {
  const served = old.targets[INDEX_TARGET];
  const key = logKey ?? logKeyStated(served?.custom);
  const statementChanges = defaultScopeStated(served?.custom) !== defaultScopeDefined || logKeyStated(served?.custom) !== key;
  if (!header && !statementChanges && !force && others.size === 0) return null;
  const next = nextTargets(old, expires, others);
  const file = header ? targetFile(INDEX_TARGET, header) : served;
  if (file) next.targets[INDEX_TARGET] = indexTargetFile(file, defaultScopeDefined, key);
  return next;
}

/** Changes to a role's targets, by path: new bytes, or null to remove the path. */
export type TargetChanges = Iterable<readonly [path: string, bytes: Uint8Array | null]>;

/** The next version of a targets-type role: `changes` applied to its targets (null removes a path; of a path named twice, the last), the same delegations. */
export function nextTargets(old: Targets, expires: string, changes: TargetChanges = []): Targets {
  // Built once, in path order, by merging the changes into the listed paths (bench B9: a parent
  // change rebuilds every bin; spreading, deleting and sorting a copy, and looking each path up, cost more).
  // A role signed here lists its paths in order, and a publish's changes come nearly in order.
  const paths = Object.keys(old.targets);
  if (!isSorted(paths)) paths.sort(comparePaths);
  const list = Array.isArray(changes) ? (changes as readonly (readonly [string, Uint8Array | null])[]) : [...changes];
  const sorted = isSorted(list, ([path]) => path) ? list : [...list].sort(([a], [b]) => comparePaths(a, b));
  const targets: Record<string, TargetFile> = {};
  let i = 0;
  for (const [changed, bytes] of sorted) {
    // A listed path keeps its listed string: a property key already (a new string as a key costs a lookup in V8's string table).
    let path = changed;
    for (; i < paths.length && paths[i]! <= changed; i++) {
      if (paths[i] === changed) path = paths[i]!;
      else targets[paths[i]!] = old.targets[paths[i]!]!;
    }
    if (bytes) targets[path] = targetFile(path, bytes);
    else if (Object.hasOwn(targets, path)) delete targets[path];
  }
  for (; i < paths.length; i++) targets[paths[i]!] = old.targets[paths[i]!]!;
  return new Targets({ version: old.version + 1, specVersion: SPEC_VERSION, expires, targets, delegations: old.delegations });
}

const comparePaths = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Signs a targets-type role and returns its stored form. */
export async function signedRecord(role: string, md: Metadata<Targets>, signer: Signer): Promise<MetadataRecord> {
  const bytes = await signedBytes(md, [signer]);
  rememberTargets(bytes, md.signed);
  return { role, version: md.signed.version, bytes, expires: md.signed.expires };
}

/**
 * A targets-type role re-issued as `version` with a fresh expiry and the same content (`edit`
 * may change its JSON first, e.g. rekey's delegations), signed by `signer`.
 */
export async function reissuedRecord(
  role: string,
  old: Targets,
  at: { version: number; expires: string },
  signer: Signer,
  edit?: (json: Record<string, any>) => void,
): Promise<MetadataRecord> {
  const json = old.toJSON() as Record<string, any>;
  edit?.(json);
  json.version = at.version;
  json.expires = at.expires;
  return signedRecord(role, new Metadata(Targets.fromJSON(json as never)), signer);
}

/** The snapshot's meta with each of `records` at its new version. */
export function withVersions(meta: Record<string, MetaFile>, records: readonly MetadataRecord[]): Record<string, MetaFile> {
  const out = { ...meta };
  for (const r of records) out[`${r.role}.json`] = new MetaFile({ version: r.version });
  return out;
}

export interface SnapshotAndTimestampAfter {
  /** The newest record of every role, as served now (snapshot and timestamp among them). */
  latest: ReadonlyMap<string, MetadataRecord>;
  /** The targets-type roles this version signs anew. */
  changed: readonly MetadataRecord[];
  signers: Pick<OnlineSigners, 'snapshot' | 'timestamp'>;
  now: Date;
  expiry: Pick<ExpiryConfig, 'snapshot' | 'timestamp'>;
  /** How many versions above the served snapshot and timestamp (1, or a version jump). */
  step?: number;
}

/**
 * python-tuf `close()` of snapshot and timestamp: the served snapshot's meta with `changed` at
 * their new versions, `step` versions above the served snapshot and timestamp.
 */
export async function snapshotAndTimestampAfter(input: SnapshotAndTimestampAfter): Promise<[MetadataRecord, MetadataRecord]> {
  const { latest, changed, signers, now, expiry, step = 1 } = input;
  const old = servedSnapshot(latest.get('snapshot')!.bytes);
  return signSnapshotAndTimestamp({
    signers,
    meta: old.entries?.with(changed) ?? withVersions(old.meta ?? old.entries!.toMeta(), changed),
    snapshotVersion: old.version + step,
    timestampVersion: latest.get('timestamp')!.version + step,
    snapshotExpires: expiresAt(now, expiry.snapshot),
    timestampExpires: expiresAt(now, expiry.timestamp),
  });
}

/** A snapshot's version and meta: as entry texts (snapshot-entries.ts), or parsed when they are not simple. */
interface SnapshotState {
  version: number;
  entries: SnapshotEntries | null;
  meta: Record<string, MetaFile> | null;
}

/**
 * A served snapshot's version and meta, by its bytes: the snapshot this process signed last is
 * never parsed again (bench B2: at 100k scopes it lists over 1,000 bins, and every publish starts
 * from it). Stored records are immutable, so their bytes identify them.
 */
const snapshots = new WeakMap<Uint8Array, SnapshotState>();

function servedSnapshot(bytes: Uint8Array): SnapshotState {
  let s = snapshots.get(bytes);
  if (!s) {
    const signed = parseMetadata(MetadataKind.Snapshot, bytes).signed;
    const entries = SnapshotEntries.fromMeta(signed.meta);
    snapshots.set(bytes, (s = { version: signed.version, entries, meta: entries ? null : signed.meta }));
  }
  return s;
}

export interface SnapshotAndTimestamp {
  signers: Pick<OnlineSigners, 'snapshot' | 'timestamp'>;
  /** The snapshot's meta: every targets-type role with its version (TUF spec 4.4), or those as entry texts (null: not simple). */
  meta: Record<string, MetaFile> | SnapshotEntries | null;
  snapshotVersion: number;
  timestampVersion: number;
  snapshotExpires: string;
  timestampExpires: string;
}

/** TUF spec 4.4 and 4.5: the snapshot over `meta`, and the timestamp over that snapshot's bytes. */
export async function signSnapshotAndTimestamp(input: SnapshotAndTimestamp): Promise<[MetadataRecord, MetadataRecord]> {
  const { signers, snapshotVersion, timestampVersion, snapshotExpires, timestampExpires } = input;
  const entries = input.meta instanceof SnapshotEntries ? input.meta : input.meta && SnapshotEntries.fromMeta(input.meta);
  let snapshotBytes: Buffer;
  if (entries) {
    snapshotBytes = await entries.signed({ specVersion: SPEC_VERSION, version: snapshotVersion, expires: snapshotExpires, signer: signers.snapshot });
    snapshots.set(snapshotBytes, { version: snapshotVersion, entries, meta: null });
  } else {
    if (!input.meta || input.meta instanceof SnapshotEntries) throw new Error('snapshot meta is missing');
    const snapshot = new Metadata(new Snapshot({ version: snapshotVersion, specVersion: SPEC_VERSION, expires: snapshotExpires, meta: sortedKeys(input.meta) }));
    await signMetadata(snapshot, [signers.snapshot]);
    snapshotBytes = metadataBytes(snapshot);
    snapshots.set(snapshotBytes, { version: snapshotVersion, entries: null, meta: snapshot.signed.meta });
  }
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
