import { eq } from 'drizzle-orm';
import * as t from './schema.js';
import { nextCrlRow, type CrlInput } from '../rows.js';
import type { CrlRecord, CrlSummary } from '../types.js';
import type { CrlRecords } from '../ports/crls.js';
import { inFrames, type PgCore } from './core.js';

export class PgCrls implements CrlRecords {
  constructor(private readonly c: PgCore) {}

  static {
    inFrames(PgCrls);
  }

  // ---- CRLs (the newest accepted one per CA anchor) ----
  async getCrl(issuer: string): Promise<CrlRecord | null> {
    const [row] = await this.c.db.select().from(t.crls).where(eq(t.crls.issuer, issuer));
    return row ?? null;
  }
  async listCrls(): Promise<CrlRecord[]> {
    return this.c.db.select().from(t.crls).orderBy(t.crls.issuer);
  }
  /**
   * Stores a CRL that the caller checked, replacing the issuer's previous one. RFC 5280 5.2.3:
   * the CRL number only goes up, so a number not greater than the stored one is ROLLBACK,
   * checked here again under the writes lock in case two uploads race. Marks the change (which keys it makes dirty: service/domain/dirty.ts).
   */
  async putCrl(rec: CrlInput, affectsTrust: boolean): Promise<void> {
    await this.c.write(async () => {
      const existing = await this.getCrl(rec.issuer);
      const row = nextCrlRow(rec, existing);
      await this.c.db.insert(t.crls).values(row).onConflictDoUpdate({ target: t.crls.issuer, set: row });
      await this.c.markChanged({ of: 'crl', issuer: rec.issuer, first: !existing, urlChanged: !!existing && row.url !== existing.url, revokedChanged: affectsTrust });
    });
  }
  /** Records an automatic fetch of an issuer's CRL URL (success: error null). */
  async recordCrlFetch(issuer: string, at: string, error: string | null): Promise<void> {
    await this.c.db.update(t.crls).set({ lastFetchAt: at, lastError: error }).where(eq(t.crls.issuer, issuer));
  }
  /** Sets or clears the URL the service fetches an issuer's CRL from. */
  async setCrlUrl(issuer: string, url: string | null): Promise<boolean> {
    return this.c.write(async () => {
      const existing = await this.getCrl(issuer);
      if (!existing) return false;
      if (existing.url !== url) {
        await this.c.db.update(t.crls).set({ url }).where(eq(t.crls.issuer, issuer));
        await this.c.markChanged({ of: 'crl-url', issuer });
      }
      return true;
    });
  }

  // ---- operations views (web console, metrics): read-only summaries ----
  /** Every stored CRL without its DER: issuer, number, thisUpdate, nextUpdate and fetch state. */
  async crlSummaries(): Promise<CrlSummary[]> {
    const c = t.crls;
    return this.c.db
      .select({ issuer: c.issuer, crlNumber: c.crlNumber, thisUpdate: c.thisUpdate, nextUpdate: c.nextUpdate, url: c.url, lastFetchAt: c.lastFetchAt, lastError: c.lastError, updatedAt: c.updatedAt })
      .from(c)
      .orderBy(c.issuer);
  }
  /** Every upstream's sync state, without its pinned root or files. */
}
