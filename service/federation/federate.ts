/**
 * Federation: verified trust documents of other keyshare repositories become scopes of this
 * service, republished under its own root. One implementation for both ways in: an online
 * upstream in `federate` mode (service/federation/upstream/sync.ts) and the origin of imported bundles
 * (service/federation/bundle/import.ts).
 *
 * 1. Each verified document becomes a FederatedScope (federateDocument): a trust document is
 *    the upstream's *effective* trust for its scope (inheritance already resolved), so the
 *    scope is stored with `inherit: false`, its anchors and revocations at the scope itself,
 *    and a source chain (source.ts) naming the upstream. Items whose every path passes
 *    through this service are dropped: that is this service's own trust coming back round a
 *    loop.
 * 2. What each owner (upstream or bundle origin) brings is kept with its row, as
 *    Contributions, so that the federated state can be recomputed from all owners at once.
 * 3. planFederation (pure) merges every owner's contributions and compares them with the
 *    store: two owners defining one scope are merged, never overwritten: the anchors are the
 *    union (an anchor both define keeps both sources, and the union of their trusted
 *    identities), the level is the stricter one, the scope's source names both. A scope
 *    defined locally is never taken over (a conflict). Local anchors on a federated scope stay;
 *    a local anchor with the ID of an upstream one wins. A federated scope that no owner
 *    defines any more is removed.
 * 4. applyFederation writes only the differences, inside the caller's transaction.
 * Revocations only ever restrict and are never removed by federation: each document's
 * revocations are added (idempotently) at its scope, so a local revocation always wins.
 */
import { checkCertificateKey, parsePgpPublicKey, parsePublicKey } from '../crypto/index.js';
import { parseUntrustedCertificate } from '../crypto/untrusted.js';
import { normalizeIdentities, shortId } from '../domain/anchor.js';
import { parseScope, trustTargetPath } from '../domain/scope.js';
import {
  LEVELS,
  REVOCATION_REASONS,
  TRUST_MEDIA_TYPE,
  type AnchorRecord,
  type Level,
  type RevocationReason,
  type ScopeRecord,
} from '../domain/types.js';
import { INDEX_TARGET, IndexFormatError, parseIndexHeader, parseShard, type IndexEntry } from '../domain/trust-index.js';
import { Codes, KeyshareError, isKeyshareError } from '../errors.js';
import type { RevocationInput, Store } from '../store/index.js';
import { BUNDLE_PREFIX, UPSTREAM_PREFIX, extendSource, mergeSources, ownersOf } from './source.js';
import { carryCrls, type CarriedCrl } from './carry-crls.js';
import type { CrlRefusal } from '../federation.js';

export interface FederatedScope {
  scope: ScopeRecord;
  anchors: AnchorRecord[];
  revocations: RevocationInput[];
}

/** Makes the error for a malformed document: BUNDLE_INVALID for bundles, METADATA_INVALID online. */
export type InvalidError = (message: string, cause?: unknown) => KeyshareError;

const HEX_DIGEST = /^sha256:[0-9a-f]{64}$/;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;
const isObject = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The origin's signed index: scope -> trust file path. Index v2 (issue 17) is index.json plus
 * its shards, each read through `read` (null: the file is not there); index v1 (a bundle or
 * upstream from before issue 17) lists every scope in index.json itself.
 */
export function parseIndex(read: (path: string) => Buffer | null, invalid: InvalidError): Map<string, string> {
  const entries: IndexEntry[] = [];
  try {
    const header = read(INDEX_TARGET);
    if (!header) throw new IndexFormatError(`there is no ${INDEX_TARGET}`);
    const index = parseIndexHeader(header);
    if (index.version === 1) entries.push(...index.scopes);
    else {
      for (const path of index.shards) {
        const bytes = read(path);
        if (!bytes) throw new IndexFormatError(`${INDEX_TARGET} lists ${path}, which is not there`);
        entries.push(...parseShard(bytes, path, index.bitLength));
      }
    }
  } catch (e) {
    if (e instanceof IndexFormatError) throw invalid(e.message, e);
    throw e;
  }
  return new Map(entries.map((e) => [e.scope, e.path]));
}

