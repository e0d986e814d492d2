/**
 * The change counter and the dirty marks the publisher consumes, and small settings (meta). One
 * concern of the store port (../port.ts, whose transaction rules every method follows).
 */

export interface ChangeRecords {
  getMeta(key: string): Promise<string | null>;
  setMeta(key: string, value: string): Promise<void>;
  /**
   * Sets `key` to `value` only if it holds `expected` now (null: absent), atomically even across
   * processes on one database; false when it did not (issue 23: a witness's state).
   */
  swapMeta(key: string, expected: string | null, value: string): Promise<boolean>;
  listDirty(): Promise<{ scope: string; seq: number }[]>;
  changeSeq(): Promise<number>;

  /** For tests and diagnostics: row counts. */
  count(table: 'scopes' | 'anchors' | 'revocations' | 'tuf_metadata' | 'tuf_targets' | 'clients' | 'trust_history'): Promise<number>;
}
