/**
 * `oci://host[:port]/repository[:tag][@sha256:<hex>]`: where a bundle lives in a registry.
 * Pure. The grammar is the OCI distribution spec's ("name" path components and tags) and the
 * OCI image spec's digests; a reference without tag or digest means the tag `latest`.
 */
import { OciCodes, ociError } from './errors.js';

export interface OciReference {
  /** `host[:port]`, as given (lower-case DNS name, IPv4, or [IPv6]). */
  registry: string;
  /** The host without port or brackets, e.g. to tell loopback. */
  hostname: string;
  repository: string;
  tag: string | null;
  digest: string | null;
}

const SCHEME = 'oci://';
const HOST = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::(\d{1,5}))?$/;
/** OCI distribution spec: `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`. */
const REPOSITORY = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
export const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
export const DIGEST = /^sha256:[a-f0-9]{64}$/;

const invalid = (ref: string, why: string) => ociError(OciCodes.OCI_REFERENCE_INVALID, `${JSON.stringify(ref.slice(0, 300))} is not an OCI reference (${why}); write oci://host[:port]/repository[:tag]`);

export const isOciReference = (s: string) => s.startsWith(SCHEME);

export function parseOciReference(ref: string): OciReference {
  if (!isOciReference(ref)) throw invalid(ref, 'no oci:// prefix');
  let rest = ref.slice(SCHEME.length);
  let digest: string | null = null;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw invalid(ref, 'the digest must be sha256: and 64 lower-case hex digits');
  }
  const slash = rest.indexOf('/');
  if (slash <= 0) throw invalid(ref, 'no repository after the host');
  const registry = rest.slice(0, slash);
  let path = rest.slice(slash + 1);
  const host = HOST.exec(registry);
  if (!host || (host[1] !== undefined && (Number(host[1]) < 1 || Number(host[1]) > 65535))) throw invalid(ref, `bad host ${JSON.stringify(registry)}`);
  let tag: string | null = null;
  const colon = path.lastIndexOf(':');
  if (colon >= 0) {
    tag = path.slice(colon + 1);
    path = path.slice(0, colon);
    if (!TAG.test(tag)) throw invalid(ref, `bad tag ${JSON.stringify(tag)}`);
  }
  if (path.length > 255 || !REPOSITORY.test(path)) throw invalid(ref, `bad repository ${JSON.stringify(path)}`);
  const hostname = registry.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
  return { registry, hostname, repository: path, tag: tag ?? (digest ? null : 'latest'), digest };
}

export function formatOciReference(r: OciReference): string {
  return `${SCHEME}${r.registry}/${r.repository}${r.tag ? `:${r.tag}` : ''}${r.digest ? `@${r.digest}` : ''}`;
}

/** Loopback hosts: the only ones `--insecure` (plain HTTP) may talk to. */
export function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}
