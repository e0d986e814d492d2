/**
 * keyshare's time-stamping authority (RFC 3161, issue 18): one per service, made with the first
 * signing authority. Its certificate (EKU timeStamping, critical) chains to a TSA root of its
 * own, which becomes a `tsa` anchor in every CA's scopes, so notation gets `x509/tsa/{store}`.
 * With it a signature made with a 10-minute certificate still verifies after the certificate
 * expired (notation's `--timestamp-url`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { generateCaKeyPem, openCaKey } from '../crypto/ca-key.js';
import { caSubject, issueCaCertificate, issueTsaCertificate, randomSerialHex, type SubjectBase } from '../crypto/ca.js';
import { parseCertificate } from '../crypto/index.js';
import { loadTsaSigner, parseTimeStampQuery, timeStampResponse, type TsaSigner } from '../crypto/tsa.js';
import { TSA_NAME } from '../domain/ca.js';
import { KeyshareError, CaCodes } from '../errors.js';
import type { CaRecord, Store } from '../store/index.js';
import { caKeyPath, writeCaKey } from './keys.js';
import type { CaContext } from './service.js';

/** keyshare's TSA policy (RFC 3161 2.4.2 `policy`): an OID under 2.25 (a UUID, ITU-T X.667). */
export const TSA_POLICY = '2.25.187728447331276763337255785754551746193';
const TSA_VALIDITY_MS = 10 * 365 * 86_400_000;

/**
 * The TSA record, made on first use: a TSA root (key to move offline) and the TSA's own
 * certificate. A new record is for the caller to store, in the transaction that adds the CA.
 */
export async function ensureTsa(ctx: CaContext, base: SubjectBase, now: Date, written: string[]): Promise<{ rec: CaRecord; isNew: boolean }> {
  const existing = await ctx.store.getCa(TSA_NAME);
  if (existing) return { rec: existing, isNew: false };
  const subject = (cn: string) => caSubject(base, cn);
  const rootPem = generateCaKeyPem();
  written.push(writeCaKey(ctx.dataDir, TSA_NAME, 'root', rootPem));
  const tsaPem = generateCaKeyPem();
  written.push(writeCaKey(ctx.dataDir, TSA_NAME, 'issuing', tsaPem));
  const rootKey = await openCaKey({ pem: rootPem });
  const tsaKey = await openCaKey({ pem: tsaPem });
  const rootDer = await issueCaCertificate({ issuerKey: rootKey, subject: subject('keyshare TSA root'), spki: rootKey.spki, notBefore: now, notAfter: new Date(now.getTime() + 2 * TSA_VALIDITY_MS) });
  const tsaDer = await issueTsaCertificate({ issuerKey: rootKey, issuerDer: rootDer, subject: subject('keyshare TSA'), spki: tsaKey.spki, notBefore: now, notAfter: new Date(now.getTime() + TSA_VALIDITY_MS) });
  const rec: CaRecord = {
    name: TSA_NAME,
    kind: 'tsa',
    scopes: [],
    certificate: parseCertificate(tsaDer).pem,
    root: parseCertificate(rootDer).pem,
    keyRef: 'file',
    subjectBase: base,
    createdAt: now.toISOString(),
  };
  return { rec, isNew: true };
}

/** The TSA's signer, loaded once. */
export class TsaSigners {
  private signer: TsaSigner | null = null;

  constructor(private readonly dataDir: string) {}

  private async load(store: Store): Promise<TsaSigner> {
    if (this.signer) return this.signer;
    const rec = await store.getCa(TSA_NAME);
    if (!rec) throw new KeyshareError(CaCodes.TSA_UNAVAILABLE, 'keyshare has no time-stamping authority yet: it is made with the first signing authority (`keyshare ca create`)');
    const path = caKeyPath(this.dataDir, TSA_NAME);
    if (!existsSync(path)) throw new KeyshareError(CaCodes.CA_KEY_UNAVAILABLE, `the TSA key ${path} is not available here (docs/DEPLOYMENT.md, "Signing authorities")`);
    this.signer = loadTsaSigner(readFileSync(path, 'utf8'), parseCertificate(rec.certificate).der, TSA_POLICY);
    return this.signer;
  }

  /** RFC 3161: checks the query (400 codes in crypto/tsa.ts) and answers a granted TimeStampResp. */
  async respond(store: Store, query: Uint8Array, now: Date): Promise<Uint8Array> {
    const parsed = parseTimeStampQuery(query, TSA_POLICY);
    return timeStampResponse(parsed, await this.load(store), randomSerialHex(), now);
  }
}

/**
 * The trust document's `signingCertificates` of the keyshare-tsa anchor (service/domain/trust.ts):
 * the TSA's certificate, by its root's anchor ID, so that a trust root built from the document
 * alone holds the TSA's chain from the certificate named in its timestamps (sync/formats/sigstore.ts).
 */
export async function tsaSignersOf(store: Pick<Store, 'getCa'>): Promise<Map<string, string[]>> {
  const rec = await store.getCa(TSA_NAME);
  if (!rec?.root) return new Map();
  return new Map([[parseCertificate(rec.root).id, [rec.certificate]]]);
}
