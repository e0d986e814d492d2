/**
 * The store port: the one interface the service, sync and CLI use, whatever the database (issue
 * 11: "one domain and one store interface, with a dialect per backend"). ./sqlite.ts implements
 * it over the embedded SQLite database, ./pg/ over PostgreSQL. Every method returns a Promise.
 *
 * Transactions (every dialect implements exactly this):
 * - `transaction(fn)` keeps the current transaction in an AsyncLocalStorage: every store call made
 *   within `fn`'s async context, awaited or not, runs inside it. A call made from that context
 *   after the transaction ended runs where it would have run without it.
 * - The outermost transaction is exclusive: nobody else reads its uncommitted writes or writes
 *   into it while `fn` awaits. SQLite (one connection): a mutex serialises outermost
 *   transactions and every call made outside a transaction while one is open; a call made inside
 *   the current transaction never waits for it. PostgreSQL: one pooled connection per
 *   transaction, as the database isolates them.
 * - A nested `transaction(fn)` is a SAVEPOINT: if `fn` throws, ROLLBACK TO it and rethrow; the
 *   enclosing transaction goes on. Nested transactions started concurrently in one transaction
 *   run one after another, as do the plain calls made meanwhile in the enclosing transaction.
 * - If anything throws (fn, the observer, COMMIT), the transaction rolls back: nothing is half
 *   written.
 * - Each public write is atomic on its own (a transaction, or a savepoint of the current one).
 *   Writes that change trust or the published repository are also shown to the observer when
 *   they are the outermost transaction.
 * - Never await, inside a transaction, work that itself waits for the store outside it (a
 *   background publish, another request): with SQLite that work waits for the transaction to end.
 */
import type { AnchorRecord, AnchorType, Revocations, ScopeRecord } from '../domain/types.js';
import type {
  AuditHead,
  AuditRecord,
  CaRecord,
  CrlRecord,
  CrlSummary,
  LogAppend,
  MetadataRecord,
  PublishCommit,
  PublishHook,
  RevocationInput,
  TargetRecord,
  TokenRecord,
  TransactionObserver,
  TrustDocRecord,
  UpstreamRecord,
  UpstreamSummary,
  TrustHistoryRecord,
  ClientRecord,
  ClientLimits,
} from './types.js';

export type Dialect = 'sqlite' | 'postgres';

export interface Store {
  readonly dialect: Dialect;
  close(): Promise<void>;

  /** Runs `fn` in one transaction (see above): all of it lands, or none. */
  transaction<T>(fn: () => Promise<T>): Promise<T>;
  /** Shows every outermost transaction to `observer` (service/audit installs itself here). */
  observeTransactions(observer: TransactionObserver | null): void;

  // ---- meta and change tracking ----
  getMeta(key: string): Promise<string | null>;
  setMeta(key: string, value: string): Promise<void>;
  /**
   * Sets `key` to `value` only if it holds `expected` now (null: absent), atomically even across
   * processes on one database; false when it did not (issue 23: a witness's state).
   */
  swapMeta(key: string, expected: string | null, value: string): Promise<boolean>;
  listDirty(): Promise<{ scope: string; seq: number }[]>;
  changeSeq(): Promise<number>;

  // ---- scopes ----
  listScopes(): Promise<ScopeRecord[]>;
  getScope(scope: string): Promise<ScopeRecord | null>;
  /** SCOPE_NOT_FOUND when the scope is not defined. */
  requireScope(scope: string): Promise<ScopeRecord>;
  /** SCOPE_EXISTS when it is. */
  createScope(rec: ScopeRecord, now: Date): Promise<void>;
  updateScope(rec: ScopeRecord): Promise<void>;
  /** A federated scope's definition from its upstreams (sync/upstream/federate.ts): inherit, level and source. */
  updateFederatedScope(rec: ScopeRecord): Promise<void>;
  deleteScope(scope: string): Promise<void>;

  // ---- anchors ----
  listAnchors(scopes?: string[]): Promise<AnchorRecord[]>;
  /** Anchors of some types (e.g. the CA anchors a publish needs for CRLs), without reading every anchor. */
  listAnchorsOfTypes(types: AnchorType[]): Promise<AnchorRecord[]>;
  getAnchor(scope: string, id: string): Promise<AnchorRecord | null>;
  /** ANCHOR_EXISTS when the scope already has it. */
  addAnchor(rec: AnchorRecord, now: Date): Promise<void>;
  /** Replaces an anchor's definition (same scope and ID). */
  replaceAnchor(rec: AnchorRecord, now: Date): Promise<void>;
  /** ANCHOR_NOT_FOUND when the scope has no such anchor. */
  removeAnchor(scope: string, id: string): Promise<void>;

  // ---- revocations ----
  listRevocations(): Promise<Revocations>;
  /** Adds a revocation; false when the same one already exists (idempotent). */
  addRevocation(r: RevocationInput): Promise<boolean>;

  // ---- CRLs (the newest accepted one per CA anchor) ----
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

