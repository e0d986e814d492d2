/**
 * Row mapping shared by every dialect (./sqlite.ts, ./pg/store.ts): both schemas have the same
 * columns (pg/schema.ts), so a row reads back as the same record whichever database holds it.
 */
import { KeyshareError, Codes } from '../errors.js';
import type { AnchorRecord, AnchorType, Level, RevocationReason, Revocations, ScopeRecord } from '../domain/types.js';
import type { CrlRecord, PublishCommit, RevocationInput, TargetRecord, TrustHistoryRecord } from './types.js';
import { DEFAULT_SCOPE, trustTargetPath } from '../domain/scope.js';

export interface ScopeRow {
  scope: string;
  inherit: boolean;
  level: string | null;
  source: string | null;
}

export interface AnchorRow {
  scope: string;
  id: string;
  name: string;
  type: string;
  material: string;
  trustedIdentities: string[] | null;
  keyId: string | null;
  serial: string | null;
  issuerName: string | null;
  subject: string | null;
  notAfter: string | null;
  source: string | null;
}

export interface RevocationRow {
  kind: string;
  subject: string;
  issuer: string | null;
  serial: string | null;
  scope: string;
  reason: string;
  revokedAt: string;
}

export function toScope(r: ScopeRow): ScopeRecord {
  return { scope: r.scope, inherit: r.inherit, level: (r.level as Level | null) ?? null, source: r.source };
}

export function toAnchor(r: AnchorRow): AnchorRecord {
  return {
    scope: r.scope,
    id: r.id,
    name: r.name,
    type: r.type as AnchorType,
    material: r.material,
    trustedIdentities: r.trustedIdentities ?? null,
    keyId: r.keyId,
    serial: r.serial,
    issuerName: r.issuerName,
    subject: r.subject,
    notAfter: r.notAfter,
    source: r.source,
  };
}

/** An anchor's columns (without created_at). */
export function fromAnchor(a: AnchorRecord): AnchorRow {
  return {
    scope: a.scope,
    id: a.id,
    name: a.name,
    type: a.type,
    material: a.material,
    trustedIdentities: a.trustedIdentities,
    keyId: a.keyId ?? null,
    serial: a.serial ?? null,
    issuerName: a.issuerName ?? null,
    subject: a.subject ?? null,
    notAfter: a.notAfter ?? null,
    source: a.source ?? null,
  };
}

/** The order of `a.scope + a.id`, without building the strings (a publish sorts every governed scope's anchors, bench B9). */
export function byScopeAndId(a: AnchorRecord, b: AnchorRecord): number {
  if (a.scope === b.scope) return a.id < b.id ? -1 : 1;
  const aLength = a.scope.length + a.id.length;
  const bLength = b.scope.length + b.id.length;
  for (let i = 0, n = Math.min(aLength, bLength); i < n; i++) {
    const x = i < a.scope.length ? a.scope.charCodeAt(i) : a.id.charCodeAt(i - a.scope.length);
    const y = i < b.scope.length ? b.scope.charCodeAt(i) : b.id.charCodeAt(i - b.scope.length);
    if (x !== y) return x < y ? -1 : 1;
  }
  return aLength < bLength ? -1 : 1;
}

/** A revocation's row: `subject` is issuer/serial, the key ID or the digest; scope '' is everywhere. */
export function revocationRow(r: RevocationInput): RevocationRow {
  const subject = r.kind === 'certificate' ? `${r.issuer}/${r.serial}` : r.kind === 'key' ? r.id! : r.digest!;
  return { kind: r.kind, subject, issuer: r.issuer ?? null, serial: r.serial ?? null, scope: r.scope ?? '', reason: r.reason, revokedAt: r.revokedAt };
}

/** Revocation rows (in id order) grouped by kind. */
export function toRevocations(rows: RevocationRow[]): Revocations {
  const out: Revocations = { certificates: [], keys: [], signatures: [] };
  for (const r of rows) {
    const base = { revokedAt: r.revokedAt, reason: r.reason as RevocationReason, scope: r.scope === '' ? null : r.scope };
    if (r.kind === 'certificate') out.certificates.push({ issuer: r.issuer!, serial: r.serial!, ...base });
    else if (r.kind === 'key') out.keys.push({ id: r.subject, ...base });
    else out.signatures.push({ digest: r.subject, ...base });
  }
  return out;
}

