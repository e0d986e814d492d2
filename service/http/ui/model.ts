/**
 * What the console shows, computed from the instance: the scope tree with each scope's
 * effective anchors (the domain's own `effectiveTrust`, so the console shows exactly what is
 * published), expiry warnings, and the state of every TUF role. No HTML here.
 */
import { isShardBinRole } from '../../repo/index-bins.js';
import { ancestorCandidates, mostSpecificContaining } from '../../domain/scope.js';
import { effectiveTrust, inheritanceChain } from '../../domain/trust.js';
import type { AnchorRecord, Level, ScopeRecord } from '../../domain/types.js';
import type { ChangeRecords, RepositoryRecords, TrustRecords } from '../../store/port.js';
import { DEFAULT_EXPIRY, isBinRole, lifetimeOf, type ExpiryConfig } from '../../repo/layout.js';

/** What the scope tree reads: scopes, anchors, revocations and local blocks. */
type TrustReads = Pick<TrustRecords, 'listScopes' | 'listAnchors' | 'listRevocations' | 'listAnchorBlocks'>;

const DAY_MS = 86_400_000;
/** Warnings at 30 days and 7 days (issue 8). */
export const WARN_DAYS = 30;
export const CRITICAL_DAYS = 7;

export type ExpiryKind = 'none' | 'ok' | 'warning' | 'critical' | 'expired';

export interface Expiry {
  kind: ExpiryKind;
  at: string | null;
  /** Whole days left (negative once expired); null without an expiry. */
  daysLeft: number | null;
}

export function expiryOf(at: string | null | undefined, now: Date): Expiry {
  if (!at) return { kind: 'none', at: null, daysLeft: null };
  const ms = Date.parse(at) - now.getTime();
  const daysLeft = Math.floor(ms / DAY_MS);
  const kind: ExpiryKind = ms <= 0 ? 'expired' : ms <= CRITICAL_DAYS * DAY_MS ? 'critical' : ms <= WARN_DAYS * DAY_MS ? 'warning' : 'ok';
  return { kind, at, daysLeft };
}

/** "in 3 days", "in 5 hours", "2 days ago". */
export function relative(at: string, now: Date): string {
  const ms = Date.parse(at) - now.getTime();
  const abs = Math.abs(ms);
  const [n, unit] =
    abs >= 2 * DAY_MS ? [Math.floor(abs / DAY_MS), 'day'] : abs >= 2 * 3_600_000 ? [Math.floor(abs / 3_600_000), 'hour'] : [Math.max(1, Math.floor(abs / 60_000)), 'minute'];
  const text = `${n} ${unit}${n === 1 ? '' : 's'}`;
  return ms >= 0 ? `in ${text}` : `${text} ago`;
}

export interface EffectiveAnchor {
  id: string;
  name: string;
  type: string;
  subject: string | null;
  definedAt: string;
  expiry: Expiry;
}

export interface ScopeNode {
  scope: string;
  inherit: boolean;
  ownLevel: Level | null;
  level: Level;
  /** The parent scope whose level this scope inherits; null when it is its own or the default. */
  levelFrom: string | null;
  /** Anchors defined here or inherited that are left out of the effective trust (revoked or blocked). */
  excluded: { revoked: number; blocked: number };
  source: string | null;
  anchors: EffectiveAnchor[];
  children: ScopeNode[];
}

/** Every defined scope as a tree (a scope's parent is the most specific defined scope containing it), with its effective anchors. */
export async function scopeTree(trust: TrustReads, now: Date): Promise<ScopeNode[]> {
  const scopes = await trust.listScopes();
  const byName = new Map(scopes.map((s) => [s.scope, s]));
  const anchors = await trust.listAnchors();
  const anchorsByScope = new Map<string, AnchorRecord[]>();
  const byKey = new Map<string, AnchorRecord>();
  for (const a of anchors) {
    if (!anchorsByScope.has(a.scope)) anchorsByScope.set(a.scope, []);
    anchorsByScope.get(a.scope)!.push(a);
    byKey.set(`${a.scope}\n${a.id}`, a);
  }
  const revocations = await trust.listRevocations();
  const crlIssuers = new Set<string>();
  // Anchors blocked locally (federation) are left out here as in the published documents.
  const blocked = new Map<string, Set<string>>();
  for (const b of await trust.listAnchorBlocks()) blocked.set(b.scope, (blocked.get(b.scope) ?? new Set()).add(b.anchorId));
  const ancestorsOf = (scope: string): ScopeRecord[] => ancestorCandidates(scope).flatMap((c) => (byName.has(c) ? [byName.get(c)!] : []));

  const nodes = new Map<string, ScopeNode>();
  for (const s of scopes) {
    const trust = effectiveTrust({ scope: s, ancestors: ancestorsOf(s.scope), anchorsByScope, revocations, crlIssuers, blocked });
    // Why an anchor of the chain is not effective: blocked at a scope of the chain, else revoked (service/domain/trust.ts).
    const chain = inheritanceChain(s, ancestorsOf(s.scope));
    const effective = new Set(trust.anchors.map((a) => a.id));
    const chainBlocked = new Set(chain.flatMap((c) => [...(blocked.get(c.scope) ?? [])]));
    const left = [...new Set(chain.flatMap((c) => (anchorsByScope.get(c.scope) ?? []).map((a) => a.id)))].filter((id) => !effective.has(id));
    const nBlocked = left.filter((id) => chainBlocked.has(id)).length;
    nodes.set(s.scope, {
      scope: s.scope,
      inherit: s.inherit,
      ownLevel: s.level,
      level: trust.level,
      levelFrom: s.level ? null : (chain.find((c) => c.level != null)?.scope ?? null),
      excluded: { revoked: left.length - nBlocked, blocked: nBlocked },
      source: s.source ?? null,
      anchors: trust.anchors.map((t) => {
        const rec = byKey.get(`${t.definedAt}\n${t.id}`);
        return {
          id: t.id,
          name: t.name,
          type: t.type,
          subject: rec?.subject ?? null,
          definedAt: t.definedAt,
          expiry: expiryOf(rec?.notAfter, now),
        };
      }),
      children: [],
    });
  }
  const roots: ScopeNode[] = [];
  const names = scopes.map((s) => s.scope);
  for (const s of scopes) {
    const parent = mostSpecificContaining(s.scope, names, true);
    (parent ? nodes.get(parent)!.children : roots).push(nodes.get(s.scope)!);
  }
  return roots;
}

