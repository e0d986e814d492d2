/** Building and signing TUF metadata with @tufjs/models, through the Signer port. */
import { canonicalize } from '@tufjs/canonical-json';
import { Key, Metadata, MetadataKind, Signature, type Root, type Snapshot, type Targets, type Timestamp } from '@tufjs/models';
import type { Signer, TufPublicKey } from '../crypto/signer.js';

export const SPEC_VERSION = '1.0.31';
export type AnyMetadata = Metadata<Root> | Metadata<Targets> | Metadata<Snapshot> | Metadata<Timestamp>;

export function tufKey(keyid: string, k: TufPublicKey): Key {
  return new Key({ keyID: keyid, keyType: k.keytype, scheme: k.scheme, keyVal: k.keyval });
}

/** Adds one signature per signer over the canonical JSON of `signed` (TUF spec 4.2). */
export async function signMetadata(md: AnyMetadata, signers: Signer[]): Promise<void> {
  const bytes = Buffer.from(canonicalize(md.signed.toJSON() as never));
  for (const s of signers) {
    const sig = await s.sign(bytes);
    md.signatures[s.keyid] = new Signature({ keyID: s.keyid, sig: Buffer.from(sig).toString('hex') });
  }
}

export function metadataBytes(md: AnyMetadata): Buffer {
  return Buffer.from(JSON.stringify(md.toJSON()));
}

export function parseMetadata(kind: MetadataKind.Root, bytes: Uint8Array): Metadata<Root>;
export function parseMetadata(kind: MetadataKind.Targets, bytes: Uint8Array): Metadata<Targets>;
export function parseMetadata(kind: MetadataKind.Snapshot, bytes: Uint8Array): Metadata<Snapshot>;
export function parseMetadata(kind: MetadataKind.Timestamp, bytes: Uint8Array): Metadata<Timestamp>;
export function parseMetadata(kind: MetadataKind, bytes: Uint8Array): AnyMetadata {
  return Metadata.fromJSON(kind as never, JSON.parse(Buffer.from(bytes).toString('utf8'))) as AnyMetadata;
}

export function expiresAt(now: Date, seconds: number): string {
  // TUF spec 4.2: expires is an ISO 8601 UTC time without fractional seconds.
  return new Date(Math.floor(now.getTime() / 1000) * 1000 + seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
