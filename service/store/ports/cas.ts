/**
 * Signing authorities (issue 18; service/ca). One concern of the store port (../port.ts, whose
 * transaction rules every method follows).
 */
import type { CaRecord } from '../types.js';

export interface CaRecords {
  listCas(): Promise<CaRecord[]>;
  getCa(name: string): Promise<CaRecord | null>;
  /** CA_EXISTS when the name is taken. */
  addCa(rec: CaRecord): Promise<void>;
}
