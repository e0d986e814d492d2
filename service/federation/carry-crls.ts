/**
 * Carrying the CRLs of federated CA anchors into this service: the one decision shared by an
 * online federate sync (sync.ts) and an offline bundle import (service/federation/bundle/import.ts).
 *
 *  - which CRLs: those the origin's trust documents list (`crls`) for CA anchors federated
 *    here, read as verified TUF targets by the caller (TUF spec 5.7.3: length and hashes from
 *    the origin's signed metadata);
 *  - how: each goes through service/crl/store-crl.ts storeCrl, the checks of `crl add`, inside
 *    the caller's transaction. The newest CRL of a CA wins wherever it came from (RFC 5280
 *    5.2.3: the CRL number only goes up). Identical bytes are unchanged; a refused CRL (ROLLBACK,
 *    CRL_EXPIRED, wrong issuer, ...) is reported and left out while the rest lands; anything
 *    else (the store failing) is thrown, so the caller's whole transaction rolls back.
 */
import { storeCrl } from '../crl/store-crl.js';
import { CA_ANCHOR_TYPES } from '../domain/crl.js';
import { isKeyshareError } from '../errors.js';
import type { Store } from '../store/index.js';
import type { CrlRefusal } from '../federation.js';

export type { CrlRefusal } from '../federation.js';
import type { FederatedScope } from './federate.js';

/** A CRL to carry: its verified DER and the scopes whose documents list it. */
export interface CarriedCrl {
  der: Buffer;
  scopes: string[];
}

/** What a trust document says about CRLs (TrustDocument `crls`). */
export interface CrlListing {
  scope: string;
  crls?: { issuer: string; target: string }[];
}

/**
 * The CRLs the documents list for CA anchors federated here (not this service's own, come back
 * round a loop), by issuer. `read` gives the verified bytes of a target; a listed CRL it lacks
 * is `missing(issuer, target)`'s to decide (an online sync has read them all already).
 */
export function federatedCrls(
  documents: Iterable<CrlListing>,
  read: (target: string) => Uint8Array | undefined,
  scopes: ReadonlyMap<string, FederatedScope>,
  missing?: (issuer: string, target: string) => void,
): Map<string, CarriedCrl> {
  const out = new Map<string, CarriedCrl>();
  for (const doc of documents) {
    const cas = new Set(scopes.get(doc.scope)?.anchors.filter((a) => CA_ANCHOR_TYPES.includes(a.type)).map((a) => a.id));
    for (const c of doc.crls ?? []) {
      if (!cas.has(c.issuer)) continue;
      const seen = out.get(c.issuer);
      if (seen) {
        seen.scopes.push(doc.scope);
        continue;
      }
      const der = read(c.target);
      if (der) out.set(c.issuer, { der: Buffer.from(der), scopes: [doc.scope] });
      else missing?.(c.issuer, c.target);
    }
  }
  return out;
}

/**
 * Stores the carried CRLs that are newer than the ones held, inside the caller's transaction.
 * CRLs listed only in `skipScopes` (scopes left out, defined locally here) are not federated,
 * so not carried.
 */
export async function carryCrls(store: Store, crls: ReadonlyMap<string, CarriedCrl>, now: Date, skipScopes: ReadonlySet<string> = new Set()): Promise<{ updated: string[]; errors: CrlRefusal[] }> {
  const updated: string[] = [];
  const errors: CrlRefusal[] = [];
  for (const [issuer, { der, scopes }] of [...crls].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (scopes.every((s) => skipScopes.has(s))) continue;
    if ((await store.getCrl(issuer))?.der.equals(der)) continue;
    try {
      await storeCrl(store, der, now, { expectIssuer: issuer });
      updated.push(issuer);
    } catch (e) {
      if (!isKeyshareError(e)) throw e;
      errors.push({ issuer, code: e.code, message: e.message });
    }
  }
  return { updated, errors };
}

/** A refused CRL as one line of an upstream row's lastError (`upstream ls`). */
export const crlProblem = (e: CrlRefusal) => `${e.code}: the CRL of ${e.issuer}: ${e.message}`;
