/**
 * What keyshare's signing authorities sign (issue 18), on @peculiar/x509: CA certificates,
 * code-signing and time-stamping leaves, CRLs, and the checks on the CSRs they get.
 *
 * The profiles follow the Notary Project's certificate requirements (notaryproject/specifications
 * signature-specification.md, "Certificate Requirements"): CA certificates have a critical
 * basicConstraints with cA and a critical keyUsage with keyCertSign; a signing leaf has a
 * critical keyUsage with digitalSignature only, EKU codeSigning, and is not a CA; a TSA leaf has a
 * critical EKU timeStamping alone (RFC 3161 2.3).
 */
import { randomBytes } from 'node:crypto';
import { KeyshareError } from '../errors.js';
import { cryptoProvider, x509 } from './provider.js';
import { MIN_RSA_BITS } from './public-key.js';
import { asText, decodePem, encodePem, isDerSequence, sha256Hex } from './encoding.js';
import type { CaKey } from './ca-key.js';

export const CaCryptoCodes = {
  CSR_INVALID: 'CSR_INVALID',
  CSR_TOO_LARGE: 'CSR_TOO_LARGE',
  CSR_BAD_SIGNATURE: 'CSR_BAD_SIGNATURE',
  CSR_KEY_UNSUPPORTED: 'CSR_KEY_UNSUPPORTED',
  CSR_CA_KEY: 'CSR_CA_KEY',
  IDENTITY_INVALID: 'IDENTITY_INVALID',
} as const;

/** A CSR is a key and a name: anything larger is not one (STYLE.md: cap before parsing). */
export const MAX_CSR_BYTES = 64 * 1024;

const OID_SERIAL_NUMBER = '2.5.4.5';

/** RFC 5280 4.1.2.2: a positive serial of at most 20 octets; 16 random octets, high bit clear. */
export function randomSerialHex(): string {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x01;
  return b.toString('hex');
}

export type JsonName = { [type: string]: string[] }[];

export interface IssueParams {
  issuerKey: CaKey;
  /** The issuer's certificate (DER); absent for a self-signed root. */
  issuerDer?: Uint8Array;
  subject: JsonName | string;
  spki: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  serialHex?: string;
}

function signing(key: CaKey): Algorithm {
  return { name: key.algorithm.name, hash: (key.algorithm as { hash: string }).hash } as Algorithm;
}

async function issue(p: IssueParams, extensions: x509.Extension[]): Promise<Uint8Array> {
  const issuer = p.issuerDer ? new x509.X509Certificate(new Uint8Array(p.issuerDer)) : null;
  const subjectName = typeof p.subject === 'string' ? new x509.Name(p.subject) : new x509.Name(p.subject);
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: p.serialHex ?? randomSerialHex(),
      subject: subjectName,
      issuer: issuer ? issuer.subjectName : subjectName,
      notBefore: p.notBefore,
      notAfter: p.notAfter,
      publicKey: new x509.PublicKey(new Uint8Array(p.spki)),
      signingKey: p.issuerKey.privateKey,
      signingAlgorithm: signing(p.issuerKey),
      extensions: [
        ...extensions,
        await x509.SubjectKeyIdentifierExtension.create(new x509.PublicKey(new Uint8Array(p.spki))),
        await x509.AuthorityKeyIdentifierExtension.create(issuer ? issuer.publicKey : new x509.PublicKey(new Uint8Array(p.spki))),
      ],
    },
    p.issuerKey.crypto,
  );
  return new Uint8Array(cert.rawData);
}

/** A CA certificate: self-signed when `issuerDer` is absent (a root), else an intermediate with pathLen 0. */
export function issueCaCertificate(p: IssueParams): Promise<Uint8Array> {
  return issue(p, [
    new x509.BasicConstraintsExtension(true, p.issuerDer ? 0 : undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
  ]);
}

/** A code-signing leaf (notation's requirements above) with a CRL distribution point. */
export function issueSigningCertificate(p: IssueParams & { crlUrl: string }): Promise<Uint8Array> {
  return issue(p, [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.codeSigning], false),
    new x509.CRLDistributionPointsExtension([p.crlUrl]),
  ]);
}

