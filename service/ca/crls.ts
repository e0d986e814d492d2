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
import { Codes, isKeyshareError } from '../errors.js';
import type { CaRecord, CrlRecord } from '../store/index.js';
import type { CaContext } from './service.js';

/** The anchor ID of a CA's issuing certificate: its CRL's issuer. */
export function crlIssuerId(rec: Pick<CaRecord, 'certificate'>): string {
  return parseCertificate(rec.certificate).id;
}

/**
 * A CRL issuer whose key keyshare holds: a CA's issuing certificate, and the root keyshare made
 * for it while the root's key is still in the data dir (it signs the CRL that revokes the
 * issuing certificate, so that `openssl verify -crl_check_all` sees that too). A root whose
 * key was moved offline has `key` null: its last CRL stands until the key comes back, which is
 * why a root's CRL is valid for a year (ROOT_CRL_VALIDITY_MS), as offline roots' CRLs are.
 */
export interface CrlSigner {
  certificate: string;
  key: () => Promise<CaKey | null>;
  validityMs: number;
}

export const ROOT_CRL_VALIDITY_MS = 365 * 24 * 3600_000;

/** The CRL issuers of one CA record, issuing certificate first. */
export function crlSigners(ctx: CaContext, rec: CaRecord): CrlSigner[] {
  const out: CrlSigner[] = [{ certificate: rec.certificate, key: () => ctx.keys.get(rec), validityMs: ctx.crlValidityMs }];
  if (rec.root) out.push({ certificate: rec.root, key: () => ctx.keys.root(rec), validityMs: ROOT_CRL_VALIDITY_MS });
  return out;
}

/** Signs the issuer's next CRL (number one more than `stored`'s), valid from `now` for `validityMs`. */
export function signCrlNow(issuerPem: string, key: CaKey, validityMs: number, stored: CrlRecord | null, entries: CrlEntryPlan[], now: Date): Promise<Uint8Array> {
  return signCrl({
    issuerKey: key,
    issuerDer: parseCertificate(issuerPem).der,
    crlNumberHex: nextCrlNumber(stored?.crlNumber ?? null),
    thisUpdate: now,
    nextUpdate: new Date(now.getTime() + validityMs),
    entries,
  });
}

/**
 * Signs and stores the issuer's CRL when due (or always, with `force` after a revocation).
 * Returns whether a new CRL was stored. A ROLLBACK means another replica stored a newer one
 * meanwhile; a signer without its key here (an offline root) signs nothing.
 */
export async function resignCrl(ctx: CaContext, signer: CrlSigner, now: Date, force: boolean): Promise<boolean> {
  const issuer = crlIssuerId(signer);
  const stored = await ctx.store.getCrl(issuer);
  const entries = crlEntriesFor(issuer, (await ctx.store.listRevocations()).certificates);
  const serials = stored ? parseCrl(stored.der).entries.map((e) => e.serialHex) : [];
  if (!force && !crlResignDue(stored ? { ...stored, serials } : null, entries, now)) return false;
  const key = await signer.key();
  if (!key) return false;
  const der = await signCrlNow(signer.certificate, key, signer.validityMs, stored, entries, now);
  try {
    await storeCrl(ctx.store, der, now, { expectIssuer: issuer });
    return true;
  } catch (e) {
    if (isKeyshareError(e) && e.code === Codes.ROLLBACK) return false;
    throw e;
  }
}
