/**
 * Certificate paths to an anchor (RFC 5280 section 6), synchronous and with an explicit time.
 *
 * Path building only links subject to issuer names and checks signatures; the policy checks
 * are ours, as in sigstore-js `CertificateChainVerifier.checkPath`: every certificate valid at
 * `now`, every issuer a CA (basicConstraints cA) allowed to sign certificates (keyUsage
 * keyCertSign) within its pathLenConstraint, and a leaf that may sign (digitalSignature).
 */
import { KeyshareError, Codes } from '../errors.js';
import { asText, decodePem, isPrivateKeyLabel, NEVER_UPLOAD_PRIVATE } from './encoding.js';
import { certificateValidity, parseCertificate, type ParsedCertificate } from './x509.js';
import { verifyCertificateSignature } from './crl.js';
import { checkCertificateKey } from './public-key.js';

/** RFC 5280 does not bound paths; we do, so that a hostile bundle cannot make us search forever. */
export const MAX_PATH_LENGTH = 8;
/** Upper bound on the certificates accepted in one bundle. */
export const MAX_CHAIN_CERTIFICATES = 16;

/**
 * One or more certificates: PEM blocks (leaf first, as TLS and notation bundles have them),
 * or one DER certificate. Each member's key is held to the allow-list (key-policy.ts) before
 * any signature is checked with it: UNSUPPORTED_KEY.
 */
export function parseCertificateChain(input: string | Uint8Array): ParsedCertificate[] {
  const text = asText(input);
  if (text === null) return [withAllowedKey(parseCertificate(input))];
  let blocks;
  try {
    blocks = decodePem(text);
  } catch (e) {
    throw new KeyshareError(Codes.BAD_CERTIFICATE, `malformed PEM: ${(e as Error).message}`, { cause: e });
  }
  if (blocks.some((b) => isPrivateKeyLabel(b.label))) throw new KeyshareError(Codes.BAD_CERTIFICATE, NEVER_UPLOAD_PRIVATE);
  const certs = blocks.filter((b) => b.label === 'CERTIFICATE');
  if (certs.length === 0) throw new KeyshareError(Codes.BAD_CERTIFICATE, 'no "-----BEGIN CERTIFICATE-----" block found');
  if (certs.length > MAX_CHAIN_CERTIFICATES) {
    throw new KeyshareError(Codes.BAD_CERTIFICATE, `at most ${MAX_CHAIN_CERTIFICATES} certificates are accepted in one chain`);
  }
  return certs.map((b) => withAllowedKey(parseCertificate(b.der)));
}

function withAllowedKey(cert: ParsedCertificate): ParsedCertificate {
  checkCertificateKey(cert.spkiDer);
  return cert;
}

export interface ChainResult {
  ok: boolean;
  /** Why there is no valid path, for people. */
  reason?: string;
  /** Leaf first, then intermediates, then the anchor's certificate (the leaf alone when it is the anchor). */
  path: ParsedCertificate[];
  /** The anchor the path ends at. */
  anchor?: ParsedCertificate;
}

/** RFC 5280 7.1, simplified: issuer and subject names compared in their string form. */
const namesMatch = (issuerName: string, subject: string) => issuerName === subject;

