/**
 * The check decision (`keyshare check`, and the library function for admission controllers):
 * is a key, or a certificate chain, trusted for a scope, and is neither it nor a signature
 * revoked? Pure and synchronous: a verified trust document, the CRL targets it lists, the
 * material to check and an explicit `now` in; a decision with its evidence out.
 *
 * Revocation wins over trust: a revoked key is REVOKED, not UNTRUSTED, even though a revoked
 * key is never among a document's anchors.
 */
import {
  crlTimeStatus,
  parseCertificateChain,
  parseCrl,
  validateChain,
  verifyCrlSignature,
  type ParsedCertificate,
  type ParsedCrl,
} from '../../service/crypto/index.js';
import type { TrustAnchor, TrustDocument } from '../../service/domain/types.js';
import { KeyshareError, Codes } from '../../service/errors.js';
import { crlNumberDecimal } from '../../service/domain/crl.js';
import { isSubsetDn, parseSubjectIdentity, X509_SUBJECT } from '../formats/dn.js';

export const CheckCodes = {
  UNTRUSTED: 'UNTRUSTED',
  REVOKED: 'REVOKED',
} as const;
export type CheckCode = (typeof CheckCodes)[keyof typeof CheckCodes];

/** Anchor types a signing certificate may chain to (notation: `ca` and `signingAuthority` stores; `tsa` is for timestamps). */
export const SIGNING_ANCHOR_TYPES: readonly string[] = ['ca', 'signingAuthority'];

export interface CheckRequest {
  /** The verified trust document of the repository's scope. */
  document: TrustDocument;
  /** An anchor ID: `sha256:<hex>` (certificate or SPKI) or `pgp:<fingerprint>`. */
  key?: string;
  /** The signing certificate, then any intermediates (PEM, DER, or parsed). */
  certificates?: string | Uint8Array | ParsedCertificate[];
  /** A signature digest, `sha256:<hex>`. */
  signature?: string;
  /**
   * The CRL targets of the document's `crls`, by target path (`crl/{hex}.crl`), as fetched and
   * verified through TUF. Without them only the document's revocations are consulted.
   */
  crls?: ReadonlyMap<string, Uint8Array> | Record<string, Uint8Array>;
  /** The time of the check: certificate validity and CRL freshness are judged at it. */
  now: Date;
}

export interface CertificateEvidence {
  id: string;
  subject: string;
  issuer: string;
  serial: string;
  notBefore: string;
  notAfter: string;
}

export interface RevocationEvidence {
  kind: 'certificate' | 'key' | 'signature';
  /** `trust-document`: the signed `revoked` lists; `crl`: the CA's CRL. */
  source: 'trust-document' | 'crl';
  subject: string;
  issuer?: string;
  serial?: string;
  reason: string | null;
  revokedAt: string;
  /** The CRL's number, in decimal. */
  crlNumber?: string;
}

export interface CrlEvidence {
  issuer: string;
  target: string;
  status: 'checked' | 'not-given' | 'stale' | 'invalid';
  /** In decimal, as openssl shows it. */
  crlNumber?: string;
  thisUpdate?: string;
  nextUpdate?: string | null;
}

export interface CheckEvidence {
  scope: string;
  documentVersion: number;
  level: string;
  checkedAt: string;
  key?: string;
  signature?: string;
  /** The anchor that trusts the key or the chain. */
  anchor?: { id: string; name: string; type: string; definedAt: string };
  /** The validated path, leaf first, ending at the anchor's certificate. */
  chain?: CertificateEvidence[];
  revocation?: RevocationEvidence;
  crls: CrlEvidence[];
}

export interface CheckDecision {
  trusted: boolean;
  /** null when trusted. */
  code: CheckCode | null;
  reason: string;
  evidence: CheckEvidence;
}

function certEvidence(c: ParsedCertificate): CertificateEvidence {
  return { id: c.id, subject: c.subject, issuer: c.issuer, serial: c.serialHex, notBefore: c.notBefore.toISOString(), notAfter: c.notAfter.toISOString() };
}

