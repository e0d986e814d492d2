/**
 * keyshare as the organisation's code-signing CA (issue 18): `ca create|import|ls|show`. A
 * created CA is an intermediate under a root keyshare also makes (its key to move offline,
 * like the TUF root keys); both become `ca` anchors in the CA's scopes, with trusted identities
 * for the subjects it issues, and keyshare's TSA root becomes a `tsa` anchor there. The CA's
 * first CRL is signed at once, so `crl/{issuer-hex}.crl` exists from the start.
 * Issuing (issue.ts), CRLs (crls.ts) and time-stamps (tsa.ts) are beside this.
 */
import { generateCaKeyPem, normalizeCaKeyPem, openCaKey } from '../crypto/ca-key.js';
import { caSubject, issueCaCertificate, parseSubjectBase, type SubjectBase } from '../crypto/ca.js';
import { parseCertificate, verifyCertificateSignature, type ParsedCertificate } from '../crypto/index.js';
import { parseUntrustedChain } from '../crypto/untrusted.js';
import { assertModuleAllowed, redactUri } from '../crypto/pkcs11.js';
import { buildAnchor } from '../domain/anchor.js';
import { checkCaName, DEFAULT_CA_VALIDITY_MS, RateLimiter, TSA_NAME } from '../domain/ca.js';
import { parseScope } from '../domain/scope.js';
import { crlTargetPath } from '../domain/trust.js';
import type { AnchorRecord } from '../domain/types.js';
import { KeyshareError, CaCodes, Codes } from '../errors.js';
import { storeCrl } from '../crl/store-crl.js';
import type { AuditLog } from '../audit/log.js';
import type { Publisher } from '../repo/publisher.js';
import type { CaRecord, RevocationInput, Store } from '../store/index.js';
import { parseDuration } from '../util/duration.js';
import { CaKeys, removeCaKeys, writeCaKey } from './keys.js';
import { crlIssuerId, crlSigners, resignCrl, ROOT_CRL_VALIDITY_MS, signCrlNow } from './crls.js';
import { issueCertificate, type IssueRequest, type IssuedCertificate } from './issue.js';
import { ensureTsa, TsaSigners } from './tsa.js';

export interface CaServiceOptions {
  dataDir: string;
  clock?: () => Date;
  /** How long a CRL is valid (its nextUpdate after thisUpdate); default 24 h. */
  crlValidityMs?: number;
  /** Certificates one token may get per minute; default 60. */
  issuancePerMinute?: number;
  onError?: (e: unknown) => void;
}

/** What the CA operations share (one instance per service: STYLE.md "One composition root"). */
export interface CaContext {
  store: Store;
  publisher: Publisher;
  audit: AuditLog;
  keys: CaKeys;
  tsa: TsaSigners;
  limiter: RateLimiter;
  dataDir: string;
  clock: () => Date;
  crlValidityMs: number;
  /** Parsed CA certificates by PEM: issuance parses none per request (bench B9). */
  parsed: Map<string, ParsedCertificate>;
}


export interface CaCreate {
  name: string;
  scopes: string[];
  /** The issuing key: PEM text, or a PKCS#11 URI; none: keyshare generates one (ECDSA P-256). */
  key?: { pem: string } | { uri: string } | null;
  /** `ca import`: the CA certificate, then optionally the chain up to its root (PEM). */
  certificate?: string | null;
  validity?: string | null;
  /** `C=.., ST=.., O=..` shared by the issued certificates; default `C=ZZ, ST=keyshare, O=<name>`. */
  subject?: string | null;
}

export interface CaView {
  name: string;
  scopes: string[];
  /** The anchor ID of the issuing certificate: the CRL is `crl/{hex}.crl`. */
  id: string;
  subject: string;
  notAfter: string;
  root: { id: string; subject: string; notAfter: string } | null;
  /** `file`, or the PKCS#11 URI (without PIN). */
  key: string;
  trustedIdentity: string;
  crl: { crlNumber: string; thisUpdate: string; nextUpdate: string; target: string } | null;
  tsa: { id: string; subject: string } | null;
  createdAt: string;
}

const identityOf = (b: SubjectBase) => `x509.subject: C=${b.C}, ST=${b.ST}, O=${b.O}`;
const DAY_MS = 86_400_000;

export class CaService {
  private readonly ctx: CaContext;
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;

  constructor(store: Store, publisher: Publisher, audit: AuditLog, private readonly options: CaServiceOptions) {
    this.ctx = {
      store,
      publisher,
      audit,
      keys: new CaKeys(options.dataDir),
      tsa: new TsaSigners(options.dataDir),
      limiter: new RateLimiter(options.issuancePerMinute ?? 60),
      dataDir: options.dataDir,
      clock: options.clock ?? (() => new Date()),
      crlValidityMs: options.crlValidityMs ?? DAY_MS,
      parsed: new Map(),
    };
  }

