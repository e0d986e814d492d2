/**
 * `keyshare check --plan` (issue 21): would this content still verify after a planned change?
 * Pure: a verified trust document and the plan entry of its scope (a `--dry-run --json` answer,
 * service/domain/plan.ts) in, the document as the change would publish it out, for decideCheck.
 * The plan names anchors and revocations by ID, which is all a removal or revocation needs; a
 * scope the plan creates above the repository's scope would move it to a scope whose material
 * the plan does not carry, so that case is reported, not guessed.
 */
import type { ScopePlan } from '../../service/domain/plan.js';
import { scopeContains } from '../../service/domain/scope.js';
import type { TrustDocument } from '../../service/domain/types.js';

export type PlannedDocument = { document: TrustDocument } | { gone: string };

/** The document of `doc.scope` after `plan`, or why there is none to check against. */
export function documentAfter(doc: TrustDocument, repository: string, plan: readonly ScopePlan[]): PlannedDocument {
  const moved = plan.find((p) => p.change === 'create' && p.scope !== doc.scope && scopeContains(doc.scope, p.scope) && scopeContains(p.scope, repository));
  if (moved) return { gone: `the plan creates scope ${moved.scope}, which would hold ${repository}: check again after it is made` };
  const p = plan.find((x) => x.scope === doc.scope);
  if (!p) return { document: doc };
  if (p.change === 'remove') return { gone: `the plan removes scope ${doc.scope}` };
  const removed = new Set(p.anchorsRemoved.map((a) => a.id));
  const at = new Date(0).toISOString();
  const revoked = { certificates: [...doc.revoked.certificates], keys: [...doc.revoked.keys], signatures: [...doc.revoked.signatures] };
  type Reason = TrustDocument['revoked']['keys'][number]['reason'];
  for (const { reason: text, ...r } of p.revoked) {
    const reason = text as Reason;
    if (r.kind === 'key') revoked.keys.push({ id: r.id, revokedAt: at, reason });
    else if (r.kind === 'signature') revoked.signatures.push({ digest: r.id, revokedAt: at, reason });
    else {
      const i = r.id.lastIndexOf('/');
      revoked.certificates.push({ issuer: r.id.slice(0, i), serial: r.id.slice(i + 1), revokedAt: at, reason });
    }
  }
  return { document: { ...doc, level: p.level?.to ?? doc.level, anchors: doc.anchors.filter((a) => !removed.has(a.id)), revoked } as TrustDocument };
}

/** One line of the inventory: `REPOSITORY KEY_ID [SIGNATURE_DIGEST]`, comma or space separated. */
export interface InventoryItem {
  repository: string;
  key: string;
  signature?: string;
}

const KEY_ID = /^(sha256:[0-9a-f]{64}|pgp:[0-9a-f]{40})$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** Parses an inventory (`#` comments, blank lines skipped); throws naming the first bad line. */
export function parseInventory(text: string): InventoryItem[] {
  const out: InventoryItem[] = [];
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const [repository, key, signature, ...rest] = line.split(/[\s,]+/).map((w) => w.toLowerCase());
    if (!repository || !key || !KEY_ID.test(key) || (signature !== undefined && !DIGEST.test(signature)) || rest.length) {
      throw new Error(`line ${i + 1}: expected REPOSITORY KEY_ID [SIGNATURE_DIGEST] (key: sha256:<64 hex> or pgp:<40 hex>), not ${JSON.stringify(raw.slice(0, 200))}`);
    }
    out.push({ repository, key, ...(signature ? { signature } : {}) });
  }
  if (out.length > 100_000) throw new Error('at most 100000 lines');
  return out;
}
