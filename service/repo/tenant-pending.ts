/**
 * Offline tenants (issue 7, "Tenants", `--offline`): the tenant holds its role key, so the
 * service cannot sign the tenant's role and bins. What it would publish for them waits here,
 * unsigned, as one "pending set" per tenant, until the tenant signs it (`keyshare tenant sign`).
 *
 * - `add`: the tenant's first role and bins; its delegation in targets is published with them.
 * - `update`: new versions of the tenant's published roles (changed trust, or a role past half
 *   its lifetime), with the trust documents and target files they list.
 *
 * A set has an id (a digest over its roles' signed bytes). When trust changes again the set is
 * rebuilt with a new id, and signatures over the old one are refused (STALE_SIGNING_REQUEST).
 * Signatures are checked with the tenant's registered key only (TUF spec 5.6.7.1: a delegated
 * role is verified with the keys and threshold its delegation names; the tenant's delegation
 * names one key, threshold 1). Pure, except `readPending` / `writePending` (the store's meta).
 */
import { sha256Hex, sha256Stream } from '../../shared/hash.js';
import { canonicalize } from '@tufjs/canonical-json';
import { Metadata, MetadataKind, type Targets } from '@tufjs/models';
import { verifyTufSignature } from '../crypto/signer.js';
import { KeyshareError } from '../errors.js';
import type { MetadataRecord, TargetRecord, TrustDocRecord } from '../store/index.js';
import { metadataBytes, parseMetadata } from './tuf.js';
import type { TenantRecord } from './tenants.js';

export const PendingCodes = {
  NOTHING_TO_SIGN: 'NOTHING_TO_SIGN',
  STALE_SIGNING_REQUEST: 'STALE_SIGNING_REQUEST',
  SIGNATURE_MISSING: 'SIGNATURE_MISSING',
  /** The same codes as the root ceremony (service/repo/ceremony.ts). */
  UNKNOWN_KEY: 'UNKNOWN_KEY',
  BAD_SIGNATURE: 'BAD_SIGNATURE',
} as const;

export interface PendingRole {
  role: string;
  version: number;
  /** The `signed` part of the role's metadata; signatures cover its canonical JSON (TUF spec 4.2). */
  signed: Record<string, unknown>;
}

export interface PendingSet {
  id: string;
  tenant: string;
  kind: 'add' | 'update';
  createdAt: string;
  /** What the set was built from (update: the held documents and expiring roles): equal basis, same set. */
  basis: string;
  roles: PendingRole[];
  /** update: the trust documents the roles list, published with them. */
  docs: TrustDocRecord[];
  /** update: their target files (base64); null removes the path. */
  targets: { path: string; bytes: string | null }[];
}

export interface TenantSignature {
  role: string;
  keyid: string;
  /** Hex signature over the canonical JSON of the role's `signed`. */
  sig: string;
}

/** The store's meta table, sync or async. */
export interface PendingStore {
  getMeta(key: string): string | null | Promise<string | null>;
  setMeta(key: string, value: string): void | Promise<void>;
}

/** One meta key per tenant; an empty value means nothing is pending (as root_proposal). */
const pendingKey = (tenant: string) => `tenant_pending:${tenant}`;

export async function readPending(store: PendingStore, tenant: string): Promise<PendingSet | null> {
  const raw = await store.getMeta(pendingKey(tenant));
  return raw ? (JSON.parse(raw) as PendingSet) : null;
}

/** The meta entry of a tenant's pending set (null: none), for a write inside a store transaction. */
export function pendingMeta(tenant: string, set: PendingSet | null): [string, string] {
  return [pendingKey(tenant), set ? JSON.stringify(set) : ''];
}

export async function writePending(store: PendingStore, tenant: string, set: PendingSet | null): Promise<void> {
  await store.setMeta(...pendingMeta(tenant, set));
}

/** The bytes a signature over a pending role covers. */
export function signedBytes(role: PendingRole): Buffer {
  return Buffer.from(canonicalize(role.signed as never));
}