  /** `ca create` and `ca import`: validates everything, writes keys, then stores CA, anchors and first CRL in one transaction. */
  async create(input: CaCreate): Promise<CaView & { rootKeyPath: string | null }> {
    const { store } = this.ctx;
    const now = this.ctx.clock();
    const name = checkCaName(input.name);
    const scopes = [...new Set(input.scopes ?? [])].sort();
    if (scopes.length === 0) throw new KeyshareError(Codes.BAD_REQUEST, 'a signing authority needs --scopes: where its certificates are trusted');
    for (const s of scopes) {
      parseScope(s);
      await store.requireScope(s);
    }
    const base = parseSubjectBase(input.subject ?? `C=ZZ, ST=keyshare, O=${name}`);
    if (await store.getCa(name)) throw new KeyshareError(CaCodes.CA_EXISTS, `a signing authority named ${name} exists`);
    const uri = input.key && 'uri' in input.key ? input.key.uri : null;
    if (uri) assertModuleAllowed(uri);
    const written: string[] = [];
    try {
      const keyRef = uri ? uri.replace(/([?&])pin-value=[^&]*&?/, '$1').replace(/[?&]$/, '') : 'file';
      const pem = input.key && 'pem' in input.key ? normalizeCaKeyPem(input.key.pem) : uri ? null : input.certificate ? null : generateCaKeyPem();
      if (input.certificate && !uri && !pem) throw new KeyshareError(Codes.BAD_REQUEST, '`ca import` needs --key: the CA certificate\'s private key (FILE or pkcs11: URI)');
      if (pem) written.push(writeCaKey(this.ctx.dataDir, name, 'issuing', pem));
      const key = await this.ctx.keys.get({ name, keyRef });
      let certificate: ParsedCertificate;
      let root: ParsedCertificate | null = null;
      let rootKeyPath: string | null = null;
      let rootKey: Awaited<ReturnType<typeof openCaKey>> | null = null;
      if (input.certificate) {
        [certificate, root] = await importedChain(input.certificate);
        if (!Buffer.from(certificate.spkiDer).equals(Buffer.from(key.spki))) throw new KeyshareError(CaCodes.CA_KEY_MISMATCH, 'the key is not the CA certificate\'s key');
      } else {
        const validityMs = input.validity ? parseDuration(input.validity) : DEFAULT_CA_VALIDITY_MS;
        const rootPem = generateCaKeyPem();
        rootKeyPath = writeCaKey(this.ctx.dataDir, name, 'root', rootPem);
        written.push(rootKeyPath);
        rootKey = await openCaKey({ pem: rootPem });
        const subject = (cn: string) => caSubject(base, cn);
        const rootDer = await issueCaCertificate({ issuerKey: rootKey, subject: subject(`${name} root CA`), spki: rootKey.spki, notBefore: now, notAfter: new Date(now.getTime() + 2 * validityMs) });
        const caDer = await issueCaCertificate({ issuerKey: rootKey, issuerDer: rootDer, subject: subject(`${name} signing CA`), spki: key.spki, notBefore: now, notAfter: new Date(now.getTime() + validityMs) });
        root = parseCertificate(rootDer);
        certificate = parseCertificate(caDer);
      }
      const tsa = await ensureTsa(this.ctx, base, now, written);
      const rec: CaRecord = { name, kind: 'ca', scopes, certificate: certificate.pem, root: root?.pem ?? null, keyRef, subjectBase: base, createdAt: now.toISOString() };
      const anchors = await this.anchorsFor(rec, tsa.rec, now);
      const crl = await signCrlNow(rec.certificate, key, this.ctx.crlValidityMs, null, [], now);
      // The root keyshare made signs a first (empty) CRL too: it lists a revoked issuing certificate.
      const rootCrl = rootKey && root ? await signCrlNow(root.pem, rootKey, ROOT_CRL_VALIDITY_MS, null, [], now) : null;
      await store.transaction(async () => {
        if (tsa.isNew) await store.addCa(tsa.rec);
        await store.addCa(rec);
        for (const a of anchors) if (!(await store.getAnchor(a.scope, a.id))) await store.addAnchor(a, now);
        await storeCrl(store, crl, now, { expectIssuer: certificate.id });
        if (rootCrl) await storeCrl(store, rootCrl, now, { expectIssuer: root!.id });
      });
      void this.ctx.publisher.notify();
      return { ...(await this.view(rec)), rootKeyPath };
    } catch (e) {
      removeCaKeys(written);
      await this.ctx.keys.forget(name);
      throw e;
    }
  }

  /** The anchors a CA adds to each of its scopes: its root and issuing certificate (`ca`), and the TSA root (`tsa`). */
  private async anchorsFor(rec: CaRecord, tsa: CaRecord, now: Date): Promise<AnchorRecord[]> {
    const out: AnchorRecord[] = [];
    const identity = identityOf(rec.subjectBase);
    for (const scope of rec.scopes) {
      if (rec.root) out.push(await buildAnchor({ scope, certificate: rec.root, type: 'ca', name: `${rec.name}-root`, trustedIdentities: [identity] }, now));
      out.push(await buildAnchor({ scope, certificate: rec.certificate, type: 'ca', name: rec.name, trustedIdentities: [identity] }, now));
      out.push(await buildAnchor({ scope, certificate: tsa.root ?? tsa.certificate, type: 'tsa', name: 'keyshare-tsa' }, now));
    }
    return out;
  }