function anchorEvidence(a: TrustAnchor) {
  return { id: a.id, name: a.name, type: a.type, definedAt: a.definedAt };
}

const describe = (c: ParsedCertificate) => `"${c.commonName ?? c.subject}"`;

/** A decision under way: the evidence gathered so far, and the three ways it ends. */
class Verdict {
  readonly evidence: CheckEvidence;
  constructor(doc: TrustDocument, now: Date) {
    this.evidence = { scope: doc.scope, documentVersion: doc.version, level: doc.level, checkedAt: now.toISOString(), crls: [] };
  }
  trusted(reason: string): CheckDecision {
    return { trusted: true, code: null, reason, evidence: this.evidence };
  }
  untrusted(reason: string): CheckDecision {
    return { trusted: false, code: CheckCodes.UNTRUSTED, reason, evidence: this.evidence };
  }
  revoked(reason: string, r: RevocationEvidence): CheckDecision {
    this.evidence.revocation = r;
    return { trusted: false, code: CheckCodes.REVOKED, reason, evidence: this.evidence };
  }
}

/** Decides; throws BAD_REQUEST only when there is nothing to decide on. */
export function decideCheck(request: CheckRequest): CheckDecision {
  if (request.key === undefined && request.certificates === undefined) {
    throw new KeyshareError(Codes.BAD_REQUEST, 'give a key ID or a certificate to check');
  }
  if (request.key !== undefined && request.certificates !== undefined) {
    throw new KeyshareError(Codes.BAD_REQUEST, 'give a key ID or a certificate, not both');
  }
  const v = new Verdict(request.document, request.now);
  const refused = request.signature !== undefined ? revokedSignature(request.document, request.signature, v) : null;
  if (refused) return refused;
  if (request.key !== undefined) return decideKey(request.document, request.key, v);
  return decideChain(request, v);
}

/** A revoked signature digest (the document's `revoked.signatures`), or null. */
function revokedSignature(doc: TrustDocument, signature: string, v: Verdict): CheckDecision | null {
  const digest = signature.trim().toLowerCase();
  v.evidence.signature = digest;
  const r = doc.revoked.signatures.find((s) => s.digest.toLowerCase() === digest);
  if (!r) return null;
  return v.revoked(`signature ${digest} is revoked (${r.reason}, ${r.revokedAt}) for scope ${doc.scope}`, {
    kind: 'signature', source: 'trust-document', subject: digest, reason: r.reason, revokedAt: r.revokedAt,
  });
}

const revokedKeysOf = (doc: TrustDocument) => new Map(doc.revoked.keys.map((k) => [k.id.toLowerCase(), k]));

/** A key ID: revoked, an anchor of the scope, or neither. */
function decideKey(doc: TrustDocument, keyId: string, v: Verdict): CheckDecision {
  const key = keyId.trim().toLowerCase();
  v.evidence.key = key;
  const r = revokedKeysOf(doc).get(key);
  if (r) {
    return v.revoked(`key ${key} is revoked (${r.reason}, ${r.revokedAt}) for scope ${doc.scope}`, {
      kind: 'key', source: 'trust-document', subject: key, reason: r.reason, revokedAt: r.revokedAt,
    });
  }
  const anchor = doc.anchors.find((a) => a.id.toLowerCase() === key);
  if (!anchor) return v.untrusted(`key ${key} is not an anchor of scope ${doc.scope}`);
  v.evidence.anchor = anchorEvidence(anchor);
  return v.trusted(`key ${key} is anchor "${anchor.name}" of scope ${doc.scope} (defined at ${anchor.definedAt})`);
}

