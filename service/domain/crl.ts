/**
 * Which CRLs keyshare accepts, and which CA issued a certificate. Pure apart from parsing and
 * signature checks (service/crypto): no fs, http or db, and an explicit `now`.
 */
import {
  CrlCodes,
  compareCrlNumbers,
  crlTimeStatus,
  parseCertificate,
  verifyCertificateSignature,
  verifyCrlSignature,
  type ParsedCertificate,
  type ParsedCrl,
} from '../crypto/index.js';
import { KeyshareError, Codes } from '../errors.js';
import type { AnchorRecord, AnchorType } from './types.js';

export { CrlCodes };
export const ROLLBACK = Codes.ROLLBACK;

/**
 * A CRL number for people: decimal, as `openssl crl -text` shows it (RFC 5280 5.2.3: an
 * integer). Stored and compared as minimal hex; output shows hex only in fields named `...Hex`.
 */
export function crlNumberDecimal(hex: string): string {
  return BigInt(`0x${hex}`).toString(10);
}
/** A certificate whose issuer is neither itself, a CA anchor, nor given beside it. */
export const ISSUER_UNKNOWN = 'ISSUER_UNKNOWN';

/** Anchor types whose certificate is a CA (CONTRACT "Anchor IDs": ca and tsa must be CAs). */
export const CA_ANCHOR_TYPES: readonly AnchorType[] = ['ca', 'tsa'];

export interface CaAnchor {
  id: string;
  cert: ParsedCertificate;
}

/** The CA anchors among `anchors` (any scope), one per ID, with their parsed certificates. */
export function caAnchors(anchors: AnchorRecord[]): CaAnchor[] {
  const out = new Map<string, CaAnchor>();
  for (const a of anchors) {
    if (!CA_ANCHOR_TYPES.includes(a.type) || out.has(a.id)) continue;
    try {
      out.set(a.id, { id: a.id, cert: parseCertificate(a.material) });
    } catch {
      // A stored anchor was valid when added; one that no longer parses cannot issue CRLs.
    }
  }
  return [...out.values()];
}

export interface CrlDecision {
  /** The CA anchor that issued the CRL. */
  issuer: string;
  /** True when the CRL's revoked serials differ from the stored CRL's (anchors may be revoked). */
  entriesChanged: boolean;
}

/**
 * Checks a CRL in the order the issue gives: the issuer is a CA anchor, the signature verifies
 * with that CA's key, thisUpdate is not in the future and nextUpdate is present and not
 * passed, and the CRL number is greater than the stored one. Throws the matching code.
 */
export function acceptCrl(input: {
  crl: ParsedCrl;
  anchors: CaAnchor[];
  /** The stored CRL of an issuer, if any. */
  stored: (issuer: string) => { crlNumber: string; entries?: ReadonlySet<string> } | null;
  now: Date;
}): CrlDecision {
  const { crl, now } = input;
  // RFC 5280 6.3.3 (b): the CRL issuer is the CA; here, one of the CA anchors.
  const named = input.anchors.filter((a) => a.cert.subject === crl.issuer);
  if (named.length === 0) {
    throw new KeyshareError(CrlCodes.CRL_UNKNOWN_ISSUER, `the CRL issuer "${crl.issuer}" is not a CA anchor`);
  }
  // RFC 5280 6.3.3 (f): verify with the CA's key. Two anchors can share a name (a re-keyed CA).
  const reasons: string[] = [];
  const issuer = named.find((a) => {
    const check = verifyCrlSignature(crl, a.cert);
    if (!check.ok) reasons.push(check.reason ?? 'bad signature');
    return check.ok;
  });
  if (!issuer) {
    throw new KeyshareError(CrlCodes.CRL_BAD_SIGNATURE, `the CRL signature does not verify with the key of "${crl.issuer}": ${reasons.join('; ')}`);
  }
  switch (crlTimeStatus(crl, now)) {
    case 'notYetValid':
      throw new KeyshareError(CrlCodes.CRL_NOT_YET_VALID, `the CRL's thisUpdate ${crl.thisUpdate.toISOString()} is in the future`);
    case 'noNextUpdate':
      // RFC 5280 5.1.2.5: conforming CRL issuers include nextUpdate; without it nobody knows when it is stale.
      throw new KeyshareError(CrlCodes.CRL_NO_NEXT_UPDATE, 'the CRL has no nextUpdate (RFC 5280 5.1.2.5 requires it)');
    case 'expired':
      throw new KeyshareError(CrlCodes.CRL_EXPIRED, `the CRL expired: its nextUpdate ${crl.nextUpdate!.toISOString()} has passed`);
    case 'valid':
      break;
  }
  // RFC 5280 5.2.3: conforming CRL issuers include a monotonically increasing CRL number.
  if (crl.crlNumber === null) throw new KeyshareError(CrlCodes.CRL_INVALID, 'the CRL has no CRL number (RFC 5280 5.2.3 requires it)');
  const stored = input.stored(issuer.id);
  if (stored && compareCrlNumbers(crl.crlNumber, stored.crlNumber) <= 0) {
    throw new KeyshareError(ROLLBACK, `CRL number ${crlNumberDecimal(crl.crlNumber)} is not greater than the stored ${crlNumberDecimal(stored.crlNumber)} (RFC 5280 5.2.3)`);
  }
  const serials = new Set(crl.entries.map((e) => e.serialHex));
  const entriesChanged = !stored?.entries || stored.entries.size !== serials.size || [...serials].some((s) => !stored.entries!.has(s));
  return { issuer: issuer.id, entriesChanged };
}

/**
 * The ID of the CA that issued `cert`, for revocation by issuer and serial: the certificate
 * itself when self-issued, else a CA anchor, else one of the certificates given with it,
 * whose subject is the certificate's issuer (RFC 5280 4.1.2.4) and whose key verifies its
 * signature.
 */
export function certificateIssuerId(cert: ParsedCertificate, anchors: CaAnchor[], given: ParsedCertificate[] = []): string {
  if (cert.issuer === cert.subject && verifyCertificateSignature(cert, cert).ok) return cert.id;
  const candidates: CaAnchor[] = [...anchors, ...given.filter((g) => g.id !== cert.id).map((g) => ({ id: g.id, cert: g }))];
  const named = candidates.filter((c) => c.cert.subject === cert.issuer);
  const found = named.find((c) => verifyCertificateSignature(cert, c.cert).ok);
  if (found) return found.id;
  throw new KeyshareError(
    ISSUER_UNKNOWN,
    named.length > 0
      ? `no CA named "${cert.issuer}" verifies the certificate's signature`
      : `the issuer "${cert.issuer}" is not a CA anchor: put the issuing CA certificate after the certificate in the file, or give --issuer ID --serial HEX`,
  );
}
