/** Building and signing TUF metadata with @tufjs/models, through the Signer port. */
import { canonicalJson } from '../../shared/canonical-json.js';
import { Key, MetaFile, Metadata, MetadataKind, Signature, TargetFile, type Root, type Snapshot, type Targets, type Timestamp } from '@tufjs/models';
import type { Signer, TufPublicKey } from '../crypto/signer.js';
import { targetsTexts } from './targets-text.js';

export const SPEC_VERSION = '1.0.31';
export type AnyMetadata = Metadata<Root> | Metadata<Targets> | Metadata<Snapshot> | Metadata<Timestamp>;

export function tufKey(keyid: string, k: TufPublicKey): Key {
  return new Key({ keyID: keyid, keyType: k.keytype, scheme: k.scheme, keyVal: k.keyval });
}

/** Adds one signature per signer over the canonical JSON of `signed` (TUF spec 4.2). */
export async function signMetadata(md: AnyMetadata, signers: Signer[]): Promise<void> {
  await signJson(md, signedJSON(md.signed), signers);
}

async function signJson(md: AnyMetadata, signed: Record<string, unknown>, signers: Signer[]): Promise<void> {
  await signCanonical(md, canonicalJson(signed), signers);
}

async function signCanonical(md: AnyMetadata, canonical: string, signers: Signer[]): Promise<void> {
  const bytes = Buffer.from(canonical);
  for (const s of signers) {
    const sig = await s.sign(bytes);
    md.signatures[s.keyid] = new Signature({ keyID: s.keyid, sig: Buffer.from(sig).toString('hex') });
  }
}

export function metadataBytes(md: AnyMetadata, signed: Record<string, unknown> = signedJSON(md.signed)): Buffer {
  // Metadata.toJSON, with the signed part built by signedJSON.
  const json = { signatures: Object.values(md.signatures).map((s) => s.toJSON()), signed, ...md.unrecognizedFields };
  return Buffer.from(JSON.stringify(json));
}

/**
 * signMetadata, then metadataBytes, with the signed part built once (bench B4: a publish that
 * grows the bins signs 1,024 of them); a simple targets-type role's as text (targets-text.ts,
 * bench B9: a parent change re-signs every bin).
 */
export async function signedBytes(md: AnyMetadata, signers: Signer[]): Promise<Buffer> {
  const texts = md.signed.type === MetadataKind.Targets && Object.keys(md.unrecognizedFields).length === 0 ? targetsTexts(md.signed as Targets) : null;
  if (texts) {
    await signCanonical(md, texts[0], signers);
    return Buffer.from(`{"signatures":${JSON.stringify(Object.values(md.signatures).map((s) => s.toJSON()))},"signed":${texts[1]}}`);
  }
  const signed = signedJSON(md.signed);
  await signJson(md, signed, signers);
  return metadataBytes(md, signed);
}

/*
 * @tufjs/models 4.1.1 builds the `targets` of a Targets role and the `meta` of a snapshot (to and
 * from JSON) by copying the whole object once per entry: quadratic in the entries. A hashed bin
 * holds about 400 targets at 100k scopes, so that copying cost more than the signing (bench B2
 * and B4, docs/BENCHMARKS.md). signedJSON and parseMetadata build the same objects in one pass,
 * in the same key order, so the bytes are unchanged.
 */
function signedJSON(signed: AnyMetadata['signed']): Record<string, unknown> {
  if (signed.type === MetadataKind.Targets) {
    const t = signed as Targets;
    const targets: Record<string, unknown> = {};
    for (const [path, file] of Object.entries(t.targets)) targets[path] = file.toJSON();
    const json: Record<string, unknown> = { _type: t.type, spec_version: t.specVersion, version: t.version, expires: t.expires, targets, ...t.unrecognizedFields };
    if (t.delegations) json.delegations = t.delegations.toJSON();
    return json;
  }
  if (signed.type === MetadataKind.Snapshot) {
    const s = signed as Snapshot;
    const meta: Record<string, unknown> = {};
    for (const [path, file] of Object.entries(s.meta)) meta[path] = file.toJSON();
    return { _type: s.type, meta, spec_version: s.specVersion, version: s.version, expires: s.expires, ...s.unrecognizedFields };
  }
  return signed.toJSON();
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function parseMetadata(kind: MetadataKind.Root, bytes: Uint8Array): Metadata<Root>;
export function parseMetadata(kind: MetadataKind.Targets, bytes: Uint8Array): Metadata<Targets>;
export function parseMetadata(kind: MetadataKind.Snapshot, bytes: Uint8Array): Metadata<Snapshot>;
export function parseMetadata(kind: MetadataKind.Timestamp, bytes: Uint8Array): Metadata<Timestamp>;
export function parseMetadata(kind: MetadataKind, bytes: Uint8Array): AnyMetadata {
  const data = JSON.parse(Buffer.from(bytes).toString('utf8')) as unknown;
  // The large maps are parsed here in one pass (see signedJSON); @tufjs/models checks the rest.
  const field = kind === MetadataKind.Targets ? 'targets' : kind === MetadataKind.Snapshot ? 'meta' : null;
  const signed = isRecord(data) && isRecord(data.signed) ? data.signed : null;
  if (!field || !signed || !isRecord(signed[field])) return Metadata.fromJSON(kind as never, data as never) as AnyMetadata;
  const entries = signed[field] as Record<string, unknown>;
  const md = Metadata.fromJSON(kind as never, { ...(data as Record<string, unknown>), signed: { ...signed, [field]: {} } } as never) as AnyMetadata;
  if (field === 'targets') {
    const targets: Record<string, TargetFile> = {};
    for (const [path, t] of Object.entries(entries)) targets[path] = TargetFile.fromJSON(path, t as never);
    (md.signed as { targets: Record<string, TargetFile> }).targets = targets;
  } else {
    const meta: Record<string, MetaFile> = {};
    for (const [path, m] of Object.entries(entries)) meta[path] = MetaFile.fromJSON(m as never);
    (md.signed as { meta: Record<string, MetaFile> }).meta = meta;
  }
  return md;
}

/**
 * Parsed targets-type metadata, by the record's bytes: stored records are immutable, and callers
 * only read what they load, so a bin is parsed once, not on every publish (bench B9: a parent
 * change loads every bin). What this process signs is remembered as it signed it (rememberTargets).
 */
const parsed = new WeakMap<Uint8Array, Targets>();

export function parsedTargets(bytes: Uint8Array): Targets {
  let signed = parsed.get(bytes);
  if (!signed) parsed.set(bytes, (signed = parseMetadata(MetadataKind.Targets, bytes).signed));
  return signed;
}

/** `bytes` are `signed`, signed here: the next publish reads its roles without parsing them again (bench B9: 128 bins). */
export function rememberTargets(bytes: Uint8Array, signed: Targets): void {
  parsed.set(bytes, signed);
}

export function expiresAt(now: Date, seconds: number): string {
  // TUF spec 4.2: expires is an ISO 8601 UTC time without fractional seconds.
  return new Date(Math.floor(now.getTime() / 1000) * 1000 + seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