/** RFC 3161 2.3: the TSA's certificate has a critical extendedKeyUsage of timeStamping only. */
export function issueTsaCertificate(p: IssueParams): Promise<Uint8Array> {
  return issue(p, [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.timeStamping], true),
  ]);
}

/** RFC 5280 5.3.1 reason codes by name (the names keyshare's revocations use). */
const REASON_CODES: Record<string, x509.X509CrlReason> = {
  unspecified: x509.X509CrlReason.unspecified,
  keyCompromise: x509.X509CrlReason.keyCompromise,
  cACompromise: x509.X509CrlReason.cACompromise,
  affiliationChanged: x509.X509CrlReason.affiliationChanged,
  superseded: x509.X509CrlReason.superseded,
  cessationOfOperation: x509.X509CrlReason.cessationOfOperation,
  certificateHold: x509.X509CrlReason.certificateHold,
  removeFromCRL: x509.X509CrlReason.removeFromCRL,
  privilegeWithdrawn: x509.X509CrlReason.privilegeWithdrawn,
  aACompromise: x509.X509CrlReason.aACompromise,
};

/** RFC 5280 5.2.3: cRLNumber, a non-critical INTEGER extension. */
function crlNumberExtension(hex: string): x509.Extension {
  let h = hex.length % 2 ? `0${hex}` : hex;
  if (parseInt(h.slice(0, 2), 16) & 0x80) h = `00${h}`;
  const content = Buffer.from(h, 'hex');
  return new x509.Extension('2.5.29.20', false, new Uint8Array([0x02, content.length, ...content]));
}

/** An RFC 5280 v2 CRL with a CRL number, the authority key identifier and reason codes. */
export async function signCrl(p: {
  issuerKey: CaKey;
  issuerDer: Uint8Array;
  crlNumberHex: string;
  thisUpdate: Date;
  nextUpdate: Date;
  entries: { serialHex: string; revokedAt: Date; reason: string }[];
}): Promise<Uint8Array> {
  const issuer = new x509.X509Certificate(new Uint8Array(p.issuerDer));
  const crl = await x509.X509CrlGenerator.create(
    {
      issuer: issuer.subjectName,
      thisUpdate: p.thisUpdate,
      nextUpdate: p.nextUpdate,
      signingKey: p.issuerKey.privateKey,
      signingAlgorithm: signing(p.issuerKey),
      extensions: [await x509.AuthorityKeyIdentifierExtension.create(issuer.publicKey), crlNumberExtension(p.crlNumberHex)],
      entries: p.entries.map((e) => ({
        serialNumber: e.serialHex,
        revocationDate: e.revokedAt,
        // RFC 5280 5.3.1: reasonCode unspecified SHOULD be absent.
        ...(e.reason !== 'unspecified' && REASON_CODES[e.reason] !== undefined ? { reason: REASON_CODES[e.reason] } : {}),
      })),
    },
    p.issuerKey.crypto,
  );
  return new Uint8Array(crl.rawData);
}

export interface CheckedCsr {
  spki: Uint8Array;
  /** `sha256:<hex of the SubjectPublicKeyInfo DER>`, for the audit log. */
  keyId: string;
}

const csrError = (code: keyof typeof CaCryptoCodes, message: string, cause?: unknown) => new KeyshareError(CaCryptoCodes[code], message, { cause });

/**
 * A PKCS#10 CSR (PEM or DER) whose signature verifies (RFC 2986 3: proof of possession), with a
 * key notation accepts (RSA >= 2048 bits, ECDSA P-256/384/521), that asks for no CA
 * certificate and does not carry one of the CA keys in `caSpkis`.
 */
