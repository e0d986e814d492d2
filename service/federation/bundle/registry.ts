/**
 * Bundles through OCI registries (issue 20; CONTRACT.md "Offline bundles"): the mirror that
 * already carries container images across the air gap carries the trust too.
 *
 *  - push: export (export.ts, gzip) to a scratch file, upload the empty config and the bundle
 *    layer, then the manifest under the given tag and under the version tag (`N`; `N-since-V`
 *    for an incremental bundle, so that `N` always imports on its own): a site can pin one, and
 *    a rollback of the moving tag is visible;
 *  - pull: the manifest (digest-checked, size-capped, of our artifact type), then the layer,
 *    refused before download when its descriptor is over the archive limit, streamed to a
 *    scratch file and checked against its digest; only then renamed to --out;
 *  - import: an incremental bundle this site cannot apply is refused from its manifest, before
 *    download (BUNDLE_GAP); else pull into a scratch dir, then the file import (import.ts):
 *    verification first, ROLLBACK / EXPIRED_METADATA / BUNDLE_GAP refusals, one transaction.
 */
import { createReadStream, mkdtempSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { KeyshareError, Codes } from '../../errors.js';
import { sha256Stream } from '../../../shared/hash.js';
import { bundleManifest, EMPTY_CONFIG, EMPTY_CONFIG_BYTES, parseBundleManifest, Annotations } from '../../../shared/oci/artifact.js';
import type { FederationClient, Registry, RegistryOptions } from '../ports.js';
import { formatOciReference, parseOciReference, type OciReference } from '../../../shared/oci/reference.js';
import { DEFAULT_LIMITS } from '../../../shared/bundle/extract.js';
import { exportBundle, type ExportOptions, type ExportResult } from './export.js';
import { gapError, heldBundleVersion, importBundle, type ImportOptions, type ImportResult } from './import.js';

export interface PushOptions extends Omit<ExportOptions, 'out' | 'gzip'> {
  /** The client library, behind federation's port (ports.ts): the registry client. */
  client: FederationClient;
  ref: string;
  registry?: RegistryOptions;
  /** Where the scratch file goes (default: the OS temp dir). */
  tmpDir?: string;
}

export interface PushResult extends Omit<ExportResult, 'out'> {
  ref: string;
  /** The manifest's digest: `oci://host/repo@<digest>` names this bundle for good. */
  digest: string;
  tags: string[];
  layer: { digest: string; size: number };
}

export interface PullResult {
  ref: string;
  digest: string;
  layer: { digest: string; size: number };
  origin: string | null;
  timestampVersion: number | null;
  since: number | null;
  createdAt: string | null;
}

function pushRef(ref: string): OciReference {
  const r = parseOciReference(ref);
  if (r.digest) throw new KeyshareError(Codes.BAD_REQUEST, `push names a tag, not a digest (${ref})`);
  return r;
}

async function fileDigest(file: string): Promise<string> {
  const hash = sha256Stream();
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return `sha256:${hash.digest('hex')}`;
}

export async function pushBundle(options: PushOptions): Promise<PushResult> {
  const ref = pushRef(options.ref);
  const client = options.client.registry(ref, options.registry, true);
  const scratch = mkdtempSync(join(options.tmpDir ?? tmpdir(), 'keyshare-push-'));
  try {
    const { ref: _ref, registry: _registry, tmpDir: _tmp, client: _client, ...exportOptions } = options;
    const exported = await exportBundle({ ...exportOptions, out: join(scratch, 'bundle.tar.gz'), gzip: true });
    const layer = { digest: await fileDigest(exported.out), size: statSync(exported.out).size };
    await client.pushBlob({ bytes: EMPTY_CONFIG_BYTES }, EMPTY_CONFIG.digest, EMPTY_CONFIG.size);
    await client.pushBlob({ file: exported.out }, layer.digest, layer.size);
    const manifest = bundleManifest(layer, { origin: exported.origin, timestampVersion: exported.versions.timestamp, createdAt: exported.createdAt, since: exported.since });
    // The version tag first: the moving tag never names a manifest that the version tag lacks.
    const tags = [...new Set([versionTag(exported.versions.timestamp, exported.since), ref.tag!])];
    let digest = '';
    for (const tag of tags) digest = await client.putManifest(tag, manifest);
    const { out: _out, ...rest } = exported;
    return { ...rest, ref: formatOciReference(ref), digest, tags, layer };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * The version tag of a pushed bundle: `N` for a full bundle of timestamp version N, so that the
 * tag `N` always names a bundle that imports on its own; `N-since-V` for an incremental one.
 */
export const versionTag = (version: number, since: number | null) => (since === null ? String(version) : `${version}-since-${since}`);

const int = (v: string | undefined) => (v !== undefined && /^\d{1,15}$/.test(v) ? Number(v) : null);

/** What a bundle manifest's annotations say (hints: the import trusts only the TUF metadata). */
function described(annotations: Record<string, string>) {
  return {
    origin: annotations[Annotations.origin] ?? null,
    timestampVersion: int(annotations[Annotations.version]),
    since: int(annotations[Annotations.since]),
    createdAt: annotations[Annotations.created] ?? null,
  };
}

/** Called with the manifest's description before the layer is downloaded; throws to refuse it. */
type BeforeDownload = (info: ReturnType<typeof described>, client: Registry, ref: OciReference) => Promise<void>;

/** Pulls the bundle layer to `out` (written under a temporary name, renamed once its digest checks). */
export async function pullBundle(options: { client: FederationClient; ref: string; out: string; registry?: RegistryOptions; maxBytes?: number; beforeDownload?: BeforeDownload }): Promise<PullResult> {
  const ref = parseOciReference(options.ref);
  const client = options.client.registry(ref, options.registry);
  const { bytes, digest } = await client.getManifest(ref.digest ?? ref.tag!);
  const { layer, annotations } = parseBundleManifest(bytes);
  const info = described(annotations);
  await options.beforeDownload?.(info, client, ref);
  const partial = join(dirname(options.out), `.${basename(options.out)}.partial-${process.pid}`);
  try {
    await client.downloadBlob(layer, partial, options.maxBytes ?? DEFAULT_LIMITS.maxArchiveBytes);
    renameSync(partial, options.out);
  } finally {
    rmSync(partial, { force: true });
  }
  return { ref: formatOciReference(ref), digest, layer: { digest: layer.digest, size: layer.size }, ...info };
}

/**
 * The full bundle to use when this site cannot apply an incremental one: the newest tag `N` of
 * the repository (a full bundle, by versionTag) at or above the version the delta needs,
 * checked to be a full bundle of that version. Only read on a gap.
 */
async function fullBundleRemedy(client: Registry, ref: OciReference, version: number | null, since: number): Promise<{ text: string; fullBundle: string | null }> {
  const tags = await client.listTags().catch(() => [] as string[]);
  const candidates = tags.filter((t) => /^\d{1,15}$/.test(t)).map(Number).filter((v) => v >= since).sort((a, b) => b - a);
  for (const v of candidates.slice(0, 5)) {
    let full = false;
    try {
      const m = described(parseBundleManifest((await client.getManifest(String(v))).bytes).annotations);
      full = m.since === null && m.timestampVersion === v;
    } catch {
      // gone since the listing, or not a bundle: not a remedy
    }
    if (!full) continue;
    const fullBundle = `oci://${ref.registry}/${ref.repository}:${v}`;
    if (version !== null && v < version) return { text: `import the full bundle ${fullBundle} (version ${v}) first, then this one`, fullBundle };
    return { text: `import the full bundle ${fullBundle} (version ${v}) instead`, fullBundle };
  }
  return { text: `no full bundle of version ${since} or later is tagged in ${ref.registry}/${ref.repository}: push one at the origin (\`bundle push\` without --since)`, fullBundle: null };
}

/**
 * Issue 20: an incremental bundle whose base this site lacks is refused from its manifest's
 * annotations, before its layer is downloaded (BUNDLE_GAP, naming the full bundle to use). The
 * import checks again from the verified bundle.json, whatever the annotations say.
 */
function gapCheck(options: Pick<ImportOptions, 'store' | 'dataDir' | 'database'>): BeforeDownload {
  return async (info, client, ref) => {
    if (info.since === null || info.origin === null) return;
    const held = await heldBundleVersion(options, info.origin);
    if (held !== null && held >= info.since) return;
    throw gapError(info.origin, info.since, held, await fullBundleRemedy(client, ref, info.timestampVersion, info.since));
  };
}

export type RegistryImportResult = ImportResult & { pulled: PullResult };

/** `bundle import oci://...`: pull (every digest checked), then the file import. */
export async function importFromRegistry(options: Omit<ImportOptions, 'file'> & { ref: string; registry?: RegistryOptions }): Promise<RegistryImportResult> {
  const scratch = mkdtempSync(join(options.tmpDir ?? tmpdir(), 'keyshare-pull-'));
  try {
    const file = join(scratch, 'bundle.tar.gz');
    const { ref, registry, ...importOptions } = options;
    const pulled = await pullBundle({ client: options.client, ref, out: file, registry, maxBytes: options.limits?.maxArchiveBytes, beforeDownload: gapCheck(importOptions) });
    const imported = await importBundle({ ...importOptions, file });
    return { ...imported, pulled };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
