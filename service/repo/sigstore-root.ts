/**
 * `serve --sigstore-scope SCOPE` (issue 19, CONTRACT.md "Target files"): that scope's trust as a
 * Sigstore `TrustedRoot`, the top-level target `trusted_root.json`, so that a Sigstore client
 * pointed at keyshare as its TUF mirror (sigstore-js `tufMirrorURL` = `{server}/tuf`,
 * `cosign initialize --mirror`) gets the organisation's trusted root. The name is the one
 * Sigstore clients ask for; a top-level target is the first place a TUF client looks (TUF spec
 * 5.6.7: a role's own targets before its delegations).
 *
 * The target follows the scope's published trust document: the publisher asks `wanted` when
 * that document changes in a publish, and once after each load (a changed setting, or a
 * repository published without it). No scope: no target (one published before is removed).
 */
import type { TrustDocument } from '../domain/types.js';

export const SIGSTORE_TRUSTED_ROOT_TARGET = 'trusted_root.json';

/** What the publisher is handed at the composition root (cli/commands/serve.ts). */
export interface SigstoreRootSource {
  /** The scope published as trusted_root.json; null: none. */
  scope: string | null;
  /** The scope's TrustedRoot bytes, built from its published document (sync/formats/sigstore.ts). */
  build(doc: TrustDocument): Promise<Uint8Array>;
}

/**
 * The bytes trusted_root.json should have after a publish, given the scope's document as that
 * publish leaves it (null: the scope has none). A document that cannot be built into a trusted
 * root yields null, so that a Sigstore client never keeps trusting what keyshare no longer
 * publishes (fail closed); `onError` says why.
 */
export async function wantedTrustedRoot(source: SigstoreRootSource, docBytes: Uint8Array | null, onError?: (e: unknown) => void): Promise<Buffer | null> {
  if (source.scope === null || docBytes === null) return null;
  try {
    return Buffer.from(await source.build(JSON.parse(Buffer.from(docBytes).toString('utf8')) as TrustDocument));
  } catch (e) {
    onError?.(e);
    return null;
  }
}