export async function checkCsr(input: string | Uint8Array, caSpkis: Uint8Array[]): Promise<CheckedCsr> {
  const size = typeof input === 'string' ? Buffer.byteLength(input) : input.length;
  if (size > MAX_CSR_BYTES) throw csrError(CaCryptoCodes.CSR_TOO_LARGE, `a CSR is at most ${MAX_CSR_BYTES} bytes`);
  let der: Uint8Array;
  const text = asText(input);
  if (text !== null) {
    let blocks;
    try {
      blocks = decodePem(text).filter((b) => b.label === 'CERTIFICATE REQUEST' || b.label === 'NEW CERTIFICATE REQUEST');
    } catch (e) {
      throw csrError(CaCryptoCodes.CSR_INVALID, `malformed PEM: ${(e as Error).message}`, e);
    }
    if (blocks.length !== 1) throw csrError(CaCryptoCodes.CSR_INVALID, 'expected one "-----BEGIN CERTIFICATE REQUEST-----" block');
    der = blocks[0]!.der;
  } else if (typeof input === 'string') {
    throw csrError(CaCryptoCodes.CSR_INVALID, 'not a PEM certificate request');
  } else {
    der = input;
  }
  if (!isDerSequence(der)) throw csrError(CaCryptoCodes.CSR_INVALID, 'not a DER-encoded PKCS#10 certificate request');
  let csr: x509.Pkcs10CertificateRequest;
  let spki: Uint8Array;
  try {
    csr = new x509.Pkcs10CertificateRequest(new Uint8Array(der));
    spki = new Uint8Array(csr.publicKey.rawData);
  } catch (e) {
    throw csrError(CaCryptoCodes.CSR_INVALID, 'not a valid PKCS#10 certificate request', e);
  }
  checkCsrKey(csr.publicKey);
  let ok = false;
  try {
    ok = await csr.verify();
  } catch (e) {
    throw csrError(CaCryptoCodes.CSR_BAD_SIGNATURE, `the CSR signature cannot be checked: ${(e as Error).message}`, e);
  }
  if (!ok) throw csrError(CaCryptoCodes.CSR_BAD_SIGNATURE, 'the CSR signature does not verify with its own key (RFC 2986 proof of possession)');
  const bc = csr.extensions.find((e): e is x509.BasicConstraintsExtension => e instanceof x509.BasicConstraintsExtension);
  if (bc?.ca) throw csrError(CaCryptoCodes.CSR_CA_KEY, 'the CSR asks for a CA certificate: signing certificates are never CAs');
  if (caSpkis.some((k) => Buffer.from(k).equals(spki))) throw csrError(CaCryptoCodes.CSR_CA_KEY, 'the CSR carries the key of a keyshare CA: a signing key must be its own');
  return { spki, keyId: `sha256:${sha256Hex(spki)}` };
}

function checkCsrKey(key: x509.PublicKey): void {
  const alg = key.algorithm as { name: string; namedCurve?: string; modulusLength?: number };
  if (alg.name === 'ECDSA' && ['P-256', 'P-384', 'P-521'].includes(alg.namedCurve ?? '')) return;
  if (alg.name === 'RSASSA-PKCS1-v1_5' || alg.name === 'RSA-PSS' || alg.name === 'RSA') {
    const bits = alg.modulusLength ?? 0;
    if (bits >= MIN_RSA_BITS && bits <= 8192) return;
    throw csrError(CaCryptoCodes.CSR_KEY_UNSUPPORTED, `an RSA signing key has ${MIN_RSA_BITS} to 8192 bits, not ${bits}`);
  }
  throw csrError(CaCryptoCodes.CSR_KEY_UNSUPPORTED, `a signing key is RSA (>= ${MIN_RSA_BITS} bits) or ECDSA P-256/384/521, not ${alg.name} ${alg.namedCurve ?? ''}`.trim());
}

/** The attributes of a CA's subject that its leaves share (notation trusted identities need C, ST and O). */
export interface SubjectBase {
  C: string;
  ST: string;
  O: string;
}

