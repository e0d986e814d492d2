/**
 * Which trust documents a change alters, and their content (issue 17.1, "trust-docs"): the
 * dirty scopes and every defined scope under one of them (CONTRACT.md "Scopes": inheritance)
 * are recomputed with the pure domain code (service/domain/trust.ts); only the documents whose
 * content changed come back, each with its next version.
 */
import { sha256Hex as sha256 } from '../crypto/encoding.js';
import { parseCrl } from '../crypto/crl.js';
import { trustTargetPath } from '../domain/scope.js';
import { affectedScopes, lowerBound } from '../domain/dirty.js';
import { ChainTails, TrustComposer } from '../domain/trust-compose.js';
import { TrustBytesWriter } from './trust-bytes.js';
import type { AnchorRecord, ScopeRecord } from '../domain/types.js';
import type { Store, TrustDocRecord } from '../store/index.js';
import { tsaSignersOf } from '../ca/tsa.js';

/** What recomputing documents reads. */
export type TrustDocRecords = Pick<
  Store,
  'listScopes' | 'getScope' | 'listAnchors' | 'listAnchorsOfTypes' | 'listRevocations' | 'listCrls' | 'listAnchorBlocks' | 'getTrustDocs' | 'getCa'
>;

/** TUF spec 4.2: expires is whole seconds; issuedAt follows the same form. */
const isoSeconds = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Documents recomputed together: their own anchors and previous records are read for the batch, and dropped after it. */
const BATCH = 2048;

export class TrustDocuments {
  constructor(private readonly store: TrustDocRecords) {}

  /** Another process may have changed anything: the scope list and CA anchors are read again on the next recompute. */
  reset(): void {
    this.scopeCache = null;
    this.caCache = null;
  }

  /**
   * The CA and TSA anchors, by scope, kept in step with the store as the scope list is: every
   * anchor write marks its scope dirty, so re-reading the dirty scopes' anchors keeps it exact
   * (bench B2: reading every anchor to find the CA anchors cost 50 ms a publish at 100k).
   */
  private caCache: Map<string, AnchorRecord[]> | null = null;

  private async caAnchors(dirtyScopes: string[]): Promise<Map<string, AnchorRecord[]>> {
    const isCa = (a: AnchorRecord) => a.type === 'ca' || a.type === 'tsa';
    if (!this.caCache) {
      this.caCache = new Map();
      for (const a of await this.store.listAnchorsOfTypes(['ca', 'tsa'])) {
        if (!this.caCache.has(a.scope)) this.caCache.set(a.scope, []);
        this.caCache.get(a.scope)!.push(a);
      }
      return this.caCache;
    }
    for (const scope of dirtyScopes) {
      const list = (await this.store.listAnchors([scope])).filter(isCa);
      if (list.length > 0) this.caCache.set(scope, list);
      else this.caCache.delete(scope);
    }
    return this.caCache;
  }

  /** Serials on each stored CRL, by CRL digest: a CRL is parsed once, not on every publish. */
  private crlSerials = new Map<string, ReadonlySet<string>>();

  /** What effectiveTrust needs to know about CA anchors and their CRLs. */
  private async crlInputs(
    dirtyScopes: string[],
  ): Promise<{ crlIssuers: Set<string>; crlUrls: Map<string, string>; caSubjects: Map<string, string>; crlRevoked: Map<string, ReadonlySet<string>> }> {
    const crls = await this.store.listCrls();
    const crlRevoked = new Map<string, ReadonlySet<string>>();
    const seen = new Map<string, ReadonlySet<string>>();
    for (const c of crls) {
      const digest = sha256(c.der);
      let serials = this.crlSerials.get(digest);
      if (!serials) {
        // Stored CRLs were checked when accepted; one that no longer parses revokes nothing here.
        try {
          serials = new Set(parseCrl(c.der).entries.map((e) => e.serialHex));
        } catch {
          serials = new Set();
        }
      }
      seen.set(digest, serials);
      crlRevoked.set(c.issuer, serials);
    }
    this.crlSerials = seen;
    const caSubjects = new Map<string, string>();
    for (const list of (await this.caAnchors(dirtyScopes)).values()) {
      for (const a of list) if (a.subject) caSubjects.set(a.id, a.subject);
    }
    const crlUrls = new Map(crls.flatMap((c) => (c.url ? [[c.issuer, c.url] as const] : [])));
    return { crlIssuers: new Set(crls.map((c) => c.issuer)), crlUrls, caSubjects, crlRevoked };
  }

  /**
   * Every defined scope, kept in step with the store without reading all of them on each publish
   * (bench B2: at 100k scopes that read cost more than the rest of a single change). Every write
   * to a scope marks it dirty (service/domain/dirty.ts), so re-reading the dirty ones keeps the cache
   * exact; load() drops it, and the next publish reads every scope again.
   */
  private scopeCache: { byName: Map<string, ScopeRecord>; sorted: string[] } | null = null;