export interface ExpiringAnchor {
  scope: string;
  id: string;
  name: string;
  subject: string | null;
  expiry: Expiry;
}

/** Anchors (as defined, per scope) expiring within WARN_DAYS, soonest first. */
export async function expiringAnchors(trust: Pick<TrustRecords, 'listAnchors'>, now: Date): Promise<ExpiringAnchor[]> {
  return (await trust.listAnchors())
    .map((a) => ({ scope: a.scope, id: a.id, name: a.name, subject: a.subject ?? null, expiry: expiryOf(a.notAfter, now) }))
    .filter((a) => a.expiry.kind === 'warning' || a.expiry.kind === 'critical' || a.expiry.kind === 'expired')
    .sort((a, b) => Date.parse(a.expiry.at!) - Date.parse(b.expiry.at!));
}

export interface RoleState {
  role: string;
  version: number;
  expires: string;
  expiry: Expiry;
  /** For the hashed bins, shown as one row: how many there are. */
  count?: number;
}

/** The newest version of every role; the hashed bins as one row (highest version, soonest expiry). */
export async function roleStates(repository: Pick<RepositoryRecords, 'latestMetadataAll'>, now: Date): Promise<RoleState[]> {
  const order = ['root', 'timestamp', 'snapshot', 'targets'];
  const out = new Map<string, RoleState>();
  for (const m of await repository.latestMetadataAll()) {
    const role = isBinRole(m.role) ? 'bins' : isShardBinRole(m.role) ? 'shard-bins' : m.role;
    const seen = out.get(role);
    if (!seen) {
      out.set(role, { role, version: m.version, expires: m.expires, expiry: expiryOf(m.expires, now), count: role === 'bins' || role === 'shard-bins' ? 1 : undefined });
    } else {
      const expires = Date.parse(m.expires) < Date.parse(seen.expires) ? m.expires : seen.expires;
      out.set(role, { role, version: Math.max(seen.version, m.version), expires, expiry: expiryOf(expires, now), count: (seen.count ?? 1) + 1 });
    }
  }
  const rank = (r: string) => (order.includes(r) ? order.indexOf(r) : r === 'bins' ? 99 : 50);
  return [...out.values()].sort((a, b) => rank(a.role) - rank(b.role) || (a.role < b.role ? -1 : 1));
}

/** Expiry thresholds of TUF roles are their own: a timestamp lives a day, so "warning" means under half its lifetime. */
export function roleExpiry(state: RoleState, lifetimeSeconds: number, now: Date): Expiry {
  const ms = Date.parse(state.expires) - now.getTime();
  const kind: ExpiryKind = ms <= 0 ? 'expired' : ms <= (lifetimeSeconds * 1000) / 4 ? 'critical' : ms <= (lifetimeSeconds * 1000) / 2 ? 'warning' : 'ok';
  return { kind, at: state.expires, daysLeft: Math.floor(ms / DAY_MS) };
}

/** Every role's state, with its health measured against its own configured lifetime. */
export async function roleRows(records: { changes: Pick<ChangeRecords, 'getMeta'>; repository: Pick<RepositoryRecords, 'latestMetadataAll'> }, now: Date): Promise<(RoleState & { health: Expiry })[]> {
  const expiry: ExpiryConfig = { ...DEFAULT_EXPIRY, ...JSON.parse((await records.changes.getMeta('expiry')) ?? '{}') };
  return (await roleStates(records.repository, now)).map((r) => ({ ...r, health: roleExpiry(r, lifetimeOf(r.role === 'bins' ? 'targets' : r.role, expiry), now) }));
}