/** A certificate chain: read, no revoked key in it, chained to an anchor, no certificate revoked, an identity the anchor trusts. */
function decideChain(request: CheckRequest, v: Verdict): CheckDecision {
  const { document: doc, now } = request;
  let chain: ParsedCertificate[];
  try {
    chain = Array.isArray(request.certificates) ? request.certificates : parseCertificateChain(request.certificates as string | Uint8Array);
  } catch (e) {
    return v.untrusted(`the certificate cannot be read: ${(e as Error).message}`);
  }
  if (chain.length === 0) return v.untrusted('no certificate given');
  const leaf = chain[0]!;
  v.evidence.chain = chain.map(certEvidence);
  const keyRevoked = revokedKeyInChain(doc, chain, v);
  if (keyRevoked) return keyRevoked;

  const anchors = certificateAnchors(doc);
  const result = validateChain(chain, [...anchors.values()].map((a) => a.cert), now);
  if (!result.ok || !result.anchor) {
    if (anchors.size === 0) return v.untrusted(`scope ${doc.scope} has no certificate anchors (ca or signingAuthority)`);
    return v.untrusted(`${describe(leaf)} does not chain to an anchor of scope ${doc.scope}: ${result.reason}`);
  }
  const anchor = anchors.get(result.anchor.id)!.anchor;
  v.evidence.anchor = anchorEvidence(anchor);
  v.evidence.chain = result.path.map(certEvidence);

  const crlBytes = request.crls instanceof Map ? request.crls : new Map(Object.entries(request.crls ?? {}));
  const certRevoked = revokedInPath(doc, result.path, crlBytes, now, v);
  if (certRevoked) return certRevoked;

  // Notation trusted identities: `*`, or x509.subject DNs whose attributes the leaf's subject has.
  const identities = anchor.trustedIdentities ?? ['*'];
  if (!identities.includes('*') && !identities.some((id) => subjectMatches(id, leaf.subject))) {
    return v.untrusted(`${describe(leaf)} (subject "${leaf.subject}") is not among the trusted identities of anchor "${anchor.name}": ${identities.join('; ')}`);
  }
  const via = result.path.length > 2 ? ` through ${result.path.slice(1, -1).map(describe).join(', ')}` : '';
  return v.trusted(
    result.path.length === 1
      ? `${describe(leaf)} is anchor "${anchor.name}" of scope ${doc.scope}`
      : `${describe(leaf)} chains${via} to anchor "${anchor.name}" of scope ${doc.scope} (defined at ${anchor.definedAt})`,
  );
}

/** A revoked key in the chain, by certificate ID or by the ID of the key inside (CONTRACT: revoke key by X.509 or SPKI ID), or null. */
function revokedKeyInChain(doc: TrustDocument, chain: ParsedCertificate[], v: Verdict): CheckDecision | null {
  const revokedKeys = revokedKeysOf(doc);
  for (const cert of chain) {
    for (const id of [cert.id, cert.spkiId]) {
      const r = revokedKeys.get(id);
      if (r) {
        return v.revoked(`the key of ${describe(cert)} (${id}) is revoked (${r.reason}, ${r.revokedAt}) for scope ${doc.scope}`, {
          kind: 'key', source: 'trust-document', subject: id, reason: r.reason, revokedAt: r.revokedAt,
        });
      }
    }
  }
  return null;
}

/** The anchors a signing certificate may chain to, by ID, each with its parsed certificate. */
function certificateAnchors(doc: TrustDocument): Map<string, { anchor: TrustAnchor; cert: ParsedCertificate }> {
  const anchors = new Map<string, { anchor: TrustAnchor; cert: ParsedCertificate }>();
  for (const a of doc.anchors) {
    if (!SIGNING_ANCHOR_TYPES.includes(a.type) || !a.certificate || anchors.has(a.id)) continue;
    try {
      anchors.set(a.id, { anchor: a, cert: parseCertificateChain(a.certificate)[0]! });
    } catch {
      // An anchor that does not parse trusts nothing.
    }
  }
  return anchors;
}