type ParsedMaterial = Omit<AnchorRecord, 'scope' | 'name' | 'trustedIdentities' | 'source'>;

/** Parses key material once per (id, material): the same anchor appears in many documents. */
export class AnchorParser {
  private readonly cache = new Map<string, Promise<ParsedMaterial>>();

  constructor(private readonly invalid: InvalidError) {}

  async parse(where: string, a: Record<string, any>, scope: string, source: string | null): Promise<AnchorRecord> {
    const invalid = (m: string, cause?: unknown) => this.invalid(`${where}: ${m}`, cause);
    if (typeof a.id !== 'string' || typeof a.type !== 'string') throw invalid('an anchor needs id and type');
    const isCert = a.type === 'ca' || a.type === 'signingAuthority' || a.type === 'tsa';
    if (!isCert && a.type !== 'publicKey' && a.type !== 'pgp') throw invalid(`unknown anchor type ${JSON.stringify(a.type)}`);
    const material = isCert ? a.certificate : a.publicKey;
    if (typeof material !== 'string' || material.length === 0 || material.length > 1_000_000) throw invalid(`anchor ${a.id} has no key material`);
    const key = `${a.type}\n${a.id}\n${material}`;
    let parsed = this.cache.get(key);
    if (!parsed) {
      parsed = parseMaterial(a.type, a.id, material);
      // Settle the rejection here too: a failure is reported where it is awaited.
      parsed.catch(() => {});
      this.cache.set(key, parsed);
    }
    let fields;
    try {
      fields = await parsed;
    } catch (e) {
      const message = `anchor ${a.id}: ${isKeyshareError(e) ? e.message : (e as Error).message}`;
      // The allow-list's refusal keeps its code, whichever way the key came (issue 16, key-policy.ts).
      if (isKeyshareError(e) && (e.code === Codes.UNSUPPORTED_KEY || e.code === Codes.PARSE_TIMEOUT)) throw new KeyshareError(Codes.UNSUPPORTED_KEY, `${where}: ${message}`, { cause: e });
      throw invalid(message, e);
    }
    let trustedIdentities: string[] | null = null;
    if (isCert && a.trustedIdentities !== undefined) {
      try {
        trustedIdentities = normalizeIdentities(a.trustedIdentities);
      } catch (e) {
        throw invalid(`anchor ${a.id}: ${(e as Error).message}`, e);
      }
    }
    const name = typeof a.name === 'string' && [...a.name].length <= 128 && /^[^\p{C}]+$/u.test(a.name) ? a.name : shortId(a.id);
    return { ...fields, scope, name, trustedIdentities, source };
  }
}

