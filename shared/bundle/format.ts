/**
 * The bundle format (CONTRACT.md "Offline bundles"): one tar holding `bundle.json` and `tuf/`,
 * a complete consistent-snapshot TUF repository. Pure: names, the origin ID, and the shape of
 * bundle.json with its validation.
 *
 * bundle.json is not signed. The importer uses it only to find files and to catch corruption
 * early; every trust decision rests on the TUF metadata, verified against the pinned root.
 */
import { sha256Hex } from '../hash.js';
import { canonicalize } from '@tufjs/canonical-json';
import { BundleCodes, bundleError } from './errors.js';

export const BUNDLE_MEDIA_TYPE = 'application/vnd.keyshare.bundle.v1+json';
export const BUNDLE_JSON = 'bundle.json';
export const TUF_DIR = 'tuf';
/** Imported scopes carry `source = bundle:<origin>`; the upstream row is named `<origin>`. */
export const SOURCE_PREFIX = 'bundle:';

export interface BundleFile {
  /** Inside the archive, e.g. `tuf/3.snapshot.json` or `tuf/targets/trust/<sha256>._default.json`. */
  path: string;
  length: number;
  sha256: string;
}

export interface BundleTarget {
  /** The TUF target path, e.g. `trust/registry.acme.io.json`. */
  path: string;
  length: number;
  sha256: string;
}

export interface BundleManifest {
  mediaType: typeof BUNDLE_MEDIA_TYPE;
  /** The exporting repository: see originOf(). */
  origin: string;
  createdAt: string;
  /** When the bundle's timestamp and snapshot expire (`--valid-for`). */
  expires: string;
  versions: { root: number; timestamp: number; snapshot: number; targets: number };
  scopes: { filter: string[] | null; included: string[] };
  /**
   * An incremental bundle (`--since`): the versions of the bundle it continues from. It carries
   * only the metadata and target files that changed since; the importer completes it with the
   * files kept from the earlier bundles, and refuses it (BUNDLE_GAP) if it lacks that base.
   */
  since?: { timestamp: number; snapshot: number } | null;
  targets: BundleTarget[];
  files: BundleFile[];
  /** Issue 23: the log's checkpoint and proofs for this bundle's timestamp (log-proof.ts; checked there, against signatures). */
  log?: unknown;
}

/** A target of a verified bundle. */
export interface VerifiedTarget {
  path: string;
  sha256: string;
  /** The verified file on disk. */
  file: string;
}

/** A bundle that verified against its pinned root (sync/bundle/verify.ts), as the importer reads it. */
export interface VerifiedBundle {
  origin: string;
  manifest: BundleManifest;
  root: { version: number; bytes: Buffer };
  timestamp: { version: number; sha256: string; expires: string };
  snapshot: { version: number; meta: Record<string, number> };
  targets: VerifiedTarget[];
  /** Every verified file of the repository, relative to tuf/ (e.g. `1.root.json`), for the mirror. */
  files: { path: string; file: string }[];
}

export { sha256Hex };

/**
 * A repository's origin ID: the first 128 bits of the SHA-256 of the canonical JSON of its
 * version 1 root's signed part. It never changes (root rotations keep version 1), every bundle
 * carries version 1, and the importer checks the chain 1 → pinned → newest, so an origin ID
 * names one root lineage and cannot be claimed by another repository.
 */
export function originOf(root1Signed: unknown): string {
  return sha256Hex(Buffer.from(canonicalize(root1Signed as never))).slice(0, 32);
}

export const ORIGIN_PATTERN = /^[0-9a-f]{32}$/;

/** TUF spec 5.7.3 with consistent snapshots: a target is stored as `{dir}/{sha256}.{name}`. */
export function consistentTargetName(path: string, sha256: string): string {
  const slash = path.lastIndexOf('/');
  return slash >= 0 ? `${path.slice(0, slash + 1)}${sha256}.${path.slice(slash + 1)}` : `${sha256}.${path}`;
}

const HEX64 = /^[0-9a-f]{64}$/;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

function invalid(message: string) {
  return bundleError(BundleCodes.BUNDLE_INVALID, `bundle.json: ${message}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkEntries<T extends { path: string; length: number; sha256: string }>(list: unknown, what: string): T[] {
  if (!Array.isArray(list)) throw invalid(`${what} must be a list`);
  const seen = new Set<string>();
  for (const [i, e] of list.entries()) {
    if (!isObject(e) || typeof e.path !== 'string' || e.path.length === 0 || e.path.length > 4096) throw invalid(`${what}[${i}].path is missing`);
    if (!Number.isSafeInteger(e.length) || (e.length as number) < 0) throw invalid(`${what}[${i}].length is not a size`);
    if (typeof e.sha256 !== 'string' || !HEX64.test(e.sha256)) throw invalid(`${what}[${i}].sha256 is not a lower-case hex SHA-256`);
    if (seen.has(e.path)) throw invalid(`${what} lists ${e.path} twice`);
    seen.add(e.path);
  }
  return list as T[];
}

/** Parses and checks bundle.json; throws BUNDLE_INVALID naming what is wrong. */
export function parseManifest(bytes: Buffer): BundleManifest {
  let m: unknown;
  try {
    m = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw bundleError(BundleCodes.BUNDLE_INVALID, 'bundle.json is not JSON', e);
  }
  if (!isObject(m)) throw invalid('not an object');
  if (m.mediaType !== BUNDLE_MEDIA_TYPE) throw invalid(`mediaType is not ${BUNDLE_MEDIA_TYPE}`);
  if (typeof m.origin !== 'string' || !ORIGIN_PATTERN.test(m.origin)) throw invalid('origin is not a 32-hex origin ID');
  for (const k of ['createdAt', 'expires'] as const) if (typeof m[k] !== 'string' || !ISO.test(m[k] as string)) throw invalid(`${k} is not an ISO time`);
  const v = m.versions;
  if (!isObject(v) || !['root', 'timestamp', 'snapshot', 'targets'].every((k) => Number.isSafeInteger(v[k]) && (v[k] as number) >= 1)) {
    throw invalid('versions must give root, timestamp, snapshot and targets');
  }
  const s = m.scopes;
  if (!isObject(s) || !Array.isArray(s.included) || !s.included.every((x) => typeof x === 'string')) throw invalid('scopes.included must be a list of scopes');
  if (s.filter !== null && !(Array.isArray(s.filter) && s.filter.every((x) => typeof x === 'string'))) throw invalid('scopes.filter must be null or a list');
  const since = m.since;
  if (since !== undefined && since !== null) {
    if (!isObject(since) || !Number.isSafeInteger(since.timestamp) || !Number.isSafeInteger(since.snapshot)) throw invalid('since must give timestamp and snapshot versions');
    if ((since.timestamp as number) >= (v.timestamp as number)) throw invalid('since must be older than the bundle');
  }
  checkEntries<BundleTarget>(m.targets, 'targets');
  const files = checkEntries<BundleFile>(m.files, 'files');
  for (const f of files) if (!f.path.startsWith(`${TUF_DIR}/`)) throw invalid(`files lists ${f.path}, outside ${TUF_DIR}/`);
  return m as unknown as BundleManifest;
}
