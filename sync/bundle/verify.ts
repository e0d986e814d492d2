/**
 * Verification of an extracted bundle, before anything changes (CONTRACT.md "Offline bundles"):
 *
 *  1. bundle.json: every file it lists is there with its length and SHA-256, and nothing else
 *     is (a cheap check for corruption; bundle.json itself is not signed).
 *  2. The root chain: version 1 to the newest, each signed by a threshold of the previous
 *     root's keys and of its own (TUF spec 5.3.4), and the pinned root is one of its links.
 *     That binds the origin ID (a hash of root version 1) to the pinned root.
 *  3. The full TUF client workflow with tuf-js, pinned to the given root, reading the bundle's
 *     files through a fetcher (TUF spec 5.3-5.6): every delegated role the snapshot lists; then
 *     every target file in the bundle against its verified TargetFile (5.7).
 * Every file of the bundle must have been read by (2) or (3): a file nothing verified is
 * refused, so the mirror later serves verified bytes only. For an incremental bundle the
 * directory also holds the files kept from earlier bundles (import.ts); the same workflow
 * verifies the whole, and only what it verified is kept.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { join } from 'node:path';
import { canonicalize } from '@tufjs/canonical-json';
import { Metadata, MetadataKind, type Root, type Snapshot, type Targets, type Timestamp } from '@tufjs/models';
import { Updater } from 'tuf-js';
import { KeyshareError, Codes } from '../../service/errors.js';
import { BundleCodes, bundleError } from '../../shared/bundle/errors.js';
import { toBundleError } from './errors.js';
import { BUNDLE_METADATA_URL, BUNDLE_TARGETS_URL, DirectoryFetcher } from './fetcher.js';
import { BUNDLE_JSON, TUF_DIR, consistentTargetName, originOf, parseManifest, sha256Hex, type BundleManifest, type VerifiedBundle, type VerifiedTarget } from '../../shared/bundle/format.js';

/** What verify() reads from tuf-js 5.0.1 beyond its public API (pinned in package.json). */
interface UpdaterInternals {
  trustedSet: { referenceTime: Date; root: Metadata<Root>; timestamp?: Metadata<Timestamp>; snapshot?: Metadata<Snapshot> };
  loadTargets(role: string, parent: string): Promise<Metadata<Targets> | undefined>;
}

const invalid = (m: string, cause?: unknown) => bundleError(BundleCodes.BUNDLE_INVALID, m, cause);

function parseRoot(bytes: Buffer, what: string, code: string = BundleCodes.BUNDLE_INVALID): Metadata<Root> {
  try {
    return Metadata.fromJSON(MetadataKind.Root, JSON.parse(bytes.toString('utf8')));
  } catch (e) {
    // Two signatures under one key ID: one key counted twice towards a threshold (TUF spec 5.3.4).
    if (/multiple signatures found for keyid/.test((e as Error).message)) throw toBundleError(e);
    throw bundleError(code, `${what} is not TUF root metadata: ${(e as Error).message}`, e);
  }
}

/** TUF spec 5.3.4: `next` is signed by a threshold of `trusted`'s root keys and of its own. */
function checkRootStep(trusted: Metadata<Root>, next: Metadata<Root>): void {
  try {
    trusted.verifyDelegate(MetadataKind.Root, next);
    next.verifyDelegate(MetadataKind.Root, next);
  } catch (e) {
    throw toBundleError(e);
  }
}

const canonical = (md: Metadata<Root>) => canonicalize(md.signed.toJSON() as never);

/**
 * Verifies the bundle extracted in `dir` (`bundle.json`, `tuf/`) against `pinnedRoot`, at the
 * reference time `now`. `work` is an empty scratch directory. `trustedRoot` is the newest root
 * earlier bundles of the same origin brought: the chain must hold it (TUF spec 5.2: a client
 * updates from the newest root it trusts), so a chain forked with a root key rotated out since
 * is refused even though it verifies from the pinned root.
 */
