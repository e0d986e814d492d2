import { and, eq } from 'drizzle-orm';
import * as t from './schema.js';
import { KeyshareError, Codes } from '../../errors.js';
import type { AnchorRecord, AnchorType, Revocations, ScopeRecord } from '../../domain/types.js';
import { byScopeAndId, fromAnchor, revocationRow, toAnchor, toRevocations, toScope } from '../rows.js';
import type { RevocationInput } from '../types.js';
import type { TrustRecords } from '../ports/trust.js';
import { anyOf, batches, changed, scopeNotFound, inFrames, type PgCore } from './core.js';

export class PgTrust implements TrustRecords {
  constructor(private readonly c: PgCore) {}

  static {
    inFrames(PgTrust);
  }

  // ---- scopes ----
  async listScopes(): Promise<ScopeRecord[]> {
    return (await this.c.db.select().from(t.scopes).orderBy(t.scopes.scope)).map(toScope);
  }
  async getScope(scope: string): Promise<ScopeRecord | null> {
    const [row] = await this.c.db.select().from(t.scopes).where(eq(t.scopes.scope, scope));
    return row ? toScope(row) : null;
  }
  async requireScope(scope: string): Promise<ScopeRecord> {
    const s = await this.getScope(scope);
    if (!s) throw scopeNotFound(scope);
    return s;
  }
  async createScope(rec: ScopeRecord, now: Date): Promise<void> {
    await this.c.write(async () => {
      const rows = await this.c.db
        .insert(t.scopes)
        .values({ scope: rec.scope, inherit: rec.inherit, level: rec.level, source: rec.source ?? null, createdAt: now.toISOString() })
        .onConflictDoNothing()
        .returning({ scope: t.scopes.scope });
      if (!rows.length) throw new KeyshareError(Codes.SCOPE_EXISTS, `scope ${JSON.stringify(rec.scope)} already exists`);
      await this.c.markChanged({ of: 'scope', scope: rec.scope });
    });
  }
  async updateScope(rec: ScopeRecord): Promise<void> {
    await this.#updateScopeRow(rec.scope, { inherit: rec.inherit, level: rec.level });
  }
  /** A federated scope's definition from its upstreams (service/federation/federate.ts): inherit, level and source. */
  async updateFederatedScope(rec: ScopeRecord): Promise<void> {
    await this.#updateScopeRow(rec.scope, { inherit: rec.inherit, level: rec.level, source: rec.source ?? null });
  }
  async #updateScopeRow(scope: string, set: Partial<typeof t.scopes.$inferInsert>): Promise<void> {
    await this.c.write(async () => {
      const rows = await this.c.db.update(t.scopes).set(set).where(eq(t.scopes.scope, scope)).returning({ scope: t.scopes.scope });
      if (!rows.length) throw scopeNotFound(scope);
      await this.c.markChanged({ of: 'scope', scope });
    });
  }
  async deleteScope(scope: string): Promise<void> {
    await this.c.write(async () => {
      const rows = await this.c.db.delete(t.scopes).where(eq(t.scopes.scope, scope)).returning({ scope: t.scopes.scope });
      if (!rows.length) throw scopeNotFound(scope);
      await this.c.db.delete(t.anchors).where(eq(t.anchors.scope, scope));
      await this.c.markChanged({ of: 'scope', scope });
    });
  }

  // ---- anchors ----
  async listAnchors(scopes?: string[]): Promise<AnchorRecord[]> {
    const q = this.c.db.select().from(t.anchors);
    const rows = await (scopes ? q.where(anyOf(t.anchors.scope, scopes)) : q);
    return rows.map(toAnchor).sort(byScopeAndId);
  }
  /** Anchors of some types (e.g. the CA anchors a publish needs for CRLs), without reading every anchor. */
  async listAnchorsOfTypes(types: AnchorType[]): Promise<AnchorRecord[]> {
    return (await this.c.db.select().from(t.anchors).where(anyOf(t.anchors.type, types))).map(toAnchor).sort(byScopeAndId);
  }
  async getAnchor(scope: string, id: string): Promise<AnchorRecord | null> {
    const [row] = await this.c.db.select().from(t.anchors).where(and(eq(t.anchors.scope, scope), eq(t.anchors.id, id)));
    return row ? toAnchor(row) : null;
  }
  async addAnchor(rec: AnchorRecord, now: Date): Promise<void> {
    await this.c.write(async () => {
      await this.requireScope(rec.scope);
      const rows = await this.c.db.insert(t.anchors).values({ ...fromAnchor(rec), createdAt: now.toISOString() }).onConflictDoNothing().returning({ id: t.anchors.id });
      if (!rows.length) throw new KeyshareError(Codes.ANCHOR_EXISTS, `anchor ${rec.id} is already defined at scope ${JSON.stringify(rec.scope)}`);
      await this.c.markChanged({ of: 'anchor', scope: rec.scope });
    });
  }
  /** Multi-row inserts of BATCH rows; a row that conflicts is named as createScope and addAnchor name it (bench B4). */
  async addMany(add: { scopes: ScopeRecord[]; anchors: AnchorRecord[] }, now: Date): Promise<void> {
    await this.c.write(async () => {
      const createdAt = now.toISOString();
      for (const batch of batches(add.scopes)) {
        const rows = await this.c.db
          .insert(t.scopes)
          .values(batch.map((rec) => ({ scope: rec.scope, inherit: rec.inherit, level: rec.level, source: rec.source ?? null, createdAt })))
          .onConflictDoNothing()
          .returning({ scope: t.scopes.scope });
        if (rows.length < batch.length) {
          const made = new Set(rows.map((r) => r.scope));
          const taken = batch.find((rec) => !made.has(rec.scope)) ?? batch[batch.length - 1]!;
          throw new KeyshareError(Codes.SCOPE_EXISTS, `scope ${JSON.stringify(taken.scope)} already exists`);
        }
      }
      const defined = new Set(add.scopes.map((s) => s.scope));
      for (const scope of new Set(add.anchors.map((a) => a.scope))) if (!defined.has(scope)) await this.requireScope(scope);
      for (const batch of batches(add.anchors)) {
        const rows = await this.c.db
          .insert(t.anchors)
          .values(batch.map((a) => ({ ...fromAnchor(a), createdAt })))
          .onConflictDoNothing()
          .returning({ scope: t.anchors.scope, id: t.anchors.id });
        if (rows.length < batch.length) {
          const made = new Set(rows.map((r) => `${r.scope}\n${r.id}`));
          const taken = batch.find((a) => !made.has(`${a.scope}\n${a.id}`)) ?? batch[batch.length - 1]!;
          throw new KeyshareError(Codes.ANCHOR_EXISTS, `anchor ${taken.id} is already defined at scope ${JSON.stringify(taken.scope)}`);
        }
      }
      await this.c.markChangedMany([...add.scopes.map((s) => ({ of: 'scope', scope: s.scope }) as const), ...add.anchors.map((a) => ({ of: 'anchor', scope: a.scope }) as const)]);
    });
  }
  /** Replaces an anchor's definition (same scope and ID). */
  async replaceAnchor(rec: AnchorRecord, now: Date): Promise<void> {
    await this.c.write(async () => {
      const row = { ...fromAnchor(rec), createdAt: now.toISOString() };
      await this.c.db.insert(t.anchors).values(row).onConflictDoUpdate({ target: [t.anchors.scope, t.anchors.id], set: row });
      await this.c.markChanged({ of: 'anchor', scope: rec.scope });
    });
  }
  async removeAnchor(scope: string, id: string): Promise<void> {
    await this.c.write(async () => {
      await this.requireScope(scope);
      const rows = await this.c.db.delete(t.anchors).where(and(eq(t.anchors.scope, scope), eq(t.anchors.id, id))).returning({ id: t.anchors.id });
      if (!rows.length) throw new KeyshareError(Codes.ANCHOR_NOT_FOUND, `no anchor ${id} at scope ${JSON.stringify(scope)}`);
      await this.c.markChanged({ of: 'anchor', scope });
    });
  }

  // ---- revocations ----
  async listRevocations(): Promise<Revocations> {
    return toRevocations(await this.c.db.select().from(t.revocations).orderBy(t.revocations.id));
  }
  /** Adds a revocation; returns false when the same one already exists (idempotent). */
  async addRevocation(r: RevocationInput): Promise<boolean> {
    return this.c.write(async () => {
      const row = revocationRow(r);
      const existing = await this.c.db
        .select({ id: t.revocations.id })
        .from(t.revocations)
        .where(and(eq(t.revocations.kind, row.kind), eq(t.revocations.subject, row.subject), eq(t.revocations.scope, row.scope)))
        .limit(1);
      if (existing.length) return false;
      await this.c.db.insert(t.revocations).values(row);
      await this.c.markChanged({ of: 'revocation', scope: r.scope });
      return true;
    });
  }

  // ---- local blocks of upstream anchors (federation): the anchor is left out of the scope's trust here ----
  async listAnchorBlocks(scope?: string): Promise<{ scope: string; anchorId: string; createdAt: string }[]> {
    const b = t.anchorBlocks;
    const q = this.c.db.select().from(b);
    return (scope === undefined ? q : q.where(eq(b.scope, scope))).orderBy(b.scope, b.anchorId);
  }
  /** Blocks an anchor ID at a scope; false when it was already blocked there (idempotent). */
  async addAnchorBlock(scope: string, anchorId: string, now: Date): Promise<boolean> {
    return this.c.write(async () => {
      await this.requireScope(scope);
      const added = changed(await this.c.db.insert(t.anchorBlocks).values({ scope, anchorId, createdAt: now.toISOString() }).onConflictDoNothing());
      if (added) await this.c.markChanged({ of: 'anchor-block', scope });
      return added;
    });
  }
  /** Lifts a block; false when there was none. */
  async removeAnchorBlock(scope: string, anchorId: string): Promise<boolean> {
    return this.c.write(async () => {
      const removed = changed(await this.c.db.delete(t.anchorBlocks).where(and(eq(t.anchorBlocks.scope, scope), eq(t.anchorBlocks.anchorId, anchorId))));
      if (removed) await this.c.markChanged({ of: 'anchor-block', scope });
      return removed;
    });
  }

  /** For tests and diagnostics: row counts. */
}
