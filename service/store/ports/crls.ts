/**
 * The newest accepted CRL of each CA anchor, and where the service fetches it. One concern of the
 * store port (../port.ts, whose transaction rules every method follows).
 */
import type { CrlRecord, CrlSummary } from '../types.js';

export interface CrlRecords {
  getCrl(issuer: string): Promise<CrlRecord | null>;
  listCrls(): Promise<CrlRecord[]>;
  /**
   * Stores a CRL that the caller checked, replacing the issuer's previous one. RFC 5280 5.2.3:
   * a CRL number not greater than the stored one is ROLLBACK, checked again inside the
   * transaction. Marks the CRL target dirty, and every scope when `affectsTrust` or it is the
   * issuer's first CRL.
   */
  putCrl(rec: Omit<CrlRecord, 'url' | 'lastFetchAt' | 'lastError'> & { url?: string | null; lastFetchAt?: string | null }, affectsTrust: boolean): Promise<void>;
  /** Records an automatic fetch of an issuer's CRL URL (success: error null). */
  recordCrlFetch(issuer: string, at: string, error: string | null): Promise<void>;
  /** Sets or clears the URL the service fetches an issuer's CRL from; false when there is no CRL. */
  setCrlUrl(issuer: string, url: string | null): Promise<boolean>;

  /** Every stored CRL without its DER (web console, metrics). */
  crlSummaries(): Promise<CrlSummary[]>;
}