  private async definedScopes(dirtyScopes: string[]): Promise<Map<string, ScopeRecord>> {
    if (!this.scopeCache) {
      const all = await this.store.listScopes();
      this.scopeCache = { byName: new Map(all.map((s) => [s.scope, s])), sorted: all.map((s) => s.scope).sort(compareStrings) };
      return this.scopeCache.byName;
    }
    const { byName, sorted } = this.scopeCache;
    for (const scope of dirtyScopes) {
      const rec = await this.store.getScope(scope);
      const i = lowerBound(sorted, scope);
      const present = sorted[i] === scope;
      if (rec) {
        byName.set(scope, rec);
        if (!present) sorted.splice(i, 0, scope);
      } else {
        byName.delete(scope);
        if (present) sorted.splice(i, 1);
      }
    }
    return byName;
  }

  /**
   * The scopes a change can affect are the dirty scopes and every defined scope under one of
   * them (inheritance). Recomputes their documents; returns those whose content changed.
   */
  async recompute(dirtyScopes: string[], now: Date): Promise<{ docs: TrustDocRecord[]; targetChanges: Map<string, Buffer | null> }> {
    const docs: TrustDocRecord[] = [];
    const targetChanges = new Map<string, Buffer | null>();
    if (dirtyScopes.length === 0) return { docs, targetChanges };

    const byName = await this.definedScopes(dirtyScopes);
    const affected = affectedScopes(dirtyScopes, this.scopeCache!.sorted);
    // Each scope's chain above it, one array for the scopes under one parent (bench B9).
    const tails = new ChainTails(byName);

    // Each affected scope's record (undefined: deleted) and chain above it, found once (bench B9).
    const recs = affected.map((s) => byName.get(s));
    const tailsOf = recs.map((rec) => rec && tails.of(rec));

    // The anchors of every scope a document inherits from, read once; a batch's own anchors are
    // read with the batch and dropped after it (bench B9: 10,000 children's anchors held through
    // the whole recompute outlived the young generation).
    const inheritedScopes = new Set<string>();
    let lastTail: ScopeRecord[] | undefined;
    for (const tail of tailsOf) {
      if (!tail || tail === lastTail) continue;
      for (const a of tail) inheritedScopes.add(a.scope);
      lastTail = tail;
    }
    const anchorsByScope = new Map<string, AnchorRecord[]>();
    const readAnchors = async (scopes: string[]) => {
      // They come sorted by scope: a scope's list is looked up once, not for each anchor.
      let list: AnchorRecord[] = [];
      for (const a of scopes.length === 0 ? [] : await this.store.listAnchors(scopes)) {
        if (list[0]?.scope !== a.scope) {
          list = anchorsByScope.get(a.scope) ?? [];
          if (list.length === 0) anchorsByScope.set(a.scope, list);
        }
        list.push(a);
      }
    };
    await readAnchors([...inheritedScopes]);
    const revocations = await this.store.listRevocations();
    const crlInputs = await this.crlInputs(dirtyScopes);
    // Local blocks of upstream anchors (federation), by the scope they are blocked at.
    const blocked = new Map<string, Set<string>>();
    for (const b of await this.store.listAnchorBlocks()) {
      if (!blocked.has(b.scope)) blocked.set(b.scope, new Set());
      blocked.get(b.scope)!.add(b.anchorId);
    }
    const tsaSigners = await tsaSignersOf(this.store);
    const issuedAt = isoSeconds(now);

    // Every document of this state from parts computed once (bench B9: a parent's children share what they inherit).
    const composer = new TrustComposer({ anchorsByScope, revocations, ...crlInputs, blocked, tsaSigners });
    const bytes = new TrustBytesWriter();
    for (let from = 0; from < affected.length; from += BATCH) {
      const to = Math.min(from + BATCH, affected.length);
      const batch = affected.slice(from, to);
      const own: string[] = [];
      for (let i = from; i < to; i++) if (recs[i] && !inheritedScopes.has(affected[i]!)) own.push(affected[i]!);
      await readAnchors(own);
      const previous = await this.store.getTrustDocs(batch);
      for (let i = from; i < to; i++) {
        const scope = affected[i]!;
        const prev = previous.get(scope);
        const rec = recs[i];
        if (!rec) {
          if (prev && !prev.deleted) {
            docs.push({ ...prev, version: prev.version + 1, issuedAt, deleted: true });
            targetChanges.set(trustTargetPath(scope), null);
          }
          continue;
        }
        // Encoded once, where the file goes: the digest is of these bytes, and the published file is them stamped.
        const [head, rest] = composer.partsBelow(rec, tailsOf[i]!);
        const digest = bytes.digest(head, rest);
        if (prev && !prev.deleted && prev.digest === digest) continue;
        const version = (prev?.version ?? 0) + 1;
        docs.push({ scope, version, issuedAt, digest, deleted: false });
        targetChanges.set(trustTargetPath(scope), bytes.stamped(version, issuedAt));
      }
      for (const s of own) anchorsByScope.delete(s);
    }
    return { docs, targetChanges };
  }
}

const compareStrings = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
