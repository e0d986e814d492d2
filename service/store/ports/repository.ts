/**
 * The published TUF repository: trust documents, metadata versions and target files, written by
 * one publish at a time. One concern of the store port (../port.ts, whose transaction rules every
 * method follows).
 */
import type { MetadataRecord, PublishCommit, PublishHook, TargetRecord, TrustDocRecord } from '../types.js';

export interface RepositoryRecords {
  // ---- published trust documents ----
  getTrustDocs(scopes: string[]): Promise<Map<string, TrustDocRecord>>;
  listTrustDocs(): Promise<TrustDocRecord[]>;

  // ---- TUF repository ----
  latestMetadata(role: string): Promise<MetadataRecord | null>;
  /** The newest version of every role. */
  latestMetadataAll(): Promise<MetadataRecord[]>;
  getMetadata(role: string, version: number): Promise<MetadataRecord | null>;
  listMetadataVersions(role: string): Promise<MetadataRecord[]>;
  getTarget(sha256: string, path: string): Promise<TargetRecord | null>;
  /** Stores root metadata outside a publish (init and root rotation). */
  putRoot(rec: MetadataRecord, publishedAt: string): Promise<void>;
  /** One publish, atomically; CONFLICT if another publish landed first (see PublishCommit). */
  commitPublish(c: PublishCommit): Promise<void>;
  /** Issue 23: runs `hook` inside every commitPublish transaction, after its writes; if it throws, the publish rolls back. */
  onPublishCommit(hook: PublishHook | null): void;
  /** Deletes non-root metadata and target files whose successor was published before `before`. */
  pruneSuperseded(before: string): Promise<{ metadata: number; targets: number }>;
}
