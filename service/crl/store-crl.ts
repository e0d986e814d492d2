/**
 * Checks a CRL and stores it: the one path every CRL takes into the store, whether uploaded
 * (`crl add`), fetched from a CA's URL (refresh.ts) or carried from an upstream
 * (service/federation/upstream/sync.ts). The decision is service/domain/crl.ts acceptCrl (issuer, signature,
 * times, CRL number); this only reads what it needs and persists once it accepts (tuf-js
 * updater style). Runs inside the caller's store transaction when there is one.
 */
import { acceptCrl, caAnchors, CA_ANCHOR_TYPES, CrlCodes } from '../domain/crl.js';
import { parseCrl } from '../crypto/index.js';
import { KeyshareError } from '../errors.js';
import type { Store } from '../store/index.js';

export interface StoreCrlOptions {
  /** Where the service fetches the issuer's next CRL from (null clears it; undefined keeps it). */
  url?: string | null;
  fetchedAt?: string;
  /** Refuse a CRL of another CA (CRL_UNKNOWN_ISSUER). */
  expectIssuer?: string;
}

/** Throws the code of the first check that fails (ROLLBACK for a CRL number not greater than the stored one); returns the issuer. */
export async function storeCrl(store: Store, input: string | Uint8Array, now: Date, options: StoreCrlOptions = {}): Promise<{ issuer: string }> {
  const crl = parseCrl(input);
  // acceptCrl is pure and synchronous: it gets the stored CRLs read beforehand.
  const stored = new Map((await store.listCrls()).map((c) => [c.issuer, c]));
  const storedEntries = (issuer: string) => {
    const rec = stored.get(issuer);
    if (!rec) return null;
    let entries: Set<string> | undefined;
    try {
      entries = new Set(parseCrl(rec.der).entries.map((e) => e.serialHex));
    } catch {
      entries = undefined;
    }
    return { crlNumber: rec.crlNumber, entries };
  };
  const anchors = await store.listAnchorsOfTypes([...CA_ANCHOR_TYPES]);
  const decision = acceptCrl({ crl, anchors: caAnchors(anchors), stored: storedEntries, now });
  if (options.expectIssuer !== undefined && decision.issuer !== options.expectIssuer) {
    throw new KeyshareError(CrlCodes.CRL_UNKNOWN_ISSUER, `the CRL is issued by anchor ${decision.issuer}, not ${options.expectIssuer}`);
  }
  await store.putCrl(
    {
      issuer: decision.issuer,
      crlNumber: crl.crlNumber!,
      thisUpdate: crl.thisUpdate.toISOString(),
      nextUpdate: crl.nextUpdate!.toISOString(),
      der: Buffer.from(crl.der),
      updatedAt: now.toISOString(),
      ...(options.url !== undefined ? { url: options.url } : {}),
      ...(options.fetchedAt !== undefined ? { lastFetchAt: options.fetchedAt } : {}),
    },
    decision.entriesChanged,
  );
  return { issuer: decision.issuer };
}