async function parseMaterial(type: string, id: string, material: string): Promise<ParsedMaterial> {
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
  // Parsed in the worker pool, within its time limit (issue 16, finding 1).
  const c = await parseUntrustedCertificate(material);
  if (c.id !== id) throw new Error(`the certificate's ID is ${c.id}`);
  // Issue 16: but its key is held to this service's allow-list, before any signature is checked with it.
  checkCertificateKey(c.spkiDer);
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

function reasonOf(where: string, r: unknown, invalid: InvalidError): RevocationReason {
  if (r === undefined) return 'unspecified';
  if (!REVOCATION_REASONS.includes(r as RevocationReason)) throw invalid(`${where}: unknown revocation reason ${JSON.stringify(r)}`);
  return r as RevocationReason;
}

function revokedAtOf(where: string, t: unknown, invalid: InvalidError): string {
  if (typeof t !== 'string' || !ISO.test(t)) throw invalid(`${where}: a revocation needs revokedAt`);
  return t;
}

export interface FederateOptions {
  /** This service's hop for the upstream (source.ts: `upstream:<name>@<origin>` or `bundle:<origin>`). */
  hop: string;
  /** This service's own identity (its origin): trust that already passed through it is dropped. */
  self: string | null;
  parser: AnchorParser;
  invalid: InvalidError;
}

/**
 * One verified trust document, found at target `path`, as the records to store; null when
 * the whole scope is this service's own trust coming back (its source passes through `self`).
 */
export async function federateDocument(path: string, bytes: Buffer, o: FederateOptions): Promise<FederatedScope | null> {
  const invalid = (m: string, cause?: unknown) => o.invalid(`${path}: ${m}`, cause);
  let doc: Record<string, any>;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw invalid('not JSON', e);
  }
  if (!isObject(doc) || doc.mediaType !== TRUST_MEDIA_TYPE) throw invalid(`not a trust document (${TRUST_MEDIA_TYPE})`);
  if (typeof doc.scope !== 'string') throw invalid('no scope');
  try {
    parseScope(doc.scope);
  } catch (e) {
    throw invalid((e as Error).message, e);
  }
  if (trustTargetPath(doc.scope) !== path) throw invalid(`the document is for scope ${doc.scope}`);
  if (!LEVELS.includes(doc.level)) throw invalid(`unknown level ${JSON.stringify(doc.level)}`);
  if (!Array.isArray(doc.anchors)) throw invalid('anchors must be a list');
  const r = doc.revoked;
  if (!isObject(r) || !Array.isArray(r.certificates) || !Array.isArray(r.keys) || !Array.isArray(r.signatures)) throw invalid('revoked must list certificates, keys and signatures');
  if (doc.source !== undefined && typeof doc.source !== 'string') throw invalid('source must be a string');

  const scope = doc.scope;
  const scopeSource = extendSource(doc.source, o.hop, o.self);
  if (scopeSource === null) return null;
  const records: AnchorRecord[] = [];
  const seen = new Set<string>();
  for (const [i, a] of doc.anchors.entries()) {
    if (!isObject(a)) throw invalid(`anchors[${i}] is not an object`);
    if (a.source !== undefined && typeof a.source !== 'string') throw invalid(`anchors[${i}].source must be a string`);
    const source = extendSource(a.source, o.hop, o.self);
    const rec = await o.parser.parse(`${path} anchors[${i}]`, a, scope, source);
    if (seen.has(rec.id)) throw invalid(`anchor ${rec.id} is listed twice`);
    seen.add(rec.id);
    // This service's own anchor, come back round a loop: not imported again.
    if (source !== null) records.push(rec);
  }
  const revocations: RevocationInput[] = [];
  for (const [i, c] of r.certificates.entries()) {
    const where = `${path} revoked.certificates[${i}]`;
    if (!isObject(c) || typeof c.issuer !== 'string' || !HEX_DIGEST.test(c.issuer) || typeof c.serial !== 'string' || !/^[0-9a-f]{1,40}$/.test(c.serial)) {
      throw o.invalid(`${where}: needs issuer (sha256:<hex>) and serial (hex)`);
    }
    revocations.push({ kind: 'certificate', issuer: c.issuer, serial: c.serial, scope, reason: reasonOf(where, c.reason, o.invalid), revokedAt: revokedAtOf(where, c.revokedAt, o.invalid) });
  }
  for (const [i, k] of r.keys.entries()) {
    const where = `${path} revoked.keys[${i}]`;
    if (!isObject(k) || typeof k.id !== 'string' || !(HEX_DIGEST.test(k.id) || /^pgp:[0-9a-f]{40}$/.test(k.id))) throw o.invalid(`${where}: needs a key ID`);
    revocations.push({ kind: 'key', id: k.id, scope, reason: reasonOf(where, k.reason, o.invalid), revokedAt: revokedAtOf(where, k.revokedAt, o.invalid) });
  }
  for (const [i, s] of r.signatures.entries()) {
    const where = `${path} revoked.signatures[${i}]`;
    if (!isObject(s) || typeof s.digest !== 'string' || !HEX_DIGEST.test(s.digest)) throw o.invalid(`${where}: needs a digest (sha256:<hex>)`);
    revocations.push({ kind: 'signature', digest: s.digest, scope, reason: reasonOf(where, s.reason, o.invalid), revokedAt: revokedAtOf(where, s.revokedAt, o.invalid) });
  }
  return { scope: { scope, inherit: false, level: doc.level as Level, source: scopeSource }, anchors: records, revocations };
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

// ---- contributions: what one owner brings, kept with its upstream row ----

type StoredAnchor = Omit<AnchorRecord, 'scope' | 'material'>;

/** JSON kept in an upstream row's state: every scope one owner defines, key material once per anchor. */
export interface Contributions {
  scopes: Record<string, { level: Level; source: string; anchors: StoredAnchor[]; revoked: Omit<RevocationInput, 'scope'>[] }>;
  materials: Record<string, string>;
}

export function toContributions(scopes: Iterable<FederatedScope>): Contributions {
  const out: Contributions = { scopes: {}, materials: {} };
  for (const f of [...scopes].sort((a, b) => cmp(a.scope.scope, b.scope.scope))) {
    out.scopes[f.scope.scope] = {
      level: f.scope.level ?? 'strict',
      source: f.scope.source ?? '',
      anchors: f.anchors.map(({ scope: _s, material, ...rest }) => {
        out.materials[rest.id] = material;
        return rest;
      }),
      revoked: f.revocations.map(({ scope: _s, ...rest }) => rest),
    };
  }
  return out;
}

export function fromContributions(c: Contributions | null | undefined): Map<string, FederatedScope> {
  const out = new Map<string, FederatedScope>();
  if (!c || !isObject(c.scopes) || !isObject(c.materials)) return out;
  for (const [scope, s] of Object.entries(c.scopes)) {
    const anchors: AnchorRecord[] = [];
    for (const a of s.anchors ?? []) {
      const material = c.materials[a.id];
      if (typeof material === 'string') anchors.push({ ...a, scope, material });
    }
    const revocations = (Array.isArray(s.revoked) ? s.revoked : []).map((r) => ({ ...r, scope }));
    out.set(scope, { scope: { scope, inherit: false, level: s.level, source: s.source || null }, anchors, revocations });
  }
  return out;
}

/**
 * What an owner brought before its contributions were kept (bundles imported by an earlier
 * version): its scopes and anchors as the store holds them.
 */
export async function contributionsFromStore(store: Store, owner: string): Promise<Map<string, FederatedScope>> {
  const out = new Map<string, FederatedScope>();
  const scopes = (await store.listScopes()).filter((s) => s.source != null && ownersOf(s.source).includes(owner));
  const anchors = await store.listAnchors(scopes.map((s) => s.scope));
  for (const s of scopes) {
    out.set(s.scope, {
      scope: { ...s, inherit: false },
      anchors: anchors.filter((a) => a.scope === s.scope && a.source != null && ownersOf(a.source).includes(owner)),
      revocations: [],
    });
  }
  return out;
}

// ---- the plan: every owner's contributions against the store ----

/** The owner an upstream row stands for: `bundle:<origin>` for a bundle origin, else `upstream:<name>`. */
export function ownerOfRow(row: { name: string; url: string }): string {
  return row.url.startsWith(BUNDLE_PREFIX) ? row.url : `${UPSTREAM_PREFIX}${row.name}`;
}

/** Whether a row's trust is federated: every bundle origin, and online upstreams in `federate` mode. */
export function federates(row: { url: string; mode: string }): boolean {
  return row.url.startsWith(BUNDLE_PREFIX) || row.mode === 'federate';
}

/**
 * Every owner's contributions as kept in the store, with `override` (the owner being synced or
 * imported, with what it brings now) in place of what it brought before, and `without` left out.
 */
export async function federationOwners(store: Store, override?: OwnerContributions, without?: string): Promise<OwnerContributions[]> {
  const out: OwnerContributions[] = [];
  for (const row of await store.listUpstreams()) {
    if (!federates(row)) continue;
    const owner = ownerOfRow(row);
    if (owner === without || owner === override?.owner) continue;
    // Issue 24 row 3: an origin withdrawn past its expiry's grace contributes nothing until it is fresh again.
    if ((row.state as { withdrawnAt?: string } | null)?.withdrawnAt) continue;
    const kept = (row.state as { federated?: Contributions } | null)?.federated;
    out.push({ owner, scopes: kept ? fromContributions(kept) : row.url.startsWith(BUNDLE_PREFIX) ? await contributionsFromStore(store, owner) : new Map() });
  }
  if (override) out.push(override);
  return out;
}

export interface OwnerContributions {
  /** `upstream:<name>` or `bundle:<origin>`. */
  owner: string;
  scopes: ReadonlyMap<string, FederatedScope>;
}

export interface FederationPlan {
  createScopes: ScopeRecord[];
  updateScopes: ScopeRecord[];
  deleteScopes: string[];
  addAnchors: AnchorRecord[];
  replaceAnchors: AnchorRecord[];
  removeAnchors: { scope: string; id: string }[];
  /** Scopes defined locally that an upstream defines too: left as they are. */
  conflicts: { scope: string; owners: string[] }[];
  /** Every scope a change touches. */
  touched: Set<string>;
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const strictness = (l: Level | null | undefined) => (l ? LEVELS.indexOf(l) : LEVELS.length);

/** Trusted identities of an anchor two owners define: the union (null and `*` mean any). */
function unionIdentities(a: string[] | null, b: string[] | null): string[] | null {
  if (a === null || b === null || a.includes('*') || b.includes('*')) return null;
  return [...new Set([...a, ...b])].sort();
}

/** Pure: what the store must become so that the federated scopes are the merge of every owner's. */
export function planFederation(owners: OwnerContributions[], scopes: ScopeRecord[], anchors: AnchorRecord[]): FederationPlan {
  const desired = new Map<string, { level: Level; sources: string[]; owners: string[]; anchors: Map<string, AnchorRecord> }>();
  for (const o of [...owners].sort((a, b) => cmp(a.owner, b.owner))) {
    for (const [scope, f] of [...o.scopes].sort(([a], [b]) => cmp(a, b))) {
      let d = desired.get(scope);
      if (!d) desired.set(scope, (d = { level: f.scope.level ?? 'strict', sources: [], owners: [], anchors: new Map() }));
      // The stricter level of the two (LEVELS is ordered strictest first).
      if (strictness(f.scope.level) < strictness(d.level)) d.level = f.scope.level!;
      d.sources.push(f.scope.source ?? '');
      d.owners.push(o.owner);
      for (const a of f.anchors) {
        const seen = d.anchors.get(a.id);
        if (!seen) d.anchors.set(a.id, { ...a, scope });
        else d.anchors.set(a.id, { ...seen, source: mergeSources([seen.source, a.source]), trustedIdentities: unionIdentities(seen.trustedIdentities, a.trustedIdentities) });
      }
    }
  }
  const plan: FederationPlan = { createScopes: [], updateScopes: [], deleteScopes: [], addAnchors: [], replaceAnchors: [], removeAnchors: [], conflicts: [], touched: new Set() };
  const current = new Map(scopes.map((s) => [s.scope, s]));
  const anchorsAt = new Map<string, Map<string, AnchorRecord>>();
  for (const a of anchors) {
    if (!anchorsAt.has(a.scope)) anchorsAt.set(a.scope, new Map());
    anchorsAt.get(a.scope)!.set(a.id, a);
  }
  for (const [scope, d] of [...desired].sort(([a], [b]) => cmp(a, b))) {
    const cur = current.get(scope);
    if (cur && cur.source == null) {
      plan.conflicts.push({ scope, owners: d.owners });
      continue;
    }
    const rec: ScopeRecord = { scope, inherit: false, level: d.level, source: mergeSources(d.sources) };
    if (!cur) {
      plan.createScopes.push(rec);
      plan.touched.add(scope);
    } else if (cur.inherit !== false || cur.level !== rec.level || (cur.source ?? null) !== rec.source) {
      plan.updateScopes.push(rec);
      plan.touched.add(scope);
    }
    const have = anchorsAt.get(scope) ?? new Map<string, AnchorRecord>();
    for (const a of [...d.anchors.values()].sort((x, y) => cmp(x.id, y.id))) {
      const c = have.get(a.id);
      if (!c) plan.addAnchors.push(a);
      // A local anchor with the same ID wins: it stays as the local admin defined it.
      else if (c.source == null) continue;
      else if (anchorDiffers(c, a)) plan.replaceAnchors.push(a);
      else continue;
      plan.touched.add(scope);
    }
    for (const c of have.values()) {
      if (c.source != null && !d.anchors.has(c.id)) {
        plan.removeAnchors.push({ scope, id: c.id });
        plan.touched.add(scope);
      }
    }
  }
  for (const s of scopes) {
    if (s.source != null && !desired.has(s.scope)) {
      plan.deleteScopes.push(s.scope);
      plan.touched.add(s.scope);
    }
  }
  return plan;
}

export function planIsEmpty(p: FederationPlan): boolean {
  return p.touched.size === 0;
}

/** The plan for the store as it is now (federationOwners' arguments); call inside the store transaction that applies it. */
export async function planFromStore(store: Store, override?: OwnerContributions, without?: string): Promise<FederationPlan> {
  return planFederation(await federationOwners(store, override, without), await store.listScopes(), await store.listAnchors());
}

/** Writes a plan (only differences); call inside a store transaction. */
export async function applyFederation(store: Store, plan: FederationPlan, now: Date): Promise<void> {
  for (const s of plan.createScopes) await store.createScope(s, now);
  for (const s of plan.updateScopes) await store.updateFederatedScope(s);
  for (const a of plan.addAnchors) await store.addAnchor(a, now);
  for (const a of plan.replaceAnchors) await store.replaceAnchor(a, now);
  for (const a of plan.removeAnchors) await store.removeAnchor(a.scope, a.id);
  // A federated scope no owner defines any more goes, with any local anchors added on top of it.
  for (const s of plan.deleteScopes) await store.deleteScope(s);
}

/** Adds the revocations of federated documents at their scopes; returns how many were new. */
export async function addRevocations(
  store: Store,
  scopes: Iterable<FederatedScope>,
  skip: ReadonlySet<string> = new Set(),
): Promise<{ added: number; scopes: Set<string> }> {
  const out = { added: 0, scopes: new Set<string>() };
  for (const f of scopes) {
    if (skip.has(f.scope.scope)) continue;
    for (const r of f.revocations) {
      if (await store.addRevocation(r)) {
        out.added++;
        out.scopes.add(f.scope.scope);
      }
    }
  }
  return out;
}

/**
 * Step 1 for one origin (an upstream's sync, a bundle's import): reads its verified trust
 * documents one by one into the scopes it brings. A document that is this service's own trust
 * come back round a loop brings none (null).
 */
export function documentReader(o: Omit<FederateOptions, 'parser'>): (path: string, bytes: Buffer) => Promise<FederatedScope | null> {
  const options: FederateOptions = { ...o, parser: new AnchorParser(o.invalid) };
  return (path, bytes) => federateDocument(path, bytes, options);
}

/** What one origin brings, read and verified: the input of federateOrigin. */
export interface OriginTrust {
  /** `upstream:<name>` or `bundle:<origin>` (source.ts). */
  owner: string;
  /** Every scope the origin brings now (a bundle's scopes it does not carry keep what they brought before). */
  scopes: ReadonlyMap<string, FederatedScope>;
  /** The documents read this time, whose revocations are added (default: every scope). */
  read?: Iterable<FederatedScope>;
  /** The CRLs its documents list (carry-crls.ts federatedCrls). */
  crls: ReadonlyMap<string, CarriedCrl>;
}

export interface OriginFederated {
  plan: FederationPlan;
  /** The origin's scopes that are defined locally here: left out, with their revocations and CRLs. */
  conflicts: string[];
  created: Set<string>;
  revoked: { added: number; scopes: Set<string> };
  crls: { updated: string[]; errors: CrlRefusal[] };
}

/**
 * Steps 3 and 4 for one origin, inside the caller's transaction: merges what it brings with
 * every other owner's, writes the differences, adds its revocations and stores its CRLs (a
 * refused CRL is reported; the rest lands). The one federation step of an upstream's sync
 * (upstream/sync.ts) and a bundle's import (bundle/import.ts).
 */
export async function federateOrigin(store: Store, t: OriginTrust, now: Date): Promise<OriginFederated> {
  const plan = await planFromStore(store, { owner: t.owner, scopes: t.scopes });
  await applyFederation(store, plan, now);
  const conflicts = plan.conflicts.filter((c) => c.owners.includes(t.owner)).map((c) => c.scope);
  const skip = new Set(conflicts);
  const revoked = await addRevocations(store, t.read ?? t.scopes.values(), skip);
  const crls = await carryCrls(store, t.crls, now, skip);
  return { plan, conflicts, created: new Set(plan.createScopes.map((s) => s.scope)), revoked, crls };
}
