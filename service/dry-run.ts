/**
 * Dry runs of admin writes (issue 15: `apply --dry-run`; issue 21 extends it to every admin
 * write). The plan comes from the same code that makes the change: `dryRun` runs the real write
 * inside a store transaction, reads every scope's effective trust before and after it
 * (service/domain/plan.ts compares them), and rolls the transaction back. Nothing is stored,
 * published or audited.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { parseCrl } from './crypto/index.js';
import { ancestorCandidates } from './domain/scope.js';
import { planOf, type ScopePlan } from './domain/plan.js';
import { effectiveTrust, type TrustContent } from './domain/trust.js';
import type { AnchorRecord, ScopeRecord } from './domain/types.js';
import type { Store } from './store/index.js';

/** What a plan reads, and the transaction it rolls back. */
export type DryRunRecords = Pick<Store, 'transaction' | 'listScopes' | 'listAnchors' | 'listRevocations' | 'listCrls' | 'listAnchorBlocks' | 'getCa'>;
import { tsaSignersOf } from './ca/tsa.js';

const planning = new AsyncLocalStorage<boolean>();

/** True inside a dry run: the publisher has nothing to publish (repo/publisher.ts `notify`). */
export const inDryRun = (): boolean => planning.getStore() === true;

/** Thrown to roll the dry run's transaction back. */
class RollBack extends Error {}

export interface DryRun<T> {
  /** What the write returned (its own summary), before the roll-back. */
  result: T;
  /** Per scope, what the write would change in the effective trust. */
  plan: ScopePlan[];
}

/** Runs `write` and undoes it; returns its result and the plan of what it would change. */
export async function dryRun<T>(store: DryRunRecords, write: () => Promise<T>): Promise<DryRun<T>> {
  let out: DryRun<T> | null = null;
  await planning.run(true, async () => {
    try {
      await store.transaction(async () => {
        const before = await effectiveTrustOfAll(store);
        const result = await write();
        out = { result, plan: planOf(before, await effectiveTrustOfAll(store)) };
        throw new RollBack('dry run');
      });
    } catch (e) {
      if (!(e instanceof RollBack)) throw e;
    }
  });
  return out!;
}

/** Every defined scope's effective trust, as the publisher computes it (service/domain/trust.ts). */
export async function effectiveTrustOfAll(store: DryRunRecords): Promise<Map<string, TrustContent>> {
  const scopes = await store.listScopes();
  const byName = new Map(scopes.map((s) => [s.scope, s]));
  const anchorsByScope = new Map<string, AnchorRecord[]>();
  for (const a of await store.listAnchors()) anchorsByScope.set(a.scope, [...(anchorsByScope.get(a.scope) ?? []), a]);
  const revocations = await store.listRevocations();
  const blocked = new Map<string, Set<string>>();
  for (const b of await store.listAnchorBlocks()) blocked.set(b.scope, (blocked.get(b.scope) ?? new Set()).add(b.anchorId));
  const crls = await store.listCrls();
  const crlRevoked = new Map(crls.map((c) => [c.issuer, crlSerials(c.der)]));
  const crlUrls = new Map(crls.flatMap((c) => (c.url ? [[c.issuer, c.url] as const] : [])));
  const caSubjects = new Map([...anchorsByScope.values()].flat().flatMap((a) => (a.subject && (a.type === 'ca' || a.type === 'tsa') ? [[a.id, a.subject] as const] : [])));
  const ancestorsOf = (scope: string): ScopeRecord[] => ancestorCandidates(scope).flatMap((c) => (byName.has(c) ? [byName.get(c)!] : []));
  const tsaSigners = await tsaSignersOf(store);
  const out = new Map<string, TrustContent>();
  for (const s of scopes) {
    out.set(
      s.scope,
      effectiveTrust({ scope: s, ancestors: ancestorsOf(s.scope), anchorsByScope, revocations, crlIssuers: new Set(crlRevoked.keys()), crlUrls, caSubjects, crlRevoked, blocked, tsaSigners }),
    );
  }
  return out;
}

/** A stored CRL was checked when accepted; one that no longer parses revokes nothing (as in the publisher). */
function crlSerials(der: Uint8Array): Set<string> {
  try {
    return new Set(parseCrl(der).entries.map((e) => e.serialHex));
  } catch {
    return new Set();
  }
}
