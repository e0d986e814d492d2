/**
 * `fetch --format sigstore` (issue 19): one `{store}/trusted_root.json` per scope, a Sigstore
 * `TrustedRoot` (protobuf-specs `sigstore_trustroot.proto`, media type
 * `application/vnd.dev.sigstore.trustedroot+json;version=0.1`, in proto3 JSON), and the
 * scope's public keys as cosign `.pub` files, `keys/{store}/*.pub` (the trusted root has no
 * place for them: protobuf-specs#236).
 *
 * - A `ca` anchor becomes a `certificateAuthorities` entry, a `tsa` anchor a
 *   `timestampAuthorities` entry. `certChain` is the anchor followed by its issuers among the
 *   scope's certificate anchors (leaf first, as in Sigstore's own trusted root): sigstore-js
 *   and cosign trust a chain only when it ends in a self-signed certificate, and verify a
 *   timestamp with the first certificate of a TSA's chain, below the rest.
 * - `validFor` is the time every certificate of the chain is valid (RFC 5280 4.1.2.5), ended
 *   early by a revocation of the anchor the document lists. A revoked anchor itself is never
 *   among the anchors (CONTRACT.md), so it is never written.
 * - `tlogs` and `ctlogs` are empty: keyshare runs neither. Clients verify with transparency
 *   log and CT thresholds of 0, or merge this root with the public good instance's.
 * - What the format cannot carry (signingAuthority and OpenPGP anchors, every revocation below
 *   a CA) is decided in enforce.ts.
 */
import type { TrustAnchor, TrustDocument } from '../../shared/types.js';
import { KeyshareError } from '../../shared/errors.js';
import { unenforcedFor } from './enforce.js';
import { anchorFileBase, anchorPem, anchorsOfType, assignStores, jsonText, sortedDocuments, sortFiles, uniqueName } from './names.js';
import { FormatCodes, type FormatInput, type FormatOutput, type OutputFile } from './types.js';

export const TRUSTED_ROOT_MEDIA_TYPE = 'application/vnd.dev.sigstore.trustedroot+json;version=0.1';

/** protobuf-specs `CertificateAuthority`, in proto3 JSON (bytes as base64, times as RFC 3339). */
export interface SigstoreCertificateAuthority {
  subject: { organization?: string; commonName?: string };
  certChain: { certificates: { rawBytes: string }[] };
  validFor: { start: string; end: string };
}

/** protobuf-specs `TrustedRoot`, in proto3 JSON. */
export interface SigstoreTrustedRoot {
  mediaType: typeof TRUSTED_ROOT_MEDIA_TYPE;
  tlogs: never[];
  certificateAuthorities: SigstoreCertificateAuthority[];
  ctlogs: never[];
  timestampAuthorities: SigstoreCertificateAuthority[];
}

/** Longest chain followed through a scope's anchors (keyshare's own path length limit is lower). */
const MAX_CHAIN = 8;

interface Certificate {
  anchor: TrustAnchor;
  der: Uint8Array;
  subject: string;
  issuer: string;
  organization?: string;
  commonName: string | null;
  serialHex: string;
  spkiId: string;
  notBefore: Date;
  notAfter: Date;
}

export async function writeSigstore(input: FormatInput): Promise<FormatOutput> {
  // X.509 parsing is loaded when used, so that fetch of the other formats starts without it (bench B5).
  const { parsePublicKey, encodePem } = await import('../../service/crypto/index.js');
  const stores = assignStores(input.documents);
  const files: OutputFile[] = [];
  const warnings: string[] = [];
  for (const doc of sortedDocuments(input.documents)) {
    const store = stores.get(doc.scope)!;
    if (store === 'keys') {
      throw new KeyshareError(FormatCodes.FORMAT_UNSUPPORTED, `sigstore: scope ${doc.scope} would mix with the keys/ directory; fetch it with another format`);
    }
    const built = await trustedRootOf(doc);
    warnings.push(...built.warnings);
    files.push({ path: `${store}/trusted_root.json`, content: jsonText(built.root) });

    const used = new Set<string>();
    for (const anchor of anchorsOfType(doc, ['publicKey'])) {
      // cosign reads a PEM `PUBLIC KEY` (SubjectPublicKeyInfo) block: normalise other encodings to it.
      const key = parsePublicKey(anchorPem(doc.scope, anchor, 'publicKey'));
      files.push({ path: `keys/${store}/${uniqueName(anchorFileBase(anchor), used, '.pub')}`, content: encodePem('PUBLIC KEY', key.spkiDer) });
    }
  }
  return { files: sortFiles(files), warnings, unenforced: await unenforcedFor('sigstore', input) };
}

/**
 * One scope's document as a TrustedRoot, with warnings about anchors Sigstore clients cannot
 * use. `fetch --format sigstore` writes it per scope; `serve --sigstore-scope` publishes it as
 * the target trusted_root.json (service/repo/sigstore-root.ts), as `jsonText` of it.
 */