export function newPendingSet(input: {
  tenant: string;
  kind: PendingSet['kind'];
  basis: string;
  roles: ReadonlyMap<string, Metadata<Targets>>;
  docs?: TrustDocRecord[];
  targets?: ReadonlyMap<string, Buffer | null>;
  now: Date;
}): PendingSet {
  const roles = [...input.roles]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([role, md]): PendingRole => ({ role, version: md.signed.version, signed: JSON.parse(metadataBytes(md).toString('utf8')).signed }));
  const digest = sha256Stream();
  for (const r of roles) digest.update(`${r.role}\n`).update(signedBytes(r)).update('\n');
  return {
    id: digest.digest('hex'),
    tenant: input.tenant,
    kind: input.kind,
    createdAt: input.now.toISOString(),
    basis: input.basis,
    roles,
    docs: input.docs ?? [],
    targets: [...(input.targets ?? [])].map(([path, bytes]) => ({ path, bytes: bytes ? bytes.toString('base64') : null })),
  };
}

/** The target files of an update set, to store with its roles. */
export function pendingTargets(set: PendingSet): TargetRecord[] {
  return set.targets.flatMap((t) => {
    if (t.bytes === null) return [];
    const bytes = Buffer.from(t.bytes, 'base64');
    return [{ path: t.path, bytes, sha256: sha256Hex(bytes) }];
  });
}

/**
 * The signed metadata of every role in the set, each with the tenant's signature. All or
 * nothing: a role without a signature (SIGNATURE_MISSING), a key other than the tenant's
 * (UNKNOWN_KEY), or a signature that does not verify (BAD_SIGNATURE) refuses the whole set.
 */
export function signPendingSet(set: PendingSet, tenant: TenantRecord, signatures: readonly TenantSignature[]): MetadataRecord[] {
  const byRole = new Map<string, TenantSignature>();
  for (const s of signatures) {
    if (!set.roles.some((r) => r.role === s.role)) throw new KeyshareError(PendingCodes.STALE_SIGNING_REQUEST, `role ${s.role} is not in the pending set ${set.id.slice(0, 12)}`);
    byRole.set(s.role, s);
  }
  return set.roles.map((r) => {
    const s = byRole.get(r.role);
    if (!s) throw new KeyshareError(PendingCodes.SIGNATURE_MISSING, `no signature for ${r.role} v${r.version}: every role of the pending set is signed together`);
    const keyid = s.keyid.trim().toLowerCase();
    const sig = s.sig.trim().toLowerCase();
    // TUF spec 4.2: the keyid is the digest of the key the delegation names; no other key counts.
    if (keyid !== tenant.keyid) throw new KeyshareError(PendingCodes.UNKNOWN_KEY, `key ${keyid} is not the key of tenant ${tenant.name} (${tenant.keyid})`);
    if (!verifyTufSignature(tenant.publicKey, signedBytes(r), sig)) {
      throw new KeyshareError(PendingCodes.BAD_SIGNATURE, `the signature by key ${keyid} does not verify over ${r.role} v${r.version}`);
    }
    const bytes = Buffer.from(JSON.stringify({ signatures: [{ keyid, sig }], signed: r.signed }));
    const md = parseMetadata(MetadataKind.Targets, bytes);
    return { role: r.role, version: md.signed.version, bytes: metadataBytes(md), expires: md.signed.expires };
  });
}

/** What a tenant sees before it signs: each role, its version and the exact bytes to sign. */
export function pendingView(set: PendingSet) {
  return {
    id: set.id,
    kind: set.kind,
    createdAt: set.createdAt,
    roles: set.roles.map((r) => ({ role: r.role, version: r.version, signed: r.signed, canonical: signedBytes(r).toString('utf8') })),
    documents: set.docs.map((d) => ({ scope: d.scope, version: d.version, deleted: d.deleted })),
  };
}
export type PendingView = ReturnType<typeof pendingView>;
