/**
 * CRLs signed by keyshare's signing authorities (issue 18): RFC 5280 v2 CRLs with a CRL
 * number, the authority key identifier and reason codes, listing the certificate revocations
 * that name the CA. Each goes into the store through the one CRL path (crl/store-crl.ts), so it
 * is published as the CA anchor's `crl/{issuer-hex}.crl` target and served at `/crl/`.
 */
import type { CaKey } from '../crypto/ca-key.js';
import { signCrl } from '../crypto/ca.js';
import { parseCertificate, parseCrl } from '../crypto/index.js';
import { crlEntriesFor, crlResignDue, nextCrlNumber, type CrlEntryPlan } from '../domain/ca.js';
import { storeCrl } from '../crl/store-crl.js';
import { isKeyshareError } from '../errors.js';
import type { CaRecord, CrlRecord } from '../store/index.js';
import type { CaContext } from './service.js';

/** The anchor ID of a CA's issuing certificate: its CRL's issuer. */
export function crlIssuerId(rec: Pick<CaRecord, 'certificate'>): string {
  return parseCertificate(rec.certificate).id;
}

/** Signs the CA's next CRL (number one more than `stored`'s) valid from `now` for the configured time. */
export function signCrlNow(ctx: CaContext, rec: CaRecord, key: CaKey, stored: CrlRecord | null, entries: CrlEntryPlan[], now: Date): Promise<Uint8Array> {
  return signCrl({
    issuerKey: key,
    issuerDer: parseCertificate(rec.certificate).der,
    crlNumberHex: nextCrlNumber(stored?.crlNumber ?? null),
    thisUpdate: now,
    nextUpdate: new Date(now.getTime() + ctx.crlValidityMs),
    entries,
  });
}

/**
 * Signs and stores the CA's CRL when due (or always, with `force` after a revocation). Returns
 * whether a new CRL was stored. A ROLLBACK means another replica stored a newer one meanwhile.
 */
export async function resignCrl(ctx: CaContext, rec: CaRecord, now: Date, force: boolean): Promise<boolean> {
  const issuer = crlIssuerId(rec);
  const stored = await ctx.store.getCrl(issuer);
  const entries = crlEntriesFor(issuer, (await ctx.store.listRevocations()).certificates);
  const serials = stored ? parseCrl(stored.der).entries.map((e) => e.serialHex) : [];
  if (!force && !crlResignDue(stored ? { ...stored, serials } : null, entries, now)) return false;
  const der = await signCrlNow(ctx, rec, await ctx.keys.get(rec), stored, entries, now);
  try {
    await storeCrl(ctx.store, der, now, { expectIssuer: issuer });
    return true;
  } catch (e) {
    if (isKeyshareError(e) && e.code === 'ROLLBACK') return false;
    throw e;
  }
}