export type CrlInput = Omit<CrlRecord, 'url' | 'lastFetchAt' | 'lastError'> & { url?: string | null; lastFetchAt?: string | null };

/**
 * The row that replaces an issuer's stored CRL. RFC 5280 5.2.3: the CRL number only goes up,
 * so a number not greater than the stored one is ROLLBACK. The URL and last fetch carry over
 * unless given.
 */
export function nextCrlRow(rec: CrlInput, existing: CrlRecord | null): CrlRecord {
  if (existing && BigInt(`0x${rec.crlNumber}`) <= BigInt(`0x${existing.crlNumber}`)) {
    throw new KeyshareError(Codes.ROLLBACK, `CRL number ${rec.crlNumber} is not greater than the stored ${existing.crlNumber} (RFC 5280 5.2.3)`);
  }
  return {
    ...rec,
    url: rec.url !== undefined ? rec.url : (existing?.url ?? null),
    lastFetchAt: rec.lastFetchAt !== undefined ? rec.lastFetchAt : (existing?.lastFetchAt ?? null),
    lastError: null,
  };
}

/** A trust history row as stored: the document's target digest beside its bytes. */
export interface HistoryRow extends TrustHistoryRecord {
  sha256: string | null;
}

/**
 * What a publish writes besides documents and metadata. Issue 21: one history row per document
 * it changed, under the timestamp version it signs (none when it signs no timestamp). A
 * document's target file is stored once, as its history row (digest and bytes), which serves it
 * (getTarget); `targets` are the other files (index, shards, trusted_root.json...). One row per
 * document instead of two copies (bench B9, "Issue 17, ninth round").
 */
export function publishRows(c: PublishCommit): { targets: TargetRecord[]; history: HistoryRow[] } {
  const timestamp = c.metadata.find((m) => m.role === 'timestamp');
  if (!timestamp) return { targets: c.targets, history: [] };
  const { targets } = c;
  const used = new Uint8Array(targets.length);
  // The publisher lists the documents' targets in the documents' order (trust-docs.ts recompute),
  // so each is usually the next one: a map of paths is built only when one is not (bench B9,
  // eleventh round: the map of 10k paths, and a path string per document, cost 15 ms a change).
  let next = 0;
  let byPath: Map<string, number> | null = null;
  const targetOf = (scope: string): number => {
    if (next < targets.length && isTrustPathOf(targets[next]!.path, scope)) return next++;
    byPath ??= new Map(targets.map((tg, i) => [tg.path, i]));
    const i = byPath.get(trustTargetPath(scope)) ?? -1;
    if (i >= 0) next = i + 1;
    return i;
  };
  const history = c.docs.map((d): HistoryRow => {
    const i = d.deleted ? -1 : targetOf(d.scope);
    const target = i >= 0 && !used[i] ? targets[i]! : undefined;
    if (target) used[i] = 1;
    return { version: timestamp.version, scope: d.scope, sha256: target?.sha256 ?? null, document: target?.bytes ?? null, publishedAt: c.publishedAt };
  });
  return { targets: targets.filter((_, i) => !used[i]), history };
}

/** Whether `path` is trustTargetPath(scope), without building it. */
export function isTrustPathOf(path: string, scope: string): boolean {
  if (scope === DEFAULT_SCOPE) return path === trustTargetPath(DEFAULT_SCOPE);
  return path.length === scope.length + 11 && path.startsWith('trust/') && path.endsWith('.json') && path.startsWith(scope, 6);
}

/**
 * shared/trust-index.ts scopeOfTrustPath in SQL, of the column `path` (both dialects):
 * pruneSuperseded finds the history rows that a stored document target belongs to.
 */
export const TRUST_DOC_SCOPE_SQL = (path: string) =>
  `(CASE WHEN ${path} = '${trustTargetPath(DEFAULT_SCOPE)}' THEN '${DEFAULT_SCOPE}' WHEN ${path} LIKE 'trust/%.json' THEN substr(${path}, 7, length(${path}) - 11) END)`;