  // ---- transparency log (issue 23; service/tlog) ----
  logSize(): Promise<number>;
  /** Appends entry `index` with the tree nodes it completes, atomically; CONFLICT unless `index` is the log's size. */
  appendLogEntry(a: LogAppend): Promise<void>;
  /** Stored node hashes by `level/index`; absent nodes are left out. */
  getLogNodes(ids: { level: number; index: number }[]): Promise<Map<string, Buffer>>;
  /** Entries `from` (inclusive) to `to` (exclusive), in order. */
  listLogEntries(from: number, to: number): Promise<Buffer[]>;
  /** The index of the entry of a timestamp version, or null. */
  findLogEntry(timestampVersion: number): Promise<number | null>;

  // ---- tokens ----
  addToken(rec: TokenRecord): Promise<void>;
  getToken(id: string): Promise<TokenRecord | null>;
  listTokens(): Promise<TokenRecord[]>;
  revokeToken(id: string, at: string): Promise<boolean>;

  // ---- signing authorities (issue 18) ----
  listCas(): Promise<CaRecord[]>;
  getCa(name: string): Promise<CaRecord | null>;
  /** CA_EXISTS when the name is taken. */
  addCa(rec: CaRecord): Promise<void>;

  // ---- operations views (web console, metrics) ----
  crlSummaries(): Promise<CrlSummary[]>;
  upstreamSummaries(): Promise<UpstreamSummary[]>;

  // ---- upstreams and their files ----
  getUpstream(name: string): Promise<UpstreamRecord | null>;
  /** Inserts or replaces an upstream row. */
  putUpstream(rec: UpstreamRecord): Promise<void>;
  /** Replaces every file of an upstream (paths relative to its repository, e.g. `1.root.json`). */
  replaceUpstreamFiles(upstream: string, files: Iterable<{ path: string; bytes: Buffer }>): Promise<void>;
  getUpstreamFile(upstream: string, path: string): Promise<Buffer | null>;
  /** Every file of an upstream, in path order. */
  listUpstreamFiles(upstream: string): Promise<{ path: string; bytes: Buffer }[]>;
  countUpstreamFiles(upstream: string): Promise<number>;
  /** Every upstream row, pinned roots and state included (sync/upstream). */
  listUpstreams(): Promise<UpstreamRecord[]>;
  /** Records the outcome of a sync without touching the rest of the row; false when the row is gone. */
  updateUpstreamStatus(
    name: string,
    status: Partial<Pick<UpstreamRecord, 'state' | 'timestampVersion' | 'lastSuccessAt' | 'lastError' | 'root'>>,
  ): Promise<boolean>;
  /** Removes an upstream row and its files; false when there was none. */
  deleteUpstream(name: string): Promise<boolean>;

  // ---- local blocks of upstream anchors (federation) ----
  listAnchorBlocks(scope?: string): Promise<{ scope: string; anchorId: string; createdAt: string }[]>;
  /** Blocks an anchor ID at a scope; false when it was already blocked there (idempotent). */
  addAnchorBlock(scope: string, anchorId: string, now: Date): Promise<boolean>;
  /** Lifts a block; false when there was none. */
  removeAnchorBlock(scope: string, anchorId: string): Promise<boolean>;

  /** For tests and diagnostics: row counts. */
  count(table: 'scopes' | 'anchors' | 'revocations' | 'tuf_metadata' | 'tuf_targets' | 'clients' | 'trust_history'): Promise<number>;

  // ---- issue 21: trust history (recorded by commitPublish) and client reports ----
  /** Each scope's newest history entry at or before timestamp `version`. */
  trustHistoryAt(version: number): Promise<TrustHistoryRecord[]>;
  /** History entries with `after` < version <= `upTo` (of one scope, if given), in (version, scope) order, at most `limit`. */
  listTrustHistory(q: { after: number; upTo: number; limit: number; scope?: string }): Promise<TrustHistoryRecord[]>;
  /**
   * Stores a client's report in place of its previous one, after dropping every report older
   * than `expireBefore`; false (nothing stored) when a new client would pass `cap`.
   */
  putClientReport(rec: ClientRecord, limits: ClientLimits): Promise<boolean>;
  /** The reports made at or after `since`, by client ID. */
  listClients(since: string): Promise<ClientRecord[]>;

  // ---- audit (hash-chained; see service/audit/chain.ts) ----
  /**
   * Appends one entry: `link` gets the current head and returns the linked entry. Runs inside
   * the caller's transaction when there is one (the change and its entry land together), else in
   * one of its own; never shown to the observer.
   */
  appendAudit(link: (head: AuditHead | null) => AuditRecord): Promise<AuditRecord>;
  /** The head recorded with the last append (null before the first). */
  auditHead(): Promise<AuditHead | null>;
  /** Entries in seq order: after `afterSeq`, at or after `since` (ISO time), at most `limit`. */
  listAudit(q: { afterSeq?: number; since?: string; limit: number }): Promise<AuditRecord[]>;
}
