/** Plain data shared by the domain, the store, the publisher and the clients. No I/O here. */

export type Level = 'strict' | 'permissive' | 'audit' | 'skip';
export const LEVELS: readonly Level[] = ['strict', 'permissive', 'audit', 'skip'];

export type CertificateAnchorType = 'ca' | 'signingAuthority' | 'tsa';
export type AnchorType = CertificateAnchorType | 'publicKey' | 'pgp';

/** RFC 5280 5.3.1 reason names. */
export const REVOCATION_REASONS = [
  'unspecified',
  'keyCompromise',
  'cACompromise',
  'affiliationChanged',
  'superseded',
  'cessationOfOperation',
  'certificateHold',
  'removeFromCRL',
  'privilegeWithdrawn',
  'aACompromise',
] as const;
export type RevocationReason = (typeof REVOCATION_REASONS)[number];

/** A scope as defined by an admin. `level` is null when inherited. */
export interface ScopeRecord {
  scope: string;
  inherit: boolean;
  level: Level | null;
  /** Where the scope comes from: null for local, else an upstream name (federation). */
  source?: string | null;
}

/** An anchor as stored on one scope. `material` is the PEM (certificate, SPKI or armored OpenPGP). */
export interface AnchorRecord {
  scope: string;
  id: string;
  name: string;
  type: AnchorType;
  material: string;
  trustedIdentities: string[] | null;
  /** ISO time; certificates only. */
  notAfter?: string | null;
  subject?: string | null;
  /** The ID of the key inside: the SPKI ID of a certificate, the anchor ID otherwise (for key revocation). */
  keyId?: string | null;
  /** Certificates only: lower-case hex serial and issuer DN (for certificate revocation). */
  serial?: string | null;
  issuerName?: string | null;
  source?: string | null;
}

export interface CertificateRevocation {
  issuer: string;
  serial: string;
  revokedAt: string;
  reason: RevocationReason;
  scope?: string | null;
}
export interface KeyRevocation {
  id: string;
  revokedAt: string;
  reason: RevocationReason;
  scope?: string | null;
}
export interface SignatureRevocation {
  digest: string;
  revokedAt: string;
  reason: RevocationReason;
  scope?: string | null;
}
export interface Revocations {
  certificates: CertificateRevocation[];
  keys: KeyRevocation[];
  signatures: SignatureRevocation[];
}

export const TRUST_MEDIA_TYPE = 'application/vnd.keyshare.trust.v1+json';

export interface TrustAnchor {
  id: string;
  name: string;
  type: AnchorType;
  certificate?: string;
  publicKey?: string;
  trustedIdentities?: string[];
  /**
   * `tsa` anchors only, optional: the PEM certificates keyshare's own TSA signs timestamps with,
   * issued by this anchor (Sigstore clients need the TSA's chain from its signing certificate).
   */
  signingCertificates?: string[];
  definedAt: string;
  source?: string;
}

/** The published effective trust of one scope (CONTRACT.md "A trust document"). */
export interface TrustDocument {
  mediaType: typeof TRUST_MEDIA_TYPE;
  scope: string;
  version: number;
  issuedAt: string;
  level: Level;
  inherit: boolean;
  anchors: TrustAnchor[];
  revoked: {
    certificates: Omit<CertificateRevocation, 'scope'>[];
    keys: Omit<KeyRevocation, 'scope'>[];
    signatures: Omit<SignatureRevocation, 'scope'>[];
  };
  /**
   * The CRL target of each CA anchor that has one. `urls`: where the CA itself publishes the
   * CRL (the anchor's `--crl-url`, which the service refreshes from), present when known, so
   * that clients can pre-seed caches keyed by a certificate's CRL distribution point.
   */
  crls: { issuer: string; target: string; urls?: string[] }[];
  /** A federated scope: the upstreams it comes from (service/federation/source.ts). Absent for a local scope. */
  source?: string;
}
