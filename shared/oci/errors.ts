/**
 * Error codes of bundles in OCI registries (issue 20; CONTRACT.md "CLI": stable upper-case
 * codes). Size limits reuse BUNDLE_TOO_LARGE, and everything after the pull (verification,
 * ROLLBACK, EXPIRED_METADATA, BUNDLE_GAP) is the file import's own code.
 */
import { KeyshareError } from '../errors.js';

export const OciCodes = {
  /** An `oci://` reference that does not parse (host, repository, tag or digest). */
  OCI_REFERENCE_INVALID: 'OCI_REFERENCE_INVALID',
  /** The registry cannot be reached: connection refused, timeout, or a 5xx answer. */
  REGISTRY_UNAVAILABLE: 'REGISTRY_UNAVAILABLE',
  /** The registry's TLS certificate does not verify (give its CA with --ca). */
  REGISTRY_TLS: 'REGISTRY_TLS',
  /** The registry refused our credentials, or wants some and we have none (401/403). */
  REGISTRY_AUTH_FAILED: 'REGISTRY_AUTH_FAILED',
  /** The registry answered outside the OCI distribution spec (an unexpected status or header). */
  REGISTRY_PROTOCOL: 'REGISTRY_PROTOCOL',
  /** The tag or manifest digest is not in the repository (MANIFEST_UNKNOWN, NAME_UNKNOWN). */
  OCI_MANIFEST_UNKNOWN: 'OCI_MANIFEST_UNKNOWN',
  /** A blob the manifest names is not in the registry (BLOB_UNKNOWN). */
  OCI_BLOB_UNKNOWN: 'OCI_BLOB_UNKNOWN',
  /** The manifest is not JSON or not an OCI image manifest. */
  OCI_MANIFEST_INVALID: 'OCI_MANIFEST_INVALID',
  /** A well-formed manifest of another artifact type (or with other layers than one bundle). */
  OCI_NOT_A_BUNDLE: 'OCI_NOT_A_BUNDLE',
  /** A manifest or blob whose bytes do not match the digest that names them. */
  OCI_DIGEST_MISMATCH: 'OCI_DIGEST_MISMATCH',
} as const;

export type OciCode = (typeof OciCodes)[keyof typeof OciCodes];

export function ociError(code: OciCode, message: string, cause?: unknown): KeyshareError {
  return new KeyshareError(code, message, { cause });
}