  async list(): Promise<CaView[]> {
    const recs = (await this.ctx.store.listCas()).filter((r) => r.kind === 'ca');
    return Promise.all(recs.map((r) => this.view(r)));
  }

  async show(name: string): Promise<CaView> {
    return this.view(await this.require(name));
  }

  async require(name: string): Promise<CaRecord> {
    const rec = typeof name === 'string' && name !== TSA_NAME ? await this.ctx.store.getCa(name) : null;
    if (!rec) throw new KeyshareError(CaCodes.CA_NOT_FOUND, `no signing authority ${JSON.stringify(name)}`);
    return rec;
  }

  private async view(rec: CaRecord): Promise<CaView> {
    const cert = parseCertificate(rec.certificate);
    const root = rec.root ? parseCertificate(rec.root) : null;
    const crl = await this.ctx.store.getCrl(cert.id);
    const tsaRec = await this.ctx.store.getCa(TSA_NAME);
    const tsaRoot = tsaRec ? parseCertificate(tsaRec.root ?? tsaRec.certificate) : null;
    return {
      name: rec.name,
      scopes: rec.scopes,
      id: cert.id,
      subject: cert.subject,
      notAfter: cert.notAfter.toISOString(),
      root: root ? { id: root.id, subject: root.subject, notAfter: root.notAfter.toISOString() } : null,
      key: rec.keyRef === 'file' ? 'file' : redactUri(rec.keyRef),
      trustedIdentity: identityOf(rec.subjectBase),
      crl: crl ? { crlNumber: crl.crlNumber, thisUpdate: crl.thisUpdate, nextUpdate: crl.nextUpdate, target: crlTargetPath(cert.id) } : null,
      tsa: tsaRoot ? { id: tsaRoot.id, subject: tsaRoot.subject } : null,
      createdAt: rec.createdAt,
    };
  }

  /** `POST /api/v1/ca/{name}/certificates` (issue.ts). */
  async issue(request: IssueRequest): Promise<IssuedCertificate> {
    return issueCertificate(this.ctx, await this.require(request.name), request);
  }

  /** `POST /tsa`: an RFC 3161 TimeStampResp for a TimeStampReq (tsa.ts). */
  timestamp(query: Uint8Array): Promise<Uint8Array> {
    return this.ctx.tsa.respond(this.ctx.store, query, this.ctx.clock());
  }

  /**
   * After certificate revocations are stored (TrustService hook): a managed CA that issued one
   * signs its CRL again at once, before the revocation is published (issue 18).
   */
  async afterRevocations(revocations: RevocationInput[]): Promise<void> {
    const issuers = new Set(revocations.filter((r) => r.kind === 'certificate').map((r) => r.issuer));
    for (const rec of await this.ctx.store.listCas()) {
      if (rec.kind !== 'ca') continue;
      for (const signer of crlSigners(this.ctx, rec)) {
        if (!issuers.has(crlIssuerId(signer))) continue;
        try {
          await resignCrl(this.ctx, signer, this.ctx.clock(), true);
        } catch (e) {
          // The revocation is stored; the next tick signs the CRL (crlResignDue sees the new entry).
          this.options.onError?.(e);
        }
      }
    }
  }

  /** Signs every CRL that is due (entries changed, or half its lifetime passed), then publishes. */
  tick(): Promise<void> {
    this.ticking ??= (async () => {
      let changed = false;
      for (const rec of await this.ctx.store.listCas()) {
        if (rec.kind !== 'ca') continue;
        for (const signer of crlSigners(this.ctx, rec)) {
          try {
            changed = (await resignCrl(this.ctx, signer, this.ctx.clock(), false)) || changed;
          } catch (e) {
            this.options.onError?.(e);
          }
        }
      }
      if (changed) await this.ctx.publisher.notify();
    })().finally(() => {
      this.ticking = null;
    });
    return this.ticking;
  }

  start(intervalMs = 60_000): void {
    this.stop();
    const run = () => void this.tick().catch((e) => this.options.onError?.(e));
    this.timer = setInterval(run, intervalMs);
    this.timer.unref();
    run();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  async close(): Promise<void> {
    this.stop();
    await this.ticking?.catch(() => {});
    await this.ctx.keys.close();
  }
}

/** `ca import`: the CA certificate first, then optionally its chain; the root is the self-signed one, if any. */
async function importedChain(pem: string): Promise<[ParsedCertificate, ParsedCertificate | null]> {
  const [cert, ...rest] = await parseUntrustedChain(pem);
  if (!cert!.isCA) throw new KeyshareError(Codes.NOT_A_CA, `"${cert!.subject}" is not a CA certificate (basicConstraints cA is not set)`);
  const selfSigned = (c: ParsedCertificate) => c.issuer === c.subject && verifyCertificateSignature(c, c).ok;
  if (selfSigned(cert!)) return [cert!, null];
  const root = rest.find(selfSigned) ?? null;
  return [cert!, root];
}
