/**
 * Diffs between published versions (issue 21, `keyshare diff`), and which version first carries
 * a revocation (the rollout of service/rollout.ts). Pure: the caller reads the trust history
 * (service/store `trust_history`) and hands the documents in. A diff is a plan (./plan.ts)
 * between two states, so that the plan of a change and the diff it publishes are one function.
 */
import { planOf, type ScopePlan } from './plan.js';
import { scopeContains } from './scope.js';
import type { TrustContent } from './trust.js';
import type { TrustDocument } from './types.js';

export const HistoryCodes = {
  /** A version that was never published (or is older than the history kept). */
  VERSION_UNKNOWN: 'VERSION_UNKNOWN',
} as const;

/** A published trust document as the store keeps it: null when the publish removed the scope. */
/** What changed between two published versions, for the scopes under `scope` (`keyshare diff`, also of two bundles). */
export interface VersionDiff {
  from: number;
  to: number;
  scope: string | null;
  changes: ScopePlan[];
}

export interface HistoryEntry {
  version: number;
  scope: string;
  document: Uint8Array | null;
}

const parse = (bytes: Uint8Array): TrustDocument => JSON.parse(Buffer.from(bytes).toString('utf8')) as TrustDocument;

/** The effective trust of every scope at a version, from each scope's newest entry at or before it. */
export function trustStateOf(entries: readonly HistoryEntry[]): Map<string, TrustContent> {
  const out = new Map<string, TrustContent>();
  for (const e of entries) if (e.document) out.set(e.scope, parse(e.document));
  return out;
}

/** Whether `scope` is selected by `--scope PATTERN`: the pattern and every scope under it (no pattern: all). */
export function scopeSelected(pattern: string | null | undefined, scope: string): boolean {
  return !pattern || scopeContains(pattern, scope);
}

/** What changed between two states, in plan form, for the selected scopes. */
export function diffOf(before: ReadonlyMap<string, TrustContent>, after: ReadonlyMap<string, TrustContent>, pattern?: string | null): ScopePlan[] {
  return planOf(before, after).filter((p) => scopeSelected(pattern, p.scope));
}

/** A revocation as `revoked` lists it: certificate `issuer/serial`, key ID or signature digest. */
export interface RevocationRef {
  kind: 'certificate' | 'key' | 'signature';
  id: string;
}

function carries(doc: TrustDocument, r: RevocationRef): boolean {
  switch (r.kind) {
    case 'certificate':
      return doc.revoked.certificates.some((c) => `${c.issuer}/${c.serial}` === r.id);
    case 'key':
      return doc.revoked.keys.some((k) => k.id === r.id);
    case 'signature':
      return doc.revoked.signatures.some((s) => s.digest === r.id);
  }
}

/** The first version among `entries` (in version order) whose published documents list the revocation; null if none. */
export function firstVersionCarrying(r: RevocationRef, entries: readonly HistoryEntry[]): number | null {
  for (const e of entries) if (e.document && carries(parse(e.document), r)) return e.version;
  return null;
}
