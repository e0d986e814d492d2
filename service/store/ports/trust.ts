/**
 * What a scope trusts: scopes, their anchors, revocations, and local blocks of upstream anchors.
 * Every write marks the scopes it changes dirty. One concern of the store port (../port.ts, whose
 * transaction rules every method follows).
 */
import type { AnchorRecord, AnchorType, Revocations, ScopeRecord } from '../../domain/types.js';
import type { RevocationInput } from '../types.js';

export interface TrustRecords {
  // ---- scopes ----
  listScopes(): Promise<ScopeRecord[]>;
  getScope(scope: string): Promise<ScopeRecord | null>;
  /** SCOPE_NOT_FOUND when the scope is not defined. */
  requireScope(scope: string): Promise<ScopeRecord>;
  /** SCOPE_EXISTS when it is. */
  createScope(rec: ScopeRecord, now: Date): Promise<void>;
  updateScope(rec: ScopeRecord): Promise<void>;
  /** A federated scope's definition from its upstreams (service/federation/federate.ts): inherit, level and source. */
  updateFederatedScope(rec: ScopeRecord): Promise<void>;
  deleteScope(scope: string): Promise<void>;

  // ---- anchors ----
  listAnchors(scopes?: string[]): Promise<AnchorRecord[]>;
  /** Anchors of some types (e.g. the CA anchors a publish needs for CRLs), without reading every anchor. */
  listAnchorsOfTypes(types: AnchorType[]): Promise<AnchorRecord[]>;
  getAnchor(scope: string, id: string): Promise<AnchorRecord | null>;
  /** ANCHOR_EXISTS when the scope already has it. */
  addAnchor(rec: AnchorRecord, now: Date): Promise<void>;
  /**
   * Creates `scopes` and adds `anchors` (at those scopes or defined ones) as one write, with the
   * errors of createScope and addAnchor and the same dirty marks: an apply of 100k scopes makes
   * its rows in batches, not in 200k writes of their own (bench B4).
   */
  addMany(add: { scopes: ScopeRecord[]; anchors: AnchorRecord[] }, now: Date): Promise<void>;
  /** Replaces an anchor's definition (same scope and ID). */
  replaceAnchor(rec: AnchorRecord, now: Date): Promise<void>;
  /** ANCHOR_NOT_FOUND when the scope has no such anchor. */
  removeAnchor(scope: string, id: string): Promise<void>;

  // ---- revocations ----
  listRevocations(): Promise<Revocations>;
  /** Adds a revocation; false when the same one already exists (idempotent). */
  addRevocation(r: RevocationInput): Promise<boolean>;

  // ---- local blocks of upstream anchors (federation) ----
  listAnchorBlocks(scope?: string): Promise<{ scope: string; anchorId: string; createdAt: string }[]>;
  /** Blocks an anchor ID at a scope; false when it was already blocked there (idempotent). */
  addAnchorBlock(scope: string, anchorId: string, now: Date): Promise<boolean>;
  /** Lifts a block; false when there was none. */
  removeAnchorBlock(scope: string, anchorId: string): Promise<boolean>;
}
