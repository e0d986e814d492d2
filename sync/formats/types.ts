/**
 * Types shared by the format writers (`keyshare fetch --format ...`, CONTRACT.md "What
 * `fetch --format` writes into --out"). Writers are pure: trust documents in, files out.
 */
import type { TrustDocument } from '../../shared/types.js';

export type UnenforcedKind = 'anchor' | 'certificate' | 'signature';

/** One item of the trust that the files of a format do not enforce. */
export interface UnenforcedItem {
  scope: string;
  kind: UnenforcedKind;
  /** anchor: its ID; certificate: `{issuer anchor ID}/{serial hex}`; signature: its digest. */
  id: string;
  /** Why, and which path enforces it fully. Independent of the scope, so items can be grouped. */
  reason: string;
}

export interface OutputFile {
  /** Relative POSIX path inside --out. */
  path: string;
  content: string | Uint8Array;
  mode?: number;
}

export interface FormatInput {
  /** Verified trust documents, one per requested scope (may include the '*' scope). */
  documents: TrustDocument[];
  /** Each --repository, resolved to its keyshare scope by the caller. */
  repositories: { repository: string; scope: string }[];
  /** The FINAL absolute --out path (files are staged elsewhere, then renamed), for absolute paths inside configs. */
  outDir: string;
  /** The verified CRL targets the documents list (`crls`), DER by target path; writers that carry CRLs use them. */
  crls?: ReadonlyMap<string, Uint8Array>;
  /**
   * containers: where simple-signing (OpenPGP) signatures are read (`lookaside`) and written
   * (`lookaside-staging`), for registries.d (`fetch --lookaside URL --lookaside-staging URL`).
   */
  lookaside?: { url?: string; staging?: string };
}

export interface FormatOutput {
  files: OutputFile[];
  warnings: string[];
  /** The items of the trust these files do not enforce (enforce.ts), each also a warning for fetch. */
  unenforced: UnenforcedItem[];
}

export type FormatName = 'notation' | 'containers' | 'pem' | 'json' | 'sigstore' | 'kubernetes';
export const FORMAT_NAMES: readonly FormatName[] = ['notation', 'containers', 'pem', 'json', 'sigstore', 'kubernetes'];

/** Error codes of this area (thrown as KeyshareError). */
export const FormatCodes = {
  /** The trust cannot be expressed faithfully in the target format (or the format is unknown). */
  FORMAT_UNSUPPORTED: 'FORMAT_UNSUPPORTED',
  /** The input is inconsistent (duplicate scope, repository without its scope's document, ...). */
  FORMAT_INPUT_INVALID: 'FORMAT_INPUT_INVALID',
  /** `fetch --strict`: the format cannot enforce an item of the trust (enforce.ts); nothing was written. */
  UNENFORCEABLE: 'UNENFORCEABLE',
} as const;
