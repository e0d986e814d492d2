import { and, eq, inArray, sql } from 'drizzle-orm';
import * as t from '../schema.js';
import { KeyshareError, Codes } from '../../errors.js';
import type { AnchorRecord, AnchorType, Revocations, ScopeRecord } from '../../domain/types.js';
import { byScopeAndId, fromAnchor, revocationRow, toAnchor, toRevocations, toScope } from '../rows.js';
import type { RevocationInput } from '../types.js';
import type { TrustRecords } from '../ports/trust.js';
import { ph, type SqliteCore } from './core.js';

export class SqliteTrust implements TrustRecords {
  constructor(private readonly c: SqliteCore) {}

  // ---- scopes ----
  /** A plain statement, rows as arrays: drizzle's mapping of 100k rows costs more than the read (the audit digest of an apply, bench B4). */
  listScopes(): Promise<ScopeRecord[]> {
    return this.c.call(() =>
      (this.c.prep('rawAllScopes', () => this.c.sqlite.prepare('SELECT scope, inherit, level, source FROM scopes ORDER BY scope').raw()).all() as [string, number, string | null, string | null][]).map(
        ([scope, inherit, level, source]) => toScope({ scope, inherit: inherit !== 0, level, source }),
      ),
    );
  }
  getScope(scope: string): Promise<ScopeRecord | null> {
    return this.c.call(() => this.c.getScopeSync(scope));
  }
  requireScope(scope: string): Promise<ScopeRecord> {
    return this.c.call(() => this.c.requireScopeSync(scope));
  }
  createScope(rec: ScopeRecord, now: Date): Promise<void> {
    return this.c.write(() => {
      if (this.c.getScopeSync(rec.scope)) throw new KeyshareError(Codes.SCOPE_EXISTS, `scope ${JSON.stringify(rec.scope)} already exists`);
      this.c.prep('insertScope', () =>
        this.c.db.insert(t.scopes).values({ scope: ph('scope'), inherit: ph('inherit'), level: ph('level'), source: ph('source'), createdAt: ph('createdAt') }).prepare(),
      ).run({ scope: rec.scope, inherit: rec.inherit, level: rec.level, source: rec.source ?? null, createdAt: now.toISOString() });
      this.c.markChanged({ of: 'scope', scope: rec.scope });
    });
  }
  updateScope(rec: ScopeRecord): Promise<void> {
    return this.c.write(() => {
      this.c.requireScopeSync(rec.scope);
      this.c.db.update(t.scopes).set({ inherit: rec.inherit, level: rec.level }).where(eq(t.scopes.scope, rec.scope)).run();
      this.c.markChanged({ of: 'scope', scope: rec.scope });
    });
  }
  /** A federated scope's definition from its upstreams (service/federation/federate.ts): inherit, level and source. */
  updateFederatedScope(rec: ScopeRecord): Promise<void> {
    return this.c.write(() => {
      this.c.requireScopeSync(rec.scope);
      this.c.db.update(t.scopes).set({ inherit: rec.inherit, level: rec.level, source: rec.source ?? null }).where(eq(t.scopes.scope, rec.scope)).run();
      this.c.markChanged({ of: 'scope', scope: rec.scope });
    });
  }
  deleteScope(scope: string): Promise<void> {
    return this.c.write(() => {
      this.c.requireScopeSync(scope);
      this.c.db.delete(t.anchors).where(eq(t.anchors.scope, scope)).run();
      this.c.db.delete(t.scopes).where(eq(t.scopes.scope, scope)).run();
      this.c.markChanged({ of: 'scope', scope });
    });
  }

