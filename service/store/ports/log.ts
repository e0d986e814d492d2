/**
 * The transparency log of published timestamps (issue 23; service/tlog). One concern of the store
 * port (../port.ts, whose transaction rules every method follows).
 */
import type { LogAppend } from '../types.js';

export interface LogRecords {
  logSize(): Promise<number>;
  /** Appends entry `index` with the tree nodes it completes, atomically; CONFLICT unless `index` is the log's size. */
  appendLogEntry(a: LogAppend): Promise<void>;
  /** Stored node hashes by `level/index`; absent nodes are left out. */
  getLogNodes(ids: { level: number; index: number }[]): Promise<Map<string, Buffer>>;
  /** Entries `from` (inclusive) to `to` (exclusive), in order. */
  listLogEntries(from: number, to: number): Promise<Buffer[]>;
  /** The index of the entry of a timestamp version, or null. */
  findLogEntry(timestampVersion: number): Promise<number | null>;
}
