/**
 * Bundles through OCI registries (issue 20; CONTRACT.md "Offline bundles"): the mirror that
 * already carries container images across the air gap carries the trust too.
 *
 *  - push: export (export.ts, gzip) to a scratch file, upload the empty config and the bundle
 *    layer, then the manifest under the given tag and under the timestamp version (a site can
 *    pin one, and a rollback of the moving tag is visible);
 *  - pull: the manifest (digest-checked, size-capped, of our artifact type), then the layer,
 *    refused before download when its descriptor is over the archive limit, streamed to a
 *    scratch file and checked against its digest; only then renamed to --out;
 *  - import: pull into a scratch dir, then the file import (import.ts): verification first,
 *    ROLLBACK / EXPIRED_METADATA / BUNDLE_GAP refusals, one transaction.
 */
import { createHash } from 'node:crypto';
import { createReadStream, mkdtempSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { KeyshareError, Codes } from '../../service/errors.js';
import { bundleManifest, EMPTY_CONFIG, EMPTY_CONFIG_BYTES, parseBundleManifest, Annotations } from '../oci/artifact.js';
import { RegistryClient, type RegistryOptions } from '../oci/client.js';
import { formatOciReference, parseOciReference, type OciReference } from '../oci/reference.js';
import { DEFAULT_LIMITS } from './extract.js';
import { exportBundle, type ExportOptions, type ExportResult } from './export.js';
import { importBundle, type ImportOptions, type ImportResult } from './import.js';

export interface PushOptions extends Omit<ExportOptions, 'out' | 'gzip'> {
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
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return `sha256:${hash.digest('hex')}`;
}

export async function pushBundle(options: PushOptions): Promise<PushResult> {
  const ref = pushRef(options.ref);
  const client = new RegistryClient(ref, options.registry, true);
  const scratch = mkdtempSync(join(options.tmpDir ?? tmpdir(), 'keyshare-push-'));
  try {
    const { ref: _ref, registry: _registry, tmpDir: _tmp, ...exportOptions } = options;
    const exported = await exportBundle({ ...exportOptions, out: join(scratch, 'bundle.tar.gz'), gzip: true });
    const layer = { digest: await fileDigest(exported.out), size: statSync(exported.out).size };
    await client.pushBlob({ bytes: EMPTY_CONFIG_BYTES }, EMPTY_CONFIG.digest, EMPTY_CONFIG.size);
    await client.pushBlob({ file: exported.out }, layer.digest, layer.size);
    const manifest = bundleManifest(layer, { origin: exported.origin, timestampVersion: exported.versions.timestamp, createdAt: exported.createdAt, since: exported.since });
    // The version tag first: the moving tag never names a manifest that the version tag lacks.
    const tags = [...new Set([String(exported.versions.timestamp), ref.tag!])];
    let digest = '';
    for (const tag of tags) digest = await client.putManifest(tag, manifest);
    const { out: _out, ...rest } = exported;
    return { ...rest, ref: formatOciReference(ref), digest, tags, layer };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Pulls the bundle layer to `out` (written under a temporary name, renamed once its digest checks). */
export async function pullBundle(options: { ref: string; out: string; registry?: RegistryOptions; maxBytes?: number }): Promise<PullResult> {
  const ref = parseOciReference(options.ref);
  const client = new RegistryClient(ref, options.registry);
  const { bytes, digest } = await client.getManifest(ref.digest ?? ref.tag!);
  const { layer, annotations } = parseBundleManifest(bytes);
  const partial = join(dirname(options.out), `.${basename(options.out)}.partial-${process.pid}`);
  try {
    await client.downloadBlob(layer, partial, options.maxBytes ?? DEFAULT_LIMITS.maxArchiveBytes);
    renameSync(partial, options.out);
  } finally {
    rmSync(partial, { force: true });
  }
  const int = (v: string | undefined) => (v !== undefined && /^\d{1,15}$/.test(v) ? Number(v) : null);
  return {
    ref: formatOciReference(ref),
    digest,
    layer: { digest: layer.digest, size: layer.size },
    origin: annotations[Annotations.origin] ?? null,
    timestampVersion: int(annotations[Annotations.version]),
    since: int(annotations[Annotations.since]),
    createdAt: annotations[Annotations.created] ?? null,
  };
}

export type RegistryImportResult = ImportResult & { pulled: PullResult };

/** `bundle import oci://...`: pull (every digest checked), then the file import. */
export async function importFromRegistry(options: Omit<ImportOptions, 'file'> & { ref: string; registry?: RegistryOptions }): Promise<RegistryImportResult> {
  const scratch = mkdtempSync(join(options.tmpDir ?? tmpdir(), 'keyshare-pull-'));
  try {
    const file = join(scratch, 'bundle.tar.gz');
    const { ref, registry, ...importOptions } = options;
    const pulled = await pullBundle({ ref, out: file, registry, maxBytes: options.limits?.maxArchiveBytes });
    const imported = await importBundle({ ...importOptions, file });
    return { ...imported, pulled };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
