/**
 * A keyshare bundle as an OCI 1.1 artifact (issue 20; CONTRACT.md "Offline bundles"). Pure:
 * the manifest we push, and the checks on a manifest we pull.
 *
 * OCI image spec 1.1 "Guidelines for artifact usage": `artifactType` names the artifact, the
 * config is the empty descriptor (`{}`), and the content is the layers, here exactly one: the
 * bundle tar, gzip-compressed. The annotations are hints for people and mirrors (origin,
 * timestamp version, creation time, the version an incremental bundle continues); the import
 * trusts only the TUF metadata inside the bundle.
 */
import { OciCodes, ociError } from './errors.js';
import { DIGEST } from './reference.js';

export const OCI_MANIFEST_MEDIA_TYPE = 'application/vnd.oci.image.manifest.v1+json';
export const BUNDLE_ARTIFACT_TYPE = 'application/vnd.keyshare.bundle.v1';
export const BUNDLE_LAYER_MEDIA_TYPE = 'application/vnd.keyshare.bundle.v1.tar+gzip';
/** OCI image spec 1.1 "Guidance for an empty descriptor": the two bytes `{}`. */
export const EMPTY_CONFIG = {
  mediaType: 'application/vnd.oci.empty.v1+json',
  digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
  size: 2,
  data: 'e30=',
} as const;
export const EMPTY_CONFIG_BYTES = Buffer.from('{}');

/** OCI distribution spec: registries should accept manifests of at least 4 MiB; we read no more. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

export const Annotations = {
  created: 'org.opencontainers.image.created',
  title: 'org.opencontainers.image.title',
  origin: 'io.keyshare.bundle.origin',
  version: 'io.keyshare.bundle.timestamp-version',
  since: 'io.keyshare.bundle.since',
} as const;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

export interface BundleArtifactInfo {
  origin: string;
  timestampVersion: number;
  createdAt: string;
  /** The timestamp version an incremental bundle continues (`--since`), or null. */
  since: number | null;
}

/** The manifest's bytes, as pushed (the registry names them by their SHA-256). */
export function bundleManifest(layer: { digest: string; size: number }, info: BundleArtifactInfo): Buffer {
  const annotations: Record<string, string> = {
    [Annotations.created]: info.createdAt,
    [Annotations.origin]: info.origin,
    [Annotations.version]: String(info.timestampVersion),
  };
  if (info.since !== null) annotations[Annotations.since] = String(info.since);
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST_MEDIA_TYPE,
    artifactType: BUNDLE_ARTIFACT_TYPE,
    config: EMPTY_CONFIG,
    layers: [{ mediaType: BUNDLE_LAYER_MEDIA_TYPE, digest: layer.digest, size: layer.size, annotations: { [Annotations.title]: `bundle-${info.timestampVersion}.tar.gz` } }],
    annotations,
  };
  return Buffer.from(JSON.stringify(manifest));
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function descriptor(v: unknown, what: string): Descriptor {
  if (!isObject(v) || typeof v.mediaType !== 'string' || typeof v.digest !== 'string' || !Number.isSafeInteger(v.size) || (v.size as number) < 0) {
    throw ociError(OciCodes.OCI_MANIFEST_INVALID, `the manifest's ${what} is not a descriptor (mediaType, digest, size)`);
  }
  if (!DIGEST.test(v.digest)) throw ociError(OciCodes.OCI_MANIFEST_INVALID, `the manifest's ${what} has digest ${JSON.stringify(v.digest.slice(0, 100))}: only sha256 is accepted`);
  return v as unknown as Descriptor;
}

/**
 * Checks a pulled manifest is a keyshare bundle and returns its one layer: OCI_MANIFEST_INVALID
 * for what is not an OCI image manifest, OCI_NOT_A_BUNDLE for another artifact.
 */
export function parseBundleManifest(bytes: Buffer): { layer: Descriptor; annotations: Record<string, string> } {
  let m: unknown;
  try {
    m = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw ociError(OciCodes.OCI_MANIFEST_INVALID, 'the manifest is not JSON', e);
  }
  if (!isObject(m) || m.schemaVersion !== 2) throw ociError(OciCodes.OCI_MANIFEST_INVALID, 'the manifest is not an OCI image manifest (schemaVersion 2)');
  if (m.mediaType !== undefined && m.mediaType !== OCI_MANIFEST_MEDIA_TYPE) {
    throw ociError(OciCodes.OCI_NOT_A_BUNDLE, `the reference names a ${String(m.mediaType).slice(0, 100)}, not an OCI artifact manifest of a keyshare bundle`);
  }
  const config = descriptor(m.config, 'config');
  const layers = Array.isArray(m.layers) ? m.layers.map((l, i) => descriptor(l, `layer ${i}`)) : null;
  if (!layers) throw ociError(OciCodes.OCI_MANIFEST_INVALID, 'the manifest has no layers list');
  // OCI image spec 1.1: artifactType, or (before it) the config's media type, names the artifact.
  const type = typeof m.artifactType === 'string' ? m.artifactType : config.mediaType;
  if (type !== BUNDLE_ARTIFACT_TYPE) throw ociError(OciCodes.OCI_NOT_A_BUNDLE, `the artifact type is ${JSON.stringify(type.slice(0, 100))}, not ${BUNDLE_ARTIFACT_TYPE}`);
  if (layers.length !== 1 || layers[0]!.mediaType !== BUNDLE_LAYER_MEDIA_TYPE) {
    throw ociError(OciCodes.OCI_NOT_A_BUNDLE, `a keyshare bundle artifact has exactly one layer of type ${BUNDLE_LAYER_MEDIA_TYPE}`);
  }
  const annotations = isObject(m.annotations) ? Object.fromEntries(Object.entries(m.annotations).filter(([, v]) => typeof v === 'string')) as Record<string, string> : {};
  return { layer: layers[0]!, annotations };
}
