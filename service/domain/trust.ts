/**
 * The effective trust of a scope (CONTRACT.md "A trust document"). Pure and deterministic:
 * the same state gives the same bytes.
 */
import { scopeContains, scopeSpecificity } from './scope.js';
import {
  TRUST_MEDIA_TYPE,
  type AnchorRecord,
  type Level,
  type Revocations,
  type ScopeRecord,
  type TrustAnchor,
  type TrustDocument,
} from './types.js';

export const DEFAULT_LEVEL: Level = 'strict';

/** A trust document before the publisher stamps it with a version and a time. */
export type TrustContent = Omit<TrustDocument, 'version' | 'issuedAt'>;

export interface TrustInputs {
  scope: ScopeRecord;
  /** Defined scopes that strictly contain `scope` (any order; extras are ignored). */
  ancestors: ScopeRecord[];
  anchorsByScope: ReadonlyMap<string, AnchorRecord[]>;
  /** All revocations; scoped ones apply where their scope is in the inheritance chain. */
  revocations: Revocations;
  /** Issuer anchor IDs that have a published CRL. */
  crlIssuers: ReadonlySet<string>;
  /** The URL the service refreshes each issuer's CRL from (`anchor add --crl-url`), by anchor ID. */
  crlUrls?: ReadonlyMap<string, string>;
  /**
   * Subject DN of every CA certificate anchor, by anchor ID, in any scope. A certificate
   * revocation names its issuer by anchor ID; an anchor issued by that CA (an intermediate)
   * names it by DN. RFC 5280 4.1.2.2: issuer name and serial identify a certificate.
   */
  caSubjects?: ReadonlyMap<string, string>;
  /** Serials listed on the current CRL of each CA anchor, by anchor ID (RFC 5280 5.1.2.6). */
  crlRevoked?: ReadonlyMap<string, ReadonlySet<string>>;
  /**
   * Anchor IDs blocked locally, by the scope they are blocked at (federation: an upstream's
   * anchor the local admin does not want). A block applies to its scope and to every scope
   * that inherits from it.
   */
  blocked?: ReadonlyMap<string, ReadonlySet<string>>;
  /** keyshare's own TSA: its signing certificates (PEM), by the ID of the TSA root anchor that issued them. */
  tsaSigners?: ReadonlyMap<string, string[]>;
}

/**
 * [scope, parent, grandparent, ...]: CONTRACT.md, a scope inherits from its parents unless it
 * was created with --no-inherit. The parent is the most specific defined scope containing it.
 */
export function inheritanceChain(scope: ScopeRecord, ancestors: ScopeRecord[]): ScopeRecord[] {
  const sorted = ancestors
    .filter((a) => a.scope !== scope.scope && scopeContains(a.scope, scope.scope))
    .sort((a, b) => scopeSpecificity(b.scope) - scopeSpecificity(a.scope) || cmp(a.scope, b.scope));
  const chain = [scope];
  let current = scope;
  for (const candidate of sorted) {
    if (!current.inherit) break;
    if (!scopeContains(candidate.scope, current.scope)) continue;
    chain.push(candidate);
    current = candidate;
  }
  return chain;
}

export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function appliesTo(revocationScope: string | null | undefined, chainScopes: Set<string>): boolean {
  return revocationScope == null || chainScopes.has(revocationScope);
}

/** Keeps one entry per key (the earliest revocation, then the first reason by name: never input order), sorted by key. */
function dedupe<T extends { revokedAt: string; reason: string }>(items: T[], key: (t: T) => string): T[] {
  const byKey = new Map<string, T>();
  for (const item of items) {
    const k = key(item);
    const seen = byKey.get(k);
    if (!seen || item.revokedAt < seen.revokedAt || (item.revokedAt === seen.revokedAt && item.reason < seen.reason)) byKey.set(k, item);
  }
  return [...byKey.entries()].sort(([a], [b]) => cmp(a, b)).map(([, v]) => v);
}

export function toTrustAnchor(a: AnchorRecord, tsaSigners: TrustInputs['tsaSigners']): TrustAnchor {
  const isCertificate = a.type === 'ca' || a.type === 'signingAuthority' || a.type === 'tsa';
  const out = { id: a.id, name: a.name, type: a.type } as TrustAnchor;
  if (isCertificate) {
    out.certificate = a.material;
    out.trustedIdentities = a.trustedIdentities && a.trustedIdentities.length > 0 ? [...a.trustedIdentities] : ['*'];
    const signers = a.type === 'tsa' ? tsaSigners?.get(a.id) : undefined;
    if (signers) out.signingCertificates = [...signers];
  } else {
    out.publicKey = a.material;
  }
  out.definedAt = a.scope;
  if (a.source) out.source = a.source;
  return out;
}