/** Revocation of each certificate of the path by its issuer: the signed list, then the issuer's CRL. */
function revokedInPath(doc: TrustDocument, path: ParsedCertificate[], crlBytes: ReadonlyMap<string, Uint8Array>, now: Date, v: Verdict): CheckDecision | null {
  for (let i = 0; i + 1 < path.length; i++) {
    const cert = path[i]!;
    const issuer = path[i + 1]!;
    const listed = doc.revoked.certificates.find((c) => c.issuer.toLowerCase() === issuer.id && c.serial.toLowerCase() === cert.serialHex);
    if (listed) {
      return v.revoked(`${describe(cert)} (serial ${cert.serialHex}) is revoked by its issuer ${describe(issuer)} (${listed.reason}, ${listed.revokedAt})`, {
        kind: 'certificate', source: 'trust-document', subject: cert.id, issuer: issuer.id, serial: cert.serialHex, reason: listed.reason, revokedAt: listed.revokedAt,
      });
    }
    const entry = doc.crls.find((c) => c.issuer === issuer.id);
    if (!entry) continue;
    const bytes = crlBytes.get(entry.target);
    if (!bytes) {
      v.evidence.crls.push({ issuer: issuer.id, target: entry.target, status: 'not-given' });
      continue;
    }
    const onCrl = crlRevocation(cert, issuer, entry.target, bytes, now, v);
    if (onCrl) return onCrl;
  }
  return null;
}

/** What the issuer's CRL says of `cert`: revoked, unknown (unreadable, unsigned, stale: untrusted), or null when not on it. */
function crlRevocation(cert: ParsedCertificate, issuer: ParsedCertificate, target: string, bytes: Uint8Array, now: Date, v: Verdict): CheckDecision | null {
  let crl: ParsedCrl;
  try {
    crl = parseCrl(bytes);
  } catch (e) {
    v.evidence.crls.push({ issuer: issuer.id, target, status: 'invalid' });
    return v.untrusted(`the CRL of ${describe(issuer)} cannot be read (${(e as Error).message}): the revocation status of ${describe(cert)} is unknown`);
  }
  // Decimal, as openssl shows it (fields with hex are named ...Hex).
  const number = crl.crlNumber === null ? undefined : crlNumberDecimal(crl.crlNumber);
  const seen: CrlEvidence = {
    issuer: issuer.id, target, status: 'checked', crlNumber: number,
    thisUpdate: crl.thisUpdate.toISOString(), nextUpdate: crl.nextUpdate?.toISOString() ?? null,
  };
  v.evidence.crls.push(seen);
  // The service checked it; check again, as a TUF-signed file could come from a mirror.
  const sig = verifyCrlSignature(crl, issuer);
  if (!sig.ok) {
    seen.status = 'invalid';
    return v.untrusted(`the CRL of ${describe(issuer)} is not signed by it (${sig.reason}): the revocation status of ${describe(cert)} is unknown`);
  }
  // RFC 5280 6.3.3 (a): a CRL past its nextUpdate does not tell the revocation status.
  const status = crlTimeStatus(crl, now);
  if (status !== 'valid') {
    seen.status = 'stale';
    return v.untrusted(
      `the CRL of ${describe(issuer)} is ${status === 'notYetValid' ? 'not yet valid' : `stale (nextUpdate ${crl.nextUpdate?.toISOString() ?? 'absent'})`}: the revocation status of ${describe(cert)} is unknown`,
    );
  }
  const onCrl = crl.entries.find((e) => e.serialHex === cert.serialHex);
  if (!onCrl) return null;
  return v.revoked(`${describe(cert)} (serial ${cert.serialHex}) is on the CRL of ${describe(issuer)}, number ${number} (${onCrl.reason ?? 'unspecified'}, ${onCrl.revokedAt.toISOString()})`, {
    kind: 'certificate', source: 'crl', subject: cert.id, issuer: issuer.id, serial: cert.serialHex,
    reason: onCrl.reason, revokedAt: onCrl.revokedAt.toISOString(), crlNumber: number,
  });
}

function subjectMatches(identity: string, subject: string): boolean {
  if (!identity.startsWith(X509_SUBJECT)) return false;
  const wanted = parseSubjectIdentity(identity);
  const have = parseSubjectIdentity(`${X509_SUBJECT} ${subject}`);
  if (typeof wanted === 'string' || typeof have === 'string') return identity.slice(X509_SUBJECT.length).trim() === subject;
  return isSubsetDn(wanted, have);
}