/** Checks one complete path (leaf ... anchor) at `now`. Returns why it fails, or null. */
export function checkPath(path: ParsedCertificate[], now: Date): string | null {
  for (const cert of path) {
    const validity = certificateValidity(cert, now);
    const name = describe(cert);
    // RFC 5280 6.1.3 (a)(2): every certificate in the path is valid at the time of the check.
    if (validity === 'expired') return `${name} expired at ${cert.notAfter.toISOString()}`;
    if (validity === 'notYetValid') return `${name} is not valid before ${cert.notBefore.toISOString()}`;
  }
  for (let i = 1; i < path.length; i++) {
    const ca = path[i]!;
    // RFC 5280 6.1.4 (k): an issuer must be a CA.
    if (!ca.isCA) return `${describe(ca)} issued ${describe(path[i - 1]!)} but is not a CA (basicConstraints cA is not set)`;
    // RFC 5280 6.1.4 (n): keyUsage, when present, must allow keyCertSign.
    if (ca.keyUsage.length > 0 && !ca.keyUsage.includes('keyCertSign')) {
      return `${describe(ca)} may not sign certificates (its keyUsage lacks keyCertSign)`;
    }
    // RFC 5280 4.2.1.9 / 6.1.4 (l)-(m): pathLenConstraint bounds the intermediate CAs below it.
    const below = i - 1;
    if (ca.pathLen !== undefined && below > ca.pathLen) {
      return `${describe(ca)} allows ${ca.pathLen} intermediate CA certificate(s) below it (pathLenConstraint), the path has ${below}`;
    }
  }
  const leaf = path[0]!;
  // RFC 5280 4.2.1.3: a certificate that signs data carries digitalSignature when keyUsage is present.
  if (path.length > 1 && leaf.keyUsage.length > 0 && !leaf.keyUsage.includes('digitalSignature')) {
    return `${describe(leaf)} may not sign (its keyUsage lacks digitalSignature)`;
  }
  return null;
}

/**
 * Builds a path from `chain[0]` (the leaf) through the other certificates of `chain` to one of
 * `anchors`, and checks it at `now`. Any valid path wins; otherwise the most telling failure
 * is reported.
 */
export function validateChain(chain: ParsedCertificate[], anchors: ParsedCertificate[], now: Date): ChainResult {
  const leaf = chain[0];
  if (!leaf) return { ok: false, reason: 'no certificate given', path: [] };
  const intermediates = chain.slice(1);
  const direct = anchors.find((a) => a.id === leaf.id);
  if (direct) {
    const reason = checkPath([leaf], now);
    return reason ? { ok: false, reason, path: [leaf], anchor: direct } : { ok: true, path: [leaf], anchor: direct };
  }

  let best: { reason: string; rank: number } | null = null;
  const fail = (reason: string, rank: number) => {
    if (!best || rank > best.rank) best = { reason, rank };
  };
  const search = (path: ParsedCertificate[]): ChainResult | null => {
    const current = path[path.length - 1]!;
    for (const anchor of anchors) {
      if (!namesMatch(current.issuer, anchor.subject)) continue;
      const sig = verifyCertificateSignature(current, anchor);
      if (!sig.ok) {
        fail(`the signature on ${describe(current)} does not verify with the key of anchor ${describe(anchor)}: ${sig.reason}`, 2);
        continue;
      }
      const full = [...path, anchor];
      const reason = checkPath(full, now);
      if (!reason) return { ok: true, path: full, anchor };
      fail(reason, 3);
    }
    if (path.length >= MAX_PATH_LENGTH) {
      fail(`no anchor within ${MAX_PATH_LENGTH} certificates`, 1);
      return null;
    }
    for (const next of intermediates) {
      if (path.some((p) => p.id === next.id) || !namesMatch(current.issuer, next.subject)) continue;
      const sig = verifyCertificateSignature(current, next);
      if (!sig.ok) {
        fail(`the signature on ${describe(current)} does not verify with the key of ${describe(next)}: ${sig.reason}`, 2);
        continue;
      }
      const found = search([...path, next]);
      if (found) return found;
    }
    fail(`no path from ${describe(leaf)} to an anchor: the issuer of ${describe(current)}, "${current.issuer}", is neither an anchor of this scope nor in the given chain`, 0);
    return null;
  };
  const found = search([leaf]);
  if (found) return found;
  return { ok: false, reason: (best as { reason: string } | null)?.reason ?? 'no path to an anchor', path: [leaf] };
}

function describe(cert: ParsedCertificate): string {
  return `"${cert.commonName ?? cert.subject}"`;
}
