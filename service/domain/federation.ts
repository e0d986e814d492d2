/**
 * What a local admin may do on a federated scope (issue 5, "federate"). Pure.
 *
 * A federated scope is defined by its upstreams (its `source` names them): they alone set its
 * level and inheritance, and its upstream anchors. Locally, on top of that, an admin may
 *  - add anchors (`anchor add`): they are local (no source) and stay across syncs;
 *  - remove those local anchors (`anchor rm`);
 *  - block an upstream anchor (`anchor block SCOPE ID`): it is left out of the scope's trust
 *    here, and of every scope that inherits from it, until unblocked (`anchor unblock`);
 *  - revoke (`revoke ... --scope SCOPE`, or without scope): a revocation only ever restricts,
 *    and federation never removes one, so a local revocation always wins.
 * Refused, each with its own code: removing the scope (SCOPE_FEDERATED: remove the upstream,
 * or narrow its --scopes), removing an upstream anchor (ANCHOR_FEDERATED: block it instead),
 * and naming the scope in an apply file (SCOPE_FEDERATED: its level and inheritance are the
 * upstream's; add local anchors with `anchor add`).
 */
import { KeyshareError } from '../errors.js';
import type { AnchorRecord, ScopeRecord } from './types.js';

export const FederationCodes = {
  SCOPE_FEDERATED: 'SCOPE_FEDERATED',
  ANCHOR_FEDERATED: 'ANCHOR_FEDERATED',
  UPSTREAM_NOT_FOUND: 'UPSTREAM_NOT_FOUND',
  UPSTREAM_EXISTS: 'UPSTREAM_EXISTS',
} as const;

export const isFederated = (rec: { source?: string | null }): boolean => rec.source != null && rec.source !== '';

export function assertScopeRemovable(rec: ScopeRecord): void {
  if (isFederated(rec)) {
    throw new KeyshareError(
      FederationCodes.SCOPE_FEDERATED,
      `scope ${rec.scope} is federated from ${rec.source}: remove the upstream (keyshare upstream rm) or narrow its --scopes instead`,
    );
  }
}

export function assertAnchorRemovable(anchor: AnchorRecord): void {
  if (isFederated(anchor)) {
    throw new KeyshareError(
      FederationCodes.ANCHOR_FEDERATED,
      `anchor ${anchor.id} at ${anchor.scope} comes from ${anchor.source}: hide it here with keyshare anchor block ${anchor.scope} ${anchor.id}`,
    );
  }
}

export function assertScopeAppliable(rec: ScopeRecord): void {
  if (isFederated(rec)) {
    throw new KeyshareError(
      FederationCodes.SCOPE_FEDERATED,
      `scope ${rec.scope} is federated from ${rec.source}: its level and inheritance are the upstream's; add local anchors with keyshare anchor add, hide upstream ones with keyshare anchor block`,
    );
  }
}