  // ---- anchors ----
  listAnchors(scopes?: string[]): Promise<AnchorRecord[]> {
    return this.c.call(() => {
      let rows: (typeof t.anchors.$inferSelect)[];
      if (!scopes) return this.#rawAnchors('rawAllAnchors', 'ORDER BY scope, id');
      if (scopes.length === 1) rows = this.c.prep('anchorsOf', () => this.c.db.select().from(t.anchors).where(eq(t.anchors.scope, ph('scope'))).prepare()).all({ scope: scopes[0]! });
      // A publish can ask for every scope: one plain statement over a JSON list, whose rows need no drizzle mapping (bench B9).
      else return this.#rawAnchors('rawAnchorsOfMany', 'WHERE scope IN (SELECT value FROM json_each(?))', JSON.stringify(scopes));
      return rows.map(toAnchor).sort(byScopeAndId);
    });
  }
  /**
   * Anchors by a plain statement with rows as arrays: the audit digest of an apply reads 100k, and
   * a parent change every child's; drizzle's row mapping cost more than the read (bench B4, B9).
   * Every anchor is read in primary key order, from its index: byScopeAndId's order but for a
   * scope that begins another, so that the sort below has little to do.
   */
  #rawAnchors(name: string, clause: string, ...params: string[]): AnchorRecord[] {
    const rows = this.c
      .prep(name, () =>
        this.c.sqlite
          .prepare(`SELECT scope, id, name, type, material, trusted_identities, key_id, serial, issuer_name, subject, not_after, source FROM anchors ${clause}`)
          .raw(),
      )
      .all(...params) as (string | null)[][];
    return rows
      .map(([scope, id, name, type, material, identities, keyId, serial, issuerName, subject, notAfter, source]) =>
        // trusted_identities is JSON text (schema.ts mode 'json'), decoded as drizzle would.
        toAnchor({ scope: scope!, id: id!, name: name!, type: type!, material: material!, trustedIdentities: identities === null ? null : (JSON.parse(identities!) as string[] | null), keyId, serial, issuerName, subject, notAfter, source }),
      )
      .sort(byScopeAndId);
  }
  /** Anchors of some types (e.g. the CA anchors a publish needs for CRLs), without reading every anchor. */
  listAnchorsOfTypes(types: AnchorType[]): Promise<AnchorRecord[]> {
    // One statement a list of types, built once: every publish asks for the CA anchors (issue 25, B10).
    return this.c.call(() =>
      this.c
        .prep(`anchorsOfTypes:${types.join(',')}`, () => this.c.db.select().from(t.anchors).where(inArray(t.anchors.type, types)).prepare())
        .all()
        .map(toAnchor)
        .sort(byScopeAndId),
    );
  }
  getAnchor(scope: string, id: string): Promise<AnchorRecord | null> {
    return this.c.call(() => this.#getAnchorSync(scope, id));
  }
  #getAnchorSync(scope: string, id: string): AnchorRecord | null {
    const row = this.c.prep('getAnchor', () => this.c.db.select().from(t.anchors).where(and(eq(t.anchors.scope, ph('scope')), eq(t.anchors.id, ph('id')))).prepare()).get({ scope, id });
    return row ? toAnchor(row) : null;
  }
  #insertAnchor(rec: AnchorRecord, now: Date): void {
    // trusted_identities is JSON text: encoded here (a placeholder inside sql`` skips drizzle's encoder, which would store null as "null").
    this.c.prep('insertAnchor', () =>
      this.c.db
        .insert(t.anchors)
        .values({
          scope: ph('scope'),
          id: ph('id'),
          name: ph('name'),
          type: ph('type'),
          material: ph('material'),
          trustedIdentities: sql`${ph('trustedIdentities')}`,
          keyId: ph('keyId'),
          serial: ph('serial'),
          issuerName: ph('issuerName'),
          subject: ph('subject'),
          notAfter: ph('notAfter'),
          source: ph('source'),
          createdAt: ph('createdAt'),
        })
        .prepare(),
    ).run({ ...fromAnchor(rec), trustedIdentities: rec.trustedIdentities == null ? null : JSON.stringify(rec.trustedIdentities), createdAt: now.toISOString() });
  }
  addAnchor(rec: AnchorRecord, now: Date): Promise<void> {
    return this.c.write(() => {
      this.c.requireScopeSync(rec.scope);
      if (this.#getAnchorSync(rec.scope, rec.id)) {
        throw new KeyshareError(Codes.ANCHOR_EXISTS, `anchor ${rec.id} is already defined at scope ${JSON.stringify(rec.scope)}`);
      }
      this.#insertAnchor(rec, now);
      this.c.markChanged({ of: 'anchor', scope: rec.scope });
    });
  }
  /**
   * Plain better-sqlite3 statements, built once: at 100k rows drizzle's mapping of each run's
   * parameters costs more than SQLite's insert (bench B4). `ON CONFLICT DO NOTHING` and the
   * change count stand for the existence checks of createScope and addAnchor.
   */
  addMany(add: { scopes: ScopeRecord[]; anchors: AnchorRecord[] }, now: Date): Promise<void> {
    return this.c.write(() => {
      const createdAt = now.toISOString();
      const insertScope = this.c.prep('rawInsertScope', () =>
        this.c.sqlite.prepare('INSERT INTO scopes (scope, inherit, level, source, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING'),
      );
      const insertAnchor = this.c.prep('rawInsertAnchor', () =>
        this.c.sqlite.prepare(
          'INSERT INTO anchors (scope, id, name, type, material, trusted_identities, key_id, serial, issuer_name, subject, not_after, source, created_at) ' +
            'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
        ),
      );
      const defined = new Set<string>();
      for (const rec of add.scopes) {
        if (insertScope.run(rec.scope, rec.inherit ? 1 : 0, rec.level, rec.source ?? null, createdAt).changes === 0) {
          throw new KeyshareError(Codes.SCOPE_EXISTS, `scope ${JSON.stringify(rec.scope)} already exists`);
        }
        defined.add(rec.scope);
      }
      for (const a of add.anchors) {
        if (!defined.has(a.scope)) {
          this.c.requireScopeSync(a.scope);
          defined.add(a.scope);
        }
        const r = fromAnchor(a);
        const identities = r.trustedIdentities == null ? null : JSON.stringify(r.trustedIdentities);
        if (insertAnchor.run(r.scope, r.id, r.name, r.type, r.material, identities, r.keyId, r.serial, r.issuerName, r.subject, r.notAfter, r.source, createdAt).changes === 0) {
          throw new KeyshareError(Codes.ANCHOR_EXISTS, `anchor ${a.id} is already defined at scope ${JSON.stringify(a.scope)}`);
        }
      }
      this.c.markChangedMany([...add.scopes.map((s) => ({ of: 'scope', scope: s.scope }) as const), ...add.anchors.map((a) => ({ of: 'anchor', scope: a.scope }) as const)]);
    });
  }
  /** Replaces an anchor's definition (same scope and ID). */
  replaceAnchor(rec: AnchorRecord, now: Date): Promise<void> {
    return this.c.write(() => {
      this.c.db.delete(t.anchors).where(and(eq(t.anchors.scope, rec.scope), eq(t.anchors.id, rec.id))).run();
      this.c.db.insert(t.anchors).values({ ...fromAnchor(rec), createdAt: now.toISOString() }).run();
      this.c.markChanged({ of: 'anchor', scope: rec.scope });
    });
  }
  removeAnchor(scope: string, id: string): Promise<void> {
    return this.c.write(() => {
      this.c.requireScopeSync(scope);
      const res = this.c.db.delete(t.anchors).where(and(eq(t.anchors.scope, scope), eq(t.anchors.id, id))).run();
      if (res.changes === 0) throw new KeyshareError(Codes.ANCHOR_NOT_FOUND, `no anchor ${id} at scope ${JSON.stringify(scope)}`);
      this.c.markChanged({ of: 'anchor', scope });
    });
  }

  // ---- revocations ----
  listRevocations(): Promise<Revocations> {
    // Built once: the audit digest of every scope write reads it twice, and a publish once (issue 25, B10).
    return this.c.call(() => toRevocations(this.c.prep('listRevocations', () => this.c.db.select().from(t.revocations).orderBy(t.revocations.id).prepare()).all()));
  }
  /** Adds a revocation; returns false when the same one already exists (idempotent). */
  addRevocation(r: RevocationInput): Promise<boolean> {
    return this.c.write(() => {
      const row = revocationRow(r);
      const existing = this.c.db
        .select()
        .from(t.revocations)
        .where(and(eq(t.revocations.kind, row.kind), eq(t.revocations.subject, row.subject), eq(t.revocations.scope, row.scope)))
        .get();
      if (existing) return false;
      this.c.db.insert(t.revocations).values(row).run();
      this.c.markChanged({ of: 'revocation', scope: r.scope });
      return true;
    });
  }

  // ---- local blocks of upstream anchors (federation): the anchor is left out of the scope's trust here ----
  listAnchorBlocks(scope?: string): Promise<{ scope: string; anchorId: string; createdAt: string }[]> {
    return this.c.call(() => {
      // Built once: every publish reads them all (issue 25, B10).
      if (scope === undefined) return this.c.prep('listAnchorBlocks', () => this.c.db.select().from(t.anchorBlocks).orderBy(t.anchorBlocks.scope, t.anchorBlocks.anchorId).prepare()).all();
      return this.c.db.select().from(t.anchorBlocks).where(eq(t.anchorBlocks.scope, scope)).orderBy(t.anchorBlocks.scope, t.anchorBlocks.anchorId).all();
    });
  }
  /** Blocks an anchor ID at a scope; false when it was already blocked there (idempotent). */
  addAnchorBlock(scope: string, anchorId: string, now: Date): Promise<boolean> {
    return this.c.write(() => {
      this.c.requireScopeSync(scope);
      const res = this.c.db.insert(t.anchorBlocks).values({ scope, anchorId, createdAt: now.toISOString() }).onConflictDoNothing().run();
      if (res.changes > 0) this.c.markChanged({ of: 'anchor-block', scope });
      return res.changes > 0;
    });
  }
  /** Lifts a block; false when there was none. */
  removeAnchorBlock(scope: string, anchorId: string): Promise<boolean> {
    return this.c.write(() => {
      const res = this.c.db.delete(t.anchorBlocks).where(and(eq(t.anchorBlocks.scope, scope), eq(t.anchorBlocks.anchorId, anchorId))).run();
      if (res.changes > 0) this.c.markChanged({ of: 'anchor-block', scope });
      return res.changes > 0;
    });
  }
}
