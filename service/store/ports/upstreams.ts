/**
 * Upstream repositories this service follows or mirrors, and their files (service/federation/upstream). One
 * concern of the store port (../port.ts, whose transaction rules every method follows).
 */
import type { UpstreamRecord, UpstreamSummary } from '../types.js';

export interface UpstreamRecords {
  /** Every upstream's sync state, without its pinned root or files (web console, metrics). */
  upstreamSummaries(): Promise<UpstreamSummary[]>;
  getUpstream(name: string): Promise<UpstreamRecord | null>;
  /** Inserts or replaces an upstream row. */
  putUpstream(rec: UpstreamRecord): Promise<void>;
  /** Replaces every file of an upstream (paths relative to its repository, e.g. `1.root.json`). */
  replaceUpstreamFiles(upstream: string, files: Iterable<{ path: string; bytes: Buffer }>): Promise<void>;
  getUpstreamFile(upstream: string, path: string): Promise<Buffer | null>;
  /** Every file of an upstream, in path order. */
  listUpstreamFiles(upstream: string): Promise<{ path: string; bytes: Buffer }[]>;
  countUpstreamFiles(upstream: string): Promise<number>;
  /** Every upstream row, pinned roots and state included (service/federation/upstream). */
  listUpstreams(): Promise<UpstreamRecord[]>;
  /** Records the outcome of a sync without touching the rest of the row; false when the row is gone. */
  updateUpstreamStatus(
    name: string,
    status: Partial<Pick<UpstreamRecord, 'state' | 'timestampVersion' | 'lastSuccessAt' | 'lastError' | 'root'>>,
  ): Promise<boolean>;
  /** Removes an upstream row and its files; false when there was none. */
  deleteUpstream(name: string): Promise<boolean>;
}
