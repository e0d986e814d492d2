/**
 * Federation of an imported bundle: verified trust documents in, the scopes, anchors and
 * revocations to store out. Pure apart from parsing key material (service/crypto).
 *
 * A trust document is the origin's *effective* trust for its scope: inherited anchors,
 * revocations and level are already resolved. An imported scope therefore stores exactly
 * that, with `inherit: false` (inheriting again here would mix in this site's parents), its
 * anchors and revocations at the scope itself, and `source = bundle:<origin>`. The site then
 * republishes the same trust under its own root.
 */
import { parseCertificate, parsePgpPublicKey, parsePublicKey } from '../../service/crypto/index.js';
import { normalizeIdentities, shortId } from '../../service/domain/anchor.js';
import { parseScope, trustTargetPath } from '../../service/domain/scope.js';
import { LEVELS, REVOCATION_REASONS, TRUST_MEDIA_TYPE, type AnchorRecord, type Level, type RevocationReason, type ScopeRecord, type TrustIndex } from '../../service/domain/types.js';
import { isKeyshareError } from '../../service/errors.js';
import type { RevocationInput } from '../../service/store/index.js';
import { BundleCodes, bundleError } from './errors.js';

export interface FederatedScope {
  scope: ScopeRecord;
  anchors: AnchorRecord[];
  revocations: RevocationInput[];
}

const HEX_DIGEST = /^sha256:[0-9a-f]{64}$/;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;
const isObject = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v);

function invalid(where: string, message: string, cause?: unknown) {
  return bundleError(BundleCodes.BUNDLE_INVALID, `${where}: ${message}`, cause);
}

/** The signed index.json: scope -> trust file path. */
export function parseIndex(bytes: Buffer): Map<string, string> {
  let index: TrustIndex;
  try {
    index = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw invalid('index.json', 'not JSON', e);
  }
  if (!isObject(index) || !Array.isArray(index.scopes)) throw invalid('index.json', 'no scopes list');
  const out = new Map<string, string>();
  for (const s of index.scopes) {
    if (!isObject(s) || typeof s.scope !== 'string' || typeof s.path !== 'string') throw invalid('index.json', 'a scope entry lacks scope or path');
    try {
      parseScope(s.scope);
    } catch (e) {
      throw invalid('index.json', `scope ${JSON.stringify(s.scope)} is invalid`, e);
    }
    if (s.path !== trustTargetPath(s.scope)) throw invalid('index.json', `scope ${s.scope} has path ${s.path}`);
    out.set(s.scope, s.path);
  }
  return out;
}

/** Parses key material once per (id, material): the same anchor appears in many documents. */
export class AnchorParser {
  private readonly cache = new Map<string, Promise<Omit<AnchorRecord, 'scope' | 'name' | 'trustedIdentities' | 'source'>>>();

  async parse(where: string, a: Record<string, any>, scope: string, source: string): Promise<AnchorRecord> {
    if (typeof a.id !== 'string' || typeof a.type !== 'string') throw invalid(where, 'an anchor needs id and type');
    const isCert = a.type === 'ca' || a.type === 'signingAuthority' || a.type === 'tsa';
    if (!isCert && a.type !== 'publicKey' && a.type !== 'pgp') throw invalid(where, `unknown anchor type ${JSON.stringify(a.type)}`);
    const material = isCert ? a.certificate : a.publicKey;
    if (typeof material !== 'string' || material.length === 0 || material.length > 1_000_000) throw invalid(where, `anchor ${a.id} has no key material`);
    const key = `${a.type}\n${a.id}\n${material}`;
    let parsed = this.cache.get(key);
    if (!parsed) {
      parsed = parseMaterial(a.type, a.id, material);
      this.cache.set(key, parsed);
    }
    let fields;
    try {
      fields = await parsed;
    } catch (e) {
      throw invalid(where, `anchor ${a.id}: ${isKeyshareError(e) ? e.message : (e as Error).message}`, e);
    }
    let trustedIdentities: string[] | null = null;
    if (isCert && a.trustedIdentities !== undefined) {
      try {
        trustedIdentities = normalizeIdentities(a.trustedIdentities);
      } catch (e) {
        throw invalid(where, `anchor ${a.id}: ${(e as Error).message}`, e);
      }
    }
    const name = typeof a.name === 'string' && [...a.name].length <= 128 && /^[^\p{C}]+$/u.test(a.name) ? a.name : shortId(a.id);
    return { ...fields, scope, name, trustedIdentities, source };
  }
}