export function isAnchorRevoked(
  anchor: AnchorRecord,
  revoked: Revocations['keys'] | Set<string>,
  certificates: Revocations['certificates'] = [],
  issuers: { caSubjects?: ReadonlyMap<string, string>; crlRevoked?: ReadonlyMap<string, ReadonlySet<string>> } = {},
): boolean {
  const ids = revoked instanceof Set ? revoked : new Set(revoked.map((k) => k.id));
  if (ids.has(anchor.id) || (anchor.keyId != null && ids.has(anchor.keyId))) return true;
  if (anchor.serial == null) return false;
  // The issuer anchor `issuerId` issued this anchor when the IDs are the same (self-issued) or
  // its subject is this anchor's issuer name (RFC 5280 4.1.2.4).
  const issuedBy = (issuerId: string) =>
    issuerId === anchor.id || (anchor.issuerName != null && issuers.caSubjects?.get(issuerId) === anchor.issuerName);
  if (certificates.some((c) => c.serial === anchor.serial && issuedBy(c.issuer))) return true;
  // On its issuer's current CRL. A CA's own CRL does not revoke the CA itself (RFC 5280 5: a CRL
  // lists certificates the CA issued; a self-signed root is distrusted by removing it).
  for (const [issuerId, serials] of issuers.crlRevoked ?? []) {
    if (issuerId !== anchor.id && serials.has(anchor.serial) && issuedBy(issuerId)) return true;
  }
  return false;
}

export function effectiveTrust(inputs: TrustInputs): TrustContent {
  const chain = inheritanceChain(inputs.scope, inputs.ancestors);
  const chainScopes = new Set(chain.map((s) => s.scope));
  const level = chain.find((s) => s.level != null)?.level ?? DEFAULT_LEVEL;

  const revocations = appliedRevocations(inputs.revocations, chainScopes);
  const revokedKeyIds = new Set(revocations.keys.map((k) => k.id));

  // The most specific definition of an anchor wins (chain order: most specific first).
  const anchors = new Map<string, AnchorRecord>();
  for (const s of chain) {
    for (const a of inputs.anchorsByScope.get(s.scope) ?? []) {
      if (!anchors.has(a.id)) anchors.set(a.id, a);
    }
  }
  const blocked = new Set(chain.flatMap((s) => [...(inputs.blocked?.get(s.scope) ?? [])]));
  const kept = [...anchors.values()].filter((a) => survives(a, blocked, revokedKeyIds, revocations, inputs)).sort((a, b) => cmp(a.id, b.id));

  return {
    mediaType: TRUST_MEDIA_TYPE,
    scope: inputs.scope.scope,
    level,
    inherit: inputs.scope.inherit,
    anchors: kept.map((a) => toTrustAnchor(a, inputs.tsaSigners)),
    revoked: revokedSection(revocations),
    crls: kept.flatMap((a) => crlEntry(a, inputs) ?? []),
    // A federated scope names where it comes from (service/federation/source.ts), so that a
    // downstream can recognise its own trust coming back round a loop.
    ...(inputs.scope.source ? { source: inputs.scope.source } : {}),
  };
}

/** The revocations that apply to a chain: those without scope and those scoped to one of its scopes. */
export function appliedRevocations(all: Revocations, chainScopes: Set<string>): Revocations {
  return {
    certificates: all.certificates.filter((r) => appliesTo(r.scope, chainScopes)),
    keys: all.keys.filter((r) => appliesTo(r.scope, chainScopes)),
    signatures: all.signatures.filter((r) => appliesTo(r.scope, chainScopes)),
  };
}

/** CONTRACT.md: a blocked anchor, or a revoked key, never appears in anchors. */
export function survives(
  a: AnchorRecord,
  blocked: ReadonlySet<string>,
  revokedKeyIds: Set<string>,
  applied: Revocations,
  issuers: Pick<TrustInputs, 'caSubjects' | 'crlRevoked'>,
): boolean {
  return !blocked.has(a.id) && !isAnchorRevoked(a, revokedKeyIds, applied.certificates, issuers);
}

/** A document's `revoked`: the applied revocations, one per key, without their scope. */
export function revokedSection(applied: Revocations): TrustContent['revoked'] {
  const strip = <T extends { scope?: string | null }>({ scope: _scope, ...rest }: T) => rest;
  return {
    certificates: dedupe(applied.certificates, (c) => `${c.issuer}/${c.serial}`).map(strip),
    keys: dedupe(applied.keys, (k) => k.id).map(strip),
    signatures: dedupe(applied.signatures, (s) => s.digest).map(strip),
  };
}

/** A kept anchor's entry in `crls`: CA and TSA anchors with a published CRL. */
export function crlEntry(a: AnchorRecord, inputs: Pick<TrustInputs, 'crlIssuers' | 'crlUrls'>): TrustContent['crls'][number] | null {
  if (!((a.type === 'ca' || a.type === 'tsa') && inputs.crlIssuers.has(a.id))) return null;
  const url = inputs.crlUrls?.get(a.id);
  return { issuer: a.id, target: crlTargetPath(a.id), ...(url ? { urls: [url] } : {}) };
}

export function crlTargetPath(issuerId: string): string {
  return `crl/${issuerId.replace(/^sha256:/, '')}.crl`;
}

/** Stamps content with its version and time, in the contract's field order. */
export function stampTrust(content: TrustContent, version: number, issuedAt: string): TrustDocument {
  const { mediaType, scope, ...rest } = content;
  return { mediaType, scope, version, issuedAt, ...rest };
}

/** Deterministic bytes: fixed field order (objects are built in order), 2-space JSON, trailing newline. */
export function serializeJson(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}

/**
 * The lines stampTrust adds, as serializeJson writes them: they follow the mediaType and scope
 * lines (whose JSON strings hold no raw line break), so that a publisher can stamp the serialised
 * content without serialising it again (a parent change re-publishes every scope under it, bench B9).
 */
export function trustStamp(version: number, issuedAt: string): string {
  return `  "version": ${JSON.stringify(version)},\n  "issuedAt": ${JSON.stringify(issuedAt)},\n`;
}
