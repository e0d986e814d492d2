/**
 * The plan of a dry run (issue 15, `apply --dry-run`): what a write would change in each scope's
 * effective trust, found by comparing the trust documents before and after the write. Pure: the
 * caller (service/dry-run.ts) runs the real write and rolls it back.
 */
import type { TrustContent } from './trust.js';
import type { Level } from './types.js';

export interface PlanAnchor {
  id: string;
  name: string;
  type: string;
  /** The scope that defines it (an inherited anchor shows in every scope that inherits it). */
  definedAt: string;
}

export interface PlanRevocation {
  kind: 'certificate' | 'key' | 'signature';
  /** `issuer/serial` for a certificate, the key ID, or the signature digest. */
  id: string;
  reason: string;
}

export interface ScopePlan {
  scope: string;
  change: 'create' | 'remove' | 'update';
  /** The effective level, when it changes (null: the scope does not exist on that side). */
  level?: { from: Level | null; to: Level | null };
  inherit?: { from: boolean | null; to: boolean | null };
  anchorsAdded: PlanAnchor[];
  anchorsRemoved: PlanAnchor[];
  /** Same ID, another name, type or trusted identities. */
  anchorsChanged: PlanAnchor[];
  revoked: PlanRevocation[];
}

const planAnchor = (a: TrustContent['anchors'][number]): PlanAnchor => ({ id: a.id, name: a.name, type: a.type, definedAt: a.definedAt ?? '' });

function revocationsOf(doc: TrustContent | undefined): Map<string, PlanRevocation> {
  const out = new Map<string, PlanRevocation>();
  if (!doc) return out;
  for (const c of doc.revoked.certificates) out.set(`certificate ${c.issuer}/${c.serial}`, { kind: 'certificate', id: `${c.issuer}/${c.serial}`, reason: c.reason });
  for (const k of doc.revoked.keys) out.set(`key ${k.id}`, { kind: 'key', id: k.id, reason: k.reason });
  for (const s of doc.revoked.signatures) out.set(`signature ${s.digest}`, { kind: 'signature', id: s.digest, reason: s.reason });
  return out;
}

/** Per scope (sorted), what differs between the effective trust `before` and `after`; unchanged scopes are left out. */
export function planOf(before: ReadonlyMap<string, TrustContent>, after: ReadonlyMap<string, TrustContent>): ScopePlan[] {
  const plans: ScopePlan[] = [];
  for (const scope of [...new Set([...before.keys(), ...after.keys()])].sort()) {
    const b = before.get(scope);
    const a = after.get(scope);
    const oldAnchors = new Map((b?.anchors ?? []).map((x) => [x.id, x]));
    const newAnchors = new Map((a?.anchors ?? []).map((x) => [x.id, x]));
    const oldRevoked = revocationsOf(b);
    const plan: ScopePlan = {
      scope,
      change: !b ? 'create' : !a ? 'remove' : 'update',
      anchorsAdded: [...newAnchors.values()].filter((x) => !oldAnchors.has(x.id)).map(planAnchor),
      anchorsRemoved: [...oldAnchors.values()].filter((x) => !newAnchors.has(x.id)).map(planAnchor),
      anchorsChanged: [...newAnchors.values()]
        .filter((x) => oldAnchors.has(x.id) && JSON.stringify(oldAnchors.get(x.id)) !== JSON.stringify(x))
        .map(planAnchor),
      // A removed scope's revocations go with it; revocations themselves are never removed.
      revoked: a ? [...revocationsOf(a)].filter(([k]) => !oldRevoked.has(k)).map(([, r]) => r) : [],
    };
    if ((b?.level ?? null) !== (a?.level ?? null)) plan.level = { from: b?.level ?? null, to: a?.level ?? null };
    if ((b?.inherit ?? null) !== (a?.inherit ?? null)) plan.inherit = { from: b?.inherit ?? null, to: a?.inherit ?? null };
    const changed = plan.change !== 'update' || plan.level || plan.inherit || plan.anchorsAdded.length + plan.anchorsRemoved.length + plan.anchorsChanged.length + plan.revoked.length > 0;
    if (changed) plans.push(plan);
  }
  return plans;
}