/** Parses `C=.., ST=.., O=..` (RFC 4514) into the three attributes; IDENTITY_INVALID when one is missing. */
export function parseSubjectBase(dn: string): SubjectBase {
  const fields = nameFields(dn);
  const one = (t: string) => {
    const v = fields.get(t);
    if (!v || v.length !== 1) throw csrError(CaCryptoCodes.IDENTITY_INVALID, `the CA subject needs exactly one ${t} (notation trusted identities pin C, ST and O)`);
    return v[0]!;
  };
  const extra = [...fields.keys()].filter((t) => !['C', 'ST', 'O'].includes(t));
  if (extra.length) throw csrError(CaCryptoCodes.IDENTITY_INVALID, `the CA subject gives only C, ST and O, not ${extra.join(', ')}`);
  const base = { C: one('C'), ST: one('ST'), O: one('O') };
  if (!/^[A-Z]{2}$/.test(base.C)) throw csrError(CaCryptoCodes.IDENTITY_INVALID, 'C is a two-letter country code (X.520)');
  // They are written into `x509.subject: C=.., ST=.., O=..` trusted identities unescaped.
  if ([base.ST, base.O].some((v) => !/^[^,+"\\<>;=#]+$/.test(v) || v.trim() !== v)) throw csrError(CaCryptoCodes.IDENTITY_INVALID, 'ST and O hold no , + " \\ < > ; = # and no outer spaces');
  return base;
}

/** The subject of a CA certificate keyshare makes: the CA's C, ST and O, and a CN. */
export function caSubject(base: SubjectBase, cn: string): JsonName {
  return [{ C: [base.C] }, { ST: [base.ST] }, { O: [base.O] }, { CN: [cn] }];
}

function nameFields(dn: string): Map<string, string[]> {
  if (dn.length > 1024 || /\p{Cc}/u.test(dn)) throw csrError(CaCryptoCodes.IDENTITY_INVALID, 'a subject is at most 1024 characters, without control characters');
  let json: JsonName;
  try {
    json = new x509.Name(dn).toJSON() as JsonName;
  } catch (e) {
    throw csrError(CaCryptoCodes.IDENTITY_INVALID, `not an RFC 4514 name: ${JSON.stringify(dn)}`, e);
  }
  const out = new Map<string, string[]>();
  for (const rdn of json) for (const [t, values] of Object.entries(rdn)) out.set(t, [...(out.get(t) ?? []), ...values]);
  return out;
}

/**
 * The subject of a signing leaf: the CI job's identity (CN and OU only, e.g. `CN=ci:release,
 * OU=team-a`), the token that asked for it (serialNumber), and the CA's C, ST and O, so that a
 * notation trust policy can pin it (`x509.subject: CN=ci:release, OU=team-a, O=.., ST=.., C=..`).
 */
export function leafSubject(identity: string, tokenId: string, base: SubjectBase): JsonName {
  const fields = nameFields(identity);
  const extra = [...fields.keys()].filter((t) => t !== 'CN' && t !== 'OU');
  if (extra.length) throw csrError(CaCryptoCodes.IDENTITY_INVALID, `an identity gives CN and OU only (the CA sets O, ST and C, and the token), not ${extra.join(', ')}`);
  const cn = fields.get('CN') ?? [];
  const ou = fields.get('OU') ?? [];
  // notation parses subjects into one value per attribute type.
  if (cn.length !== 1 || ou.length > 1) throw csrError(CaCryptoCodes.IDENTITY_INVALID, 'an identity has one CN and at most one OU');
  return [{ C: [base.C] }, { ST: [base.ST] }, { O: [base.O] }, ...(ou.length ? [{ OU: ou }] : []), { [OID_SERIAL_NUMBER]: [`token:${tokenId}`] }, { CN: cn }];
}

/** The RFC 4514 string of a DER certificate's subject. */
export function certificateSubject(der: Uint8Array): string {
  return new x509.X509Certificate(new Uint8Array(der)).subject;
}

/** `ca issue --generate-key`: a fresh ECDSA P-256 key (PKCS#8 PEM) and a CSR signed with it (PEM). */
export async function generateKeyAndCsr(): Promise<{ keyPem: string; csrPem: string }> {
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await cryptoProvider().subtle.generateKey(algorithm, true, ['sign', 'verify'])) as CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=keyshare-signer', keys, signingAlgorithm: algorithm });
  const pkcs8 = new Uint8Array(await cryptoProvider().subtle.exportKey('pkcs8', keys.privateKey));
  return { keyPem: encodePem('PRIVATE KEY', pkcs8), csrPem: csr.toString('pem') + '\n' };
}
