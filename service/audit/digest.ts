/**
 * The "before" and "after" digests of audit entries: sha256 over the canonical JSON of the
 * state an action touches. null means "nothing there" (before a create, after a delete).
 * Reads only through the store's public methods (inside the caller's transaction when it is in one).
 */
import { sha256Digest } from '../../shared/hash.js';
import { canonicalize } from '@tufjs/canonical-json';
import type { AnchorRecord, Revocations } from '../domain/types.js';
import type { TokenRecord } from '../store/index.js';
import type { CrlRecords, TrustRecords } from '../store/port.js';

type TrustReads = Pick<TrustRecords, 'getScope' | 'listScopes' | 'listAnchors' | 'listRevocations'>;

export function digestOf(value: unknown): string {
  return sha256Digest(canonicalize(value as never));
}

const anchorState = (a: AnchorRecord) => ({
  scope: a.scope,
  id: a.id,
  name: a.name,
  type: a.type,
  trustedIdentities: a.trustedIdentities ?? null,
  material: digestOf(a.material),
  source: a.source ?? null,
});

function revocationsAt(all: Revocations, keep: (scope: string | null) => boolean): Revocations {
  const at = (x: { scope?: string | null }) => keep(x.scope ?? null);
  return { certificates: all.certificates.filter(at), keys: all.keys.filter(at), signatures: all.signatures.filter(at) };
}

const isEmpty = (r: Revocations) => r.certificates.length + r.keys.length + r.signatures.length === 0;

/** One scope: its definition, its own anchors and the revocations made at it. */
export async function scopeDigest(store: TrustReads, scope: string): Promise<string | null> {
  const rec = await store.getScope(scope);
  const anchors = await store.listAnchors([scope]);
  const revoked = revocationsAt(await store.listRevocations(), (s) => s === scope);
  if (!rec && anchors.length === 0 && isEmpty(revoked)) return null;
  return digestOf({ scope: rec ? { scope: rec.scope, inherit: rec.inherit, level: rec.level, source: rec.source ?? null } : null, anchors: anchors.map(anchorState), revoked });
}

/** The revocations made at one scope, or (null) those that apply everywhere. */
export async function revocationsDigest(store: TrustReads, scope: string | null): Promise<string | null> {
  const revoked = revocationsAt(await store.listRevocations(), (s) => s === scope);
  return isEmpty(revoked) ? null : digestOf(revoked);
}

/** Everything an admin defines: every scope, anchor and revocation (for apply). */
export async function trustStateDigest(store: TrustReads): Promise<string> {
  return digestOf({
    scopes: (await store.listScopes()).map((s) => ({ scope: s.scope, inherit: s.inherit, level: s.level, source: s.source ?? null })),
    anchors: (await store.listAnchors()).map(anchorState),
    revoked: await store.listRevocations(),
  });
}

/** Every stored CRL: issuer, number and a digest of its DER. */
export async function crlsDigest(store: Pick<CrlRecords, 'listCrls'>): Promise<string | null> {
  const crls = await store.listCrls();
  return crls.length ? digestOf(crls.map((c) => ({ issuer: c.issuer, crlNumber: c.crlNumber, der: digestOf(c.der.toString('base64')) }))) : null;
}

/** A token's record without its hash. */
export function tokenDigest(rec: TokenRecord | null): string | null {
  if (!rec) return null;
  return digestOf({ id: rec.id, role: rec.role, scopes: rec.scopes, expiresAt: rec.expiresAt, createdAt: rec.createdAt, revokedAt: rec.revokedAt });
}
