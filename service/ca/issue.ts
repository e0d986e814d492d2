/**
 * Issuing short-lived signing certificates to CI (issue 18): a `signer` token within the CA's
 * scopes (and bounded to it with `--ca`) sends a PKCS#10 CSR and gets a certificate chain that
 * meets notation's requirements, valid for at most the token's `--max-validity`, whose subject
 * names the job's identity and the token, with a CRL distribution point at this service.
 * Every issuance is audited and rate-limited per token; a refusal changes nothing.
 */
import { checkCsr, issueSigningCertificate, leafSubject, randomSerialHex } from '../crypto/ca.js';
import { parseCertificate, type ParsedCertificate } from '../crypto/index.js';
import { Actions, authorize, ForbiddenError, type Subject } from '../auth/authorize.js';
import { leafValidityMs } from '../domain/ca.js';
import type { CaRecord, TokenRecord } from '../store/index.js';
import { parseDuration } from '../util/duration.js';
import type { CaContext } from './service.js';

/** Without `--max-validity` a token gets certificates of at most an hour (issue 18). */
const DEFAULT_MAX_VALIDITY_SECONDS = 3600;
/** Without `--identity`, the leaf's CN. */
export const DEFAULT_IDENTITY = 'CN=keyshare-signer';

export interface IssueRequest {
  name: string;
  /** The caller and its token record (role, scopes, CA bound, maximum validity). */
  principal: Subject & { tokenId: string };
  token: TokenRecord;
  /** PEM (or DER) PKCS#10. */
  csr: string | Uint8Array;
  validity?: string | null;
  identity?: string | null;
  /** This service's URL as the client reached it: the CRL distribution point is under it. */
  baseUrl: string;
}

export interface IssuedCertificate {
  /** The issuing CA's anchor ID and the serial: what `revoke cert --issuer --serial` takes. */
  issuer: string;
  serial: string;
  subject: string;
  notBefore: string;
  notAfter: string;
  /** The leaf, PEM. */
  certificate: string;
  /** Leaf, issuing CA and root, PEM (what `notation sign` and `openssl cms -certfile` take). */
  chain: string;
}

export async function issueCertificate(ctx: CaContext, rec: CaRecord, req: IssueRequest): Promise<IssuedCertificate> {
  const now = ctx.clock();
  // A signer token bound to one CA may not use another; then its scopes must cover the CA's.
  if (req.token.role === 'signer' && req.token.ca && req.token.ca !== rec.name) {
    throw new ForbiddenError(Actions.CA_ISSUE, rec.scopes, `this token may use only the signing authority ${req.token.ca}, not ${rec.name}`);
  }
  authorize(req.principal, Actions.CA_ISSUE, rec.scopes);
  const maxSeconds = req.token.role === 'signer' ? (req.token.maxValiditySeconds ?? DEFAULT_MAX_VALIDITY_SECONDS) : DEFAULT_MAX_VALIDITY_SECONDS;
  const validityMs = leafValidityMs(req.validity ? parseDuration(req.validity) : null, maxSeconds);
  const issuing = parsedCa(ctx, rec.certificate);
  const caKeys = (await ctx.store.listCas()).flatMap((r) => [r.certificate, r.root]).filter((p): p is string => !!p).map((p) => parsedCa(ctx, p).spkiDer);
  const csr = await checkCsr(req.csr, caKeys);
  const subject = leafSubject(req.identity ?? DEFAULT_IDENTITY, req.token.id, rec.subjectBase);
  ctx.limiter.take(req.token.id, now);
  const serial = randomSerialHex();
  const notAfter = new Date(now.getTime() + validityMs);
  const der = await issueSigningCertificate({
    issuerKey: await ctx.keys.get(rec),
    issuerDer: issuing.der,
    subject,
    spki: csr.spki,
    notBefore: now,
    notAfter,
    serialHex: serial,
    crlUrl: `${req.baseUrl.replace(/\/+$/, '')}/crl/${issuing.id.slice('sha256:'.length)}.crl`,
  });
  const leaf = parseCertificate(der);
  const issued: IssuedCertificate = {
    issuer: issuing.id,
    serial: leaf.serialHex,
    subject: leaf.subject,
    notBefore: leaf.notBefore.toISOString(),
    notAfter: leaf.notAfter.toISOString(),
    certificate: leaf.pem,
    chain: leaf.pem + issuing.pem + (rec.root ?? ''),
  };
  await ctx.audit.append({
    actor: req.token.id,
    action: Actions.CA_ISSUE,
    outcome: 'ok',
    target: `${issuing.id}/${issued.serial}`,
    details: { ca: rec.name, csrKeyId: csr.keyId, serial: issued.serial, subject: issued.subject, notBefore: issued.notBefore, notAfter: issued.notAfter },
  });
  return issued;
}

/** A stored CA certificate, parsed once. */
function parsedCa(ctx: CaContext, pem: string): ParsedCertificate {
  let cert = ctx.parsed.get(pem);
  if (!cert) ctx.parsed.set(pem, (cert = parseCertificate(pem)));
  return cert;
}