export async function trustedRootOf(doc: TrustDocument): Promise<{ root: SigstoreTrustedRoot; warnings: string[] }> {
  const { parseCertificate } = await import('../../service/crypto/index.js');
  const warnings: string[] = [];
  const toCertificate = (anchor: TrustAnchor, pem: string): Certificate => {
    const c = parseCertificate(pem);
    const organization = /(?:^|, )O=([^,]+)/.exec(c.subject)?.[1];
    return { anchor, ...c, ...(organization ? { organization } : {}) };
  };
  const certificates = anchorsOfType(doc, ['ca', 'tsa']).map((anchor) => toCertificate(anchor, anchorPem(doc.scope, anchor, 'certificate')));
  const root: SigstoreTrustedRoot = {
    mediaType: TRUSTED_ROOT_MEDIA_TYPE,
    tlogs: [],
    certificateAuthorities: [],
    ctlogs: [],
    timestampAuthorities: [],
  };
  for (const cert of certificates) {
    const anchorChain = chainOf(cert, certificates);
    // keyshare's own TSA: one authority per signing certificate the anchor carries, below the anchor's chain.
    const signers = (cert.anchor.signingCertificates ?? []).map((pem) => toCertificate(cert.anchor, pem)).filter((s) => s.issuer === cert.subject);
    const chains = signers.length > 0 ? signers.map((s) => [s, ...anchorChain]) : [anchorChain];
    for (const chain of chains) addAuthority(doc, chain, root, warnings);
  }
  return { root, warnings };
}

/** The chain's CertificateAuthority, in the list its anchor's type goes to, or a warning why Sigstore clients cannot use it. */
function addAuthority(doc: TrustDocument, chain: Certificate[], root: SigstoreTrustedRoot, warnings: string[]): void {
  const cert = chain[0]!;
  const last = chain[chain.length - 1]!;
  if (last.subject !== last.issuer) {
    warnings.push(`sigstore: scope ${doc.scope}: the ${cert.anchor.type} anchor "${cert.anchor.name || cert.anchor.id}" does not chain to a self-signed anchor of the scope, which Sigstore clients need; add its root`);
  } else if (cert.anchor.type === 'tsa' && chain.length === 1) {
    warnings.push(`sigstore: scope ${doc.scope}: the tsa anchor "${cert.anchor.name || cert.anchor.id}" is a root alone; Sigstore clients verify a timestamp only with the TSA's signing certificate, so add that as a tsa anchor too`);
  }
  const authority = toAuthority(doc, chain);
  if (authority === null) {
    warnings.push(`sigstore: scope ${doc.scope}: the ${cert.anchor.type} anchor "${cert.anchor.name || cert.anchor.id}" is valid at no time (expired, or revoked before it began); left out`);
    return;
  }
  (cert.anchor.type === 'ca' ? root.certificateAuthorities : root.timestampAuthorities).push(authority);
}

/** `serve --sigstore-scope`: the bytes of trusted_root.json for a scope's document (service/repo/sigstore-root.ts). */
export function trustedRootBytes(onWarning: (scope: string, warning: string) => void = () => {}): (doc: TrustDocument) => Promise<Uint8Array> {
  return async (doc) => {
    const { root, warnings } = await trustedRootOf(doc);
    for (const w of warnings) onWarning(doc.scope, w);
    return Buffer.from(jsonText(root));
  };
}

/** The anchor, then its issuer among the scope's certificates (RFC 5280 4.1.2.4 name chaining), up to a self-signed one. */
function chainOf(cert: Certificate, certificates: Certificate[]): Certificate[] {
  const chain = [cert];
  for (let last = cert; last.subject !== last.issuer && chain.length < MAX_CHAIN; ) {
    const issuer = certificates.find((c) => c.subject === last.issuer && !chain.includes(c));
    if (!issuer) break;
    chain.push(issuer);
    last = issuer;
  }
  return chain;
}

/** The chain as a CertificateAuthority, or null when its validity window is empty. */
function toAuthority(doc: TrustDocument, chain: Certificate[]): SigstoreCertificateAuthority | null {
  const anchor = chain[0]!;
  const start = Math.max(...chain.map((c) => c.notBefore.getTime()));
  const end = Math.min(...chain.map((c) => c.notAfter.getTime()), ...revokedAt(doc, anchor));
  if (end < start) return null;
  const subject: SigstoreCertificateAuthority['subject'] = {};
  if (anchor.organization) subject.organization = anchor.organization;
  if (anchor.commonName) subject.commonName = anchor.commonName;
  return {
    subject,
    certChain: { certificates: chain.map((c) => ({ rawBytes: Buffer.from(c.der).toString('base64') })) },
    validFor: { start: new Date(start).toISOString(), end: new Date(end).toISOString() },
  };
}

/** The times the document revokes the anchor itself: by its ID, its key's ID, or its own serial as issuer. */
function revokedAt(doc: TrustDocument, cert: Certificate): number[] {
  const keys = doc.revoked.keys.filter((k) => k.id === cert.anchor.id || k.id === cert.spkiId);
  const self = doc.revoked.certificates.filter((c) => c.issuer === cert.anchor.id && c.serial === cert.serialHex);
  return [...keys, ...self].map((r) => Date.parse(r.revokedAt)).filter((t) => !Number.isNaN(t));
}
