/**
 * API tokens (hashes only; service/auth). One concern of the store port (../port.ts, whose
 * transaction rules every method follows).
 */
import type { TokenRecord } from '../types.js';

export interface TokenRecords {
  addToken(rec: TokenRecord): Promise<void>;
  getToken(id: string): Promise<TokenRecord | null>;
  listTokens(): Promise<TokenRecord[]>;
  revokeToken(id: string, at: string): Promise<boolean>;
}
