import { eq } from 'drizzle-orm';
import * as t from '../schema.js';
import { nextCrlRow, type CrlInput } from '../rows.js';
import type { CrlRecord, CrlSummary } from '../types.js';
import type { CrlRecords } from '../ports/crls.js';
import type { SqliteCore } from './core.js';

export class SqliteCrls implements CrlRecords {
  constructor(private readonly c: SqliteCore) {}

  // ---- CRLs (the newest accepted one per CA anchor) ----
  getCrl(issuer: string): Promise<CrlRecord | null> {
    return this.c.call(() => this.#getCrlSync(issuer));
  }
  #getCrlSync(issuer: string): CrlRecord | null {
    return this.c.db.select().from(t.crls).where(eq(t.crls.issuer, issuer)).get() ?? null;
  }
  listCrls(): Promise<CrlRecord[]> {
    return this.c.call(() => this.c.prep('listCrls', () => this.c.db.select().from(t.crls).orderBy(t.crls.issuer).prepare()).all());
  }
  /**
   * Stores a CRL that the caller checked, replacing the issuer's previous one. RFC 5280 5.2.3:
   * the CRL number only goes up, so a number not greater than the stored one is ROLLBACK,
   * checked here again inside the transaction in case two uploads race. Marks the change
   * (which keys it makes dirty: service/domain/dirty.ts).
   */
  putCrl(rec: CrlInput, affectsTrust: boolean): Promise<void> {
    return this.c.write(() => {
      const existing = this.#getCrlSync(rec.issuer);
      const row = nextCrlRow(rec, existing);
      this.c.db.insert(t.crls).values(row).onConflictDoUpdate({ target: t.crls.issuer, set: row }).run();
      this.c.markChanged({ of: 'crl', issuer: rec.issuer, first: !existing, urlChanged: !!existing && row.url !== existing.url, revokedChanged: affectsTrust });
    });
  }
  /** Records an automatic fetch of an issuer's CRL URL (success: error null). */
  recordCrlFetch(issuer: string, at: string, error: string | null): Promise<void> {
    return this.c.call(() => {
      this.c.db.update(t.crls).set({ lastFetchAt: at, lastError: error }).where(eq(t.crls.issuer, issuer)).run();
    });
  }
  /** Sets or clears the URL the service fetches an issuer's CRL from. */
  setCrlUrl(issuer: string, url: string | null): Promise<boolean> {
    return this.c.write(() => {
      const existing = this.#getCrlSync(issuer);
      if (!existing) return false;
      if (existing.url !== url) {
        this.c.db.update(t.crls).set({ url }).where(eq(t.crls.issuer, issuer)).run();
        this.c.markChanged({ of: 'crl-url', issuer });
      }
      return true;
    });
  }

  // ---- operations views (web console, metrics): read-only summaries ----
  /** Every stored CRL without its DER: issuer, number, thisUpdate, nextUpdate and fetch state. */
  crlSummaries(): Promise<CrlSummary[]> {
    return this.c.call(() => {
      return this.c.db
        .select({
          issuer: t.crls.issuer,
          crlNumber: t.crls.crlNumber,
          thisUpdate: t.crls.thisUpdate,
          nextUpdate: t.crls.nextUpdate,
          url: t.crls.url,
          lastFetchAt: t.crls.lastFetchAt,
          lastError: t.crls.lastError,
          updatedAt: t.crls.updatedAt,
        })
        .from(t.crls)
        .orderBy(t.crls.issuer)
        .all();
    });
  }
}