export async function verifyBundle(dir: string, extracted: Map<string, number>, pinnedRoot: Buffer, now: Date, work: string, trustedRoot?: Buffer): Promise<VerifiedBundle> {
  // 1. bundle.json and the digests it lists.
  if (!extracted.has(BUNDLE_JSON)) throw invalid('the archive has no bundle.json');
  const manifest = parseManifest(readFileSync(join(dir, BUNDLE_JSON)));
  const listed = new Map(manifest.files.map((f) => [f.path, f]));
  for (const path of extracted.keys()) if (path !== BUNDLE_JSON && !listed.has(path)) throw invalid(`${path} is in the archive but not in bundle.json`);
  for (const f of manifest.files) {
    if (!extracted.has(f.path)) throw invalid(`${f.path} is listed in bundle.json but missing from the archive`);
    const bytes = readFileSync(join(dir, f.path));
    if (bytes.length !== f.length || sha256Hex(bytes) !== f.sha256) {
      throw bundleError(BundleCodes.HASH_MISMATCH, `${f.path} does not match its digest in bundle.json (corrupted or tampered with)`);
    }
  }
  const tufDir = join(dir, TUF_DIR);
  const verified = new Set<string>();

  // 2. The root chain 1..N, and the pinned root in it.
  const rootFiles = new Map<number, string>();
  for (const f of manifest.files) {
    const m = /^tuf\/(\d+)\.root\.json$/.exec(f.path);
    if (m) rootFiles.set(Number(m[1]), f.path.slice(TUF_DIR.length + 1));
  }
  const newest = Math.max(0, ...rootFiles.keys());
  if (newest === 0) throw invalid('the bundle has no root metadata');
  const roots: Metadata<Root>[] = [];
  for (let v = 1; v <= newest; v++) {
    const rel = rootFiles.get(v);
    if (!rel) throw invalid(`root version ${v} is missing: a bundle holds every root version`);
    const md = parseRoot(readFileSync(join(tufDir, rel)), rel);
    if (md.signed.version !== v) throw invalid(`${rel} holds root version ${md.signed.version}`);
    if (v === 1) checkRootStep(md, md);
    else checkRootStep(roots[v - 2]!, md);
    roots.push(md);
  }
  const pinned = parseRoot(pinnedRoot, 'the --root file', BundleCodes.ROOT_INVALID);
  const same = roots[pinned.signed.version - 1];
  if (!same || canonical(same) !== canonical(pinned)) {
    throw bundleError(
      BundleCodes.BAD_SIGNATURE,
      `the pinned root (version ${pinned.signed.version}) is not a root of this bundle's repository: the bundle comes from another repository, or the wrong root was given`,
    );
  }
  if (trustedRoot) {
    const trusted = parseRoot(trustedRoot, 'the root trusted from earlier bundles');
    const at = roots[trusted.signed.version - 1];
    if (!at) {
      throw bundleError(BundleCodes.ROLLBACK, `the bundle's newest root is version ${newest}, older than version ${trusted.signed.version} already trusted from an earlier bundle`);
    }
    if (canonical(at) !== canonical(trusted)) {
      throw bundleError(
        BundleCodes.BAD_SIGNATURE,
        `the bundle's root version ${trusted.signed.version} differs from the one already trusted from an earlier bundle of this origin: a forked root chain`,
      );
    }
  }
  // Roots before the pinned one are verified by the chain above; tuf-js verifies the rest again.
  for (let v = 1; v <= pinned.signed.version; v++) verified.add(rootFiles.get(v)!);
  const origin = originOf(roots[0]!.signed.toJSON());
  if (manifest.origin !== origin) throw invalid(`bundle.json names origin ${manifest.origin}, but the repository's origin is ${origin}`);

  // 3. The TUF client workflow over the bundle's files, pinned to the given root.
  const metadataDir = join(work, 'metadata');
  mkdirSync(metadataDir, { recursive: true });
  writeFileSync(join(metadataDir, 'root.json'), pinnedRoot);
  const fetcher = new DirectoryFetcher(tufDir);
  let updater: Updater;
  try {
    updater = new Updater({ metadataDir, metadataBaseUrl: BUNDLE_METADATA_URL, targetBaseUrl: BUNDLE_TARGETS_URL, targetDir: work, fetcher });
  } catch (e) {
    throw bundleError(BundleCodes.ROOT_INVALID, `the --root file is not a root signed by its own keys: ${(e as Error).message}`, e);
  }
  const internals = updater as unknown as UpdaterInternals;
  if (!(internals.trustedSet?.referenceTime instanceof Date) || typeof internals.loadTargets !== 'function') {
    throw new KeyshareError(Codes.INTERNAL, 'this tuf-js version does not expose what bundle verification needs');
  }
  // TUF spec 5.1: one fixed reference time for the whole update (ours, not the wall clock's).
  internals.trustedSet.referenceTime = now;

  const targets: VerifiedTarget[] = [];
  try {
    await updater.refresh();
    // Every delegated role, not only those on the path of a target the bundle carries.
    const listed = new Map<string, string>();
    const visit = async (role: string, parent: string, depth: number): Promise<void> => {
      if (depth > 8) throw invalid('the delegations are nested too deeply');
      const md = await internals.loadTargets(role, parent);
      for (const t of Object.values(md?.signed.targets ?? {})) if (t.hashes.sha256) listed.set(t.path, t.hashes.sha256);
      const d = md?.signed.delegations;
      if (!d) return;
      for (const child of Object.keys(d.roles ?? {})) await visit(child, role, depth + 1);
      for (const child of d.succinctRoles?.getRoles() ?? []) await visit(child, role, depth + 1);
    };
    await visit(MetadataKind.Targets, MetadataKind.Root, 0);
    const carried = new Map(manifest.targets.map((t) => [t.path, t]));
    for (const t of manifest.targets) {
      const sha = listed.get(t.path);
      if (!sha) throw invalid(`target ${t.path} is not in the signed metadata`);
      if (sha !== t.sha256) throw bundleError(BundleCodes.HASH_MISMATCH, `bundle.json's digest of ${t.path} differs from the signed metadata's`);
    }
    // Every target the metadata lists and the directory holds (for an incremental bundle, also
    // those kept from earlier bundles), each resolved through the delegations like a client does.
    for (const [path, sha] of listed) {
      const rel = `targets/${consistentTargetName(path, sha)}`;
      const file = join(tufDir, rel);
      if (!existsSync(file)) {
        if (carried.has(path)) throw invalid(`target ${path} is missing (${TUF_DIR}/${rel})`);
        continue;
      }
      const info = await updater.getTargetInfo(path);
      if (!info || info.hashes.sha256 !== sha) continue; // listed by a role not trusted for this path: not verified
      if (carried.has(path) && info.length !== carried.get(path)!.length) {
        throw bundleError(BundleCodes.HASH_MISMATCH, `bundle.json's length of ${path} differs from the signed metadata's`);
      }
      // TUF spec 5.7.3: the file, under its consistent-snapshot name, against the verified length
      // and hashes. The same check as tuf-js's downloadTarget, minus its copy to a target dir.
      await info.verify(Readable.from([readFileSync(file)]));
      fetcher.served.add(rel);
      targets.push({ path, sha256: sha, file });
    }
  } catch (e) {
    throw toBundleError(e);
  }
  for (const rel of fetcher.served) verified.add(rel);
  for (const f of manifest.files) {
    const rel = f.path.slice(TUF_DIR.length + 1);
    if (!verified.has(rel)) throw invalid(`${f.path} is not part of the signed repository`);
  }

  const { root, timestamp, snapshot } = internals.trustedSet;
  if (!timestamp || !snapshot) throw new KeyshareError(Codes.INTERNAL, 'tuf-js finished without timestamp and snapshot');
  const timestampFile = manifest.files.find((f) => f.path === `${TUF_DIR}/timestamp.json`);
  if (!timestampFile) throw invalid('the bundle has no timestamp.json');
  return {
    origin,
    manifest,
    root: { version: root.signed.version, bytes: readFileSync(join(tufDir, rootFiles.get(root.signed.version)!)) },
    timestamp: { version: timestamp.signed.version, sha256: timestampFile.sha256, expires: timestamp.signed.expires },
    snapshot: {
      version: snapshot.signed.version,
      meta: Object.fromEntries(Object.entries(snapshot.signed.meta).map(([file, m]) => [file.replace(/\.json$/, ''), m.version])),
    },
    targets,
    files: [...verified].sort().map((rel) => ({ path: rel, file: join(tufDir, rel) })),
  };
}