async function parseMaterial(type: string, id: string, material: string): Promise<Omit<AnchorRecord, 'scope' | 'name' | 'trustedIdentities' | 'source'>> {
  if (type === 'publicKey') {
    const k = parsePublicKey(material);
    if (k.id !== id) throw new Error(`the key's ID is ${k.id}`);
    return { id, type, material: k.pem, keyId: id, notAfter: null, subject: null, serial: null, issuerName: null };
  }
  if (type === 'pgp') {
    const k = await parsePgpPublicKey(material);
    if (k.id !== id) throw new Error(`the key's ID is ${k.id}`);
    return { id, type, material: k.armored, keyId: id, notAfter: null, subject: null, serial: null, issuerName: null };
  }
  // A federated certificate is taken as the origin published it: the CA and validity checks
  // were the origin's, at the time it accepted the anchor.
  const c = parseCertificate(material);
  if (c.id !== id) throw new Error(`the certificate's ID is ${c.id}`);
  return {
    id,
    type: type as AnchorRecord['type'],
    material: c.pem,
    keyId: c.spkiId,
    serial: c.serialHex,
    issuerName: c.issuer,
    subject: c.subject,
    notAfter: c.notAfter.toISOString(),
  };
}

function reasonOf(where: string, r: unknown): RevocationReason {
  if (r === undefined) return 'unspecified';
  if (!REVOCATION_REASONS.includes(r as RevocationReason)) throw invalid(where, `unknown revocation reason ${JSON.stringify(r)}`);
  return r as RevocationReason;
}

function revokedAtOf(where: string, t: unknown): string {
  if (typeof t !== 'string' || !ISO.test(t)) throw invalid(where, 'a revocation needs revokedAt');
  return t;
}

/** One verified trust document, found at target `path`, as the records to store. */
export async function federateDocument(path: string, bytes: Buffer, source: string, anchors: AnchorParser): Promise<FederatedScope> {
  let doc: Record<string, any>;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw invalid(path, 'not JSON', e);
  }
  if (!isObject(doc) || doc.mediaType !== TRUST_MEDIA_TYPE) throw invalid(path, `not a trust document (${TRUST_MEDIA_TYPE})`);
  if (typeof doc.scope !== 'string') throw invalid(path, 'no scope');
  try {
    parseScope(doc.scope);
  } catch (e) {
    throw invalid(path, (e as Error).message, e);
  }
  if (trustTargetPath(doc.scope) !== path) throw invalid(path, `the document is for scope ${doc.scope}`);
  if (!LEVELS.includes(doc.level)) throw invalid(path, `unknown level ${JSON.stringify(doc.level)}`);
  if (!Array.isArray(doc.anchors)) throw invalid(path, 'anchors must be a list');
  const r = doc.revoked;
  if (!isObject(r) || !Array.isArray(r.certificates) || !Array.isArray(r.keys) || !Array.isArray(r.signatures)) throw invalid(path, 'revoked must list certificates, keys and signatures');

  const scope = doc.scope;
  const records: AnchorRecord[] = [];
  const seen = new Set<string>();
  for (const [i, a] of doc.anchors.entries()) {
    if (!isObject(a)) throw invalid(path, `anchors[${i}] is not an object`);
    const rec = await anchors.parse(`${path} anchors[${i}]`, a, scope, source);
    if (seen.has(rec.id)) throw invalid(path, `anchor ${rec.id} is listed twice`);
    seen.add(rec.id);
    records.push(rec);
  }
  const revocations: RevocationInput[] = [];
  for (const [i, c] of r.certificates.entries()) {
    const where = `${path} revoked.certificates[${i}]`;
    if (!isObject(c) || typeof c.issuer !== 'string' || !HEX_DIGEST.test(c.issuer) || typeof c.serial !== 'string' || !/^[0-9a-f]{1,40}$/.test(c.serial)) {
      throw invalid(where, 'needs issuer (sha256:<hex>) and serial (hex)');
    }
    revocations.push({ kind: 'certificate', issuer: c.issuer, serial: c.serial, scope, reason: reasonOf(where, c.reason), revokedAt: revokedAtOf(where, c.revokedAt) });
  }
  for (const [i, k] of r.keys.entries()) {
    const where = `${path} revoked.keys[${i}]`;
    if (!isObject(k) || typeof k.id !== 'string' || !(HEX_DIGEST.test(k.id) || /^pgp:[0-9a-f]{40}$/.test(k.id))) throw invalid(where, 'needs a key ID');
    revocations.push({ kind: 'key', id: k.id, scope, reason: reasonOf(where, k.reason), revokedAt: revokedAtOf(where, k.revokedAt) });
  }
  for (const [i, s] of r.signatures.entries()) {
    const where = `${path} revoked.signatures[${i}]`;
    if (!isObject(s) || typeof s.digest !== 'string' || !HEX_DIGEST.test(s.digest)) throw invalid(where, 'needs a digest (sha256:<hex>)');
    revocations.push({ kind: 'signature', digest: s.digest, scope, reason: reasonOf(where, s.reason), revokedAt: revokedAtOf(where, s.revokedAt) });
  }
  return { scope: { scope, inherit: false, level: doc.level as Level, source }, anchors: records, revocations };
}

export function anchorDiffers(a: AnchorRecord, b: AnchorRecord): boolean {
  return (
    a.name !== b.name ||
    a.type !== b.type ||
    a.material !== b.material ||
    (a.source ?? null) !== (b.source ?? null) ||
    JSON.stringify(a.trustedIdentities ?? null) !== JSON.stringify(b.trustedIdentities ?? null)
  );
}
