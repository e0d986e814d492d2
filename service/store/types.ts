/**
 * The records the store reads and writes, shared by every dialect (./port.ts).
 */
import type { RevocationReason } from '../domain/types.js';

/** The dirty-scope rule is the domain's (service/domain/dirty.ts); its key names, for the store's callers. */
export { ALL_SCOPES, CRL_DIRTY_PREFIX } from '../domain/dirty.js';

/** A stored CRL (schema `crls`): the DER exactly as accepted, published byte for byte. */
export interface CrlRecord {
  issuer: string;
  /** Minimal lower-case hex (RFC 5280 5.2.3). */
  crlNumber: string;
  thisUpdate: string;
  nextUpdate: string;
  der: Buffer;
  url: string | null;
  lastFetchAt: string | null;
  lastError: string | null;
  updatedAt: string;
}

export interface RevocationInput {
  kind: 'certificate' | 'key' | 'signature';
  /** certificate: issuer + serial; key: id; signature: digest */
  issuer?: string;
  serial?: string;
  id?: string;
  digest?: string;
  scope: string | null;
  reason: RevocationReason;
  revokedAt: string;
}

export interface TrustDocRecord {
  scope: string;
  version: number;
  issuedAt: string;
  digest: string;
  deleted: boolean;
}

export interface MetadataRecord {
  role: string;
  version: number;
  bytes: Buffer;
  expires: string;
}

export interface TargetRecord {
  sha256: string;
  path: string;
  bytes: Buffer;
}

export interface TokenRecord {
  id: string;
  hash: string;
  role: string;
  scopes: string[] | null;
  expiresAt: string | null;
  createdAt: string;
  revokedAt: string | null;
  /** Signer tokens (issue 18): the one CA they may use (null: any in their scopes). */
  ca?: string | null;
  /** Signer tokens: the longest certificate validity they get, in seconds. */
  maxValiditySeconds?: number | null;
}

/** A signing authority or the TSA (schema `cas`, issue 18). */
export interface CaRecord {
  name: string;
  kind: 'ca' | 'tsa';
  scopes: string[];
  /** The issuing certificate, PEM. */
  certificate: string;
  /** The root it chains to, PEM; null when the issuing certificate is itself the root. */
  root: string | null;
  /** `file` (<data>/keys/ca-NAME.pem) or a PKCS#11 URI without its PIN. */
  keyRef: string;
  subjectBase: { C: string; ST: string; O: string };
  createdAt: string;
}

/** An upstream row: a followed keyshare service, or the origin of imported bundles (sync/bundle). */
export interface UpstreamRecord {
  name: string;
  url: string;
  mode: string;
  scopes: string[] | null;
  /** The pinned (for bundles: the newest verified) root.json. */
  root: Buffer;
  state: Record<string, unknown> | null;
  timestampVersion: number | null;
  lastSuccessAt: string | null;
  lastError: string | null;
  createdAt: string;
  /** A bearer token for this upstream's feed and repository (issue 16): a secret, never shown or logged. */
  token?: string | null;
}

/** One audit log entry as stored (service/audit/chain.ts defines the hash). */
export interface AuditRecord {
  seq: number;
  at: string;
  tokenId: string | null;
  action: string;
  scope: string | null;
  target: string | null;
  outcome: string;
  before: string | null;
  after: string | null;
  details: Record<string, unknown> | null;
  prevHash: string;
  hash: string;
}
export interface AuditHead {
  seq: number;
  hash: string;
}

/**
 * Sees every outermost transaction (service/audit/log.ts): `begin` right after BEGIN, before
 * `fn`; `commit` after `fn`, before COMMIT. Both run inside the transaction, so their store
 * reads see its writes. `end` comes after COMMIT (`committed` true) or ROLLBACK (false), outside
 * the transaction. `commit` and `end` are skipped when `begin` returned null.
 */
export interface TransactionObserver {
  begin(): Promise<unknown>;
  commit(pending: unknown): Promise<void>;
  end?(pending: unknown, committed: boolean): void;
}

/** A stored CRL as the console and metrics see it (no DER). */
export interface CrlSummary {
  issuer: string;
  crlNumber: string;
  thisUpdate: string;
  nextUpdate: string;
  url: string | null;
  lastFetchAt: string | null;
  lastError: string | null;
  updatedAt: string;
}

/** An upstream's sync state as the console and metrics see it. */
export interface UpstreamSummary {
  name: string;
  url: string;
  mode: string;
  scopes: string[] | null;
  timestampVersion: number | null;
  lastSuccessAt: string | null;
  lastError: string | null;
  createdAt: string;
}

/** What one publish writes, all in one transaction. */
export interface PublishCommit {
  upToSeq: number;
  docs: TrustDocRecord[];
  targets: TargetRecord[];
  metadata: MetadataRecord[];
  publishedAt: string;
  /** Expected current timestamp version: a different one means another publisher won (CONFLICT). */
  baseTimestampVersion: number;
  /** Dirty marks to keep although consumed (changes waiting for an offline tenant's signature). */
  keepDirty?: string[];
}

/** One transparency log append (issue 23): the entry and the tree nodes it completes. */
export interface LogAppend {
  index: number;
  data: Buffer;
  timestampVersion: number;
  nodes: { level: number; index: number; hash: Uint8Array }[];
}

/** Runs inside a commitPublish transaction, after its writes (service/tlog installs one). */
export type PublishHook = (c: PublishCommit) => Promise<void>;

/** Issue 21 (diffs): one trust document a publish changed; `document` null: the scope was removed. */
export interface TrustHistoryRecord {
  /** The timestamp version that published it. */
  version: number;
  scope: string;
  document: Buffer | null;
  publishedAt: string;
}

/** Issue 21 (rollout): a client's latest report. */
export interface ClientRecord {
  clientId: string;
  /** The `client` token it reported with. */
  tokenId: string;
  /** The timestamp version it verified. */
  version: number;
  labels: Record<string, string>;
  scopes: string[];
  format: string;
  keyshareVersion: string;
  /** A federated downstream's summary of its own clients; null for a plain client. */
  summary: Record<string, unknown> | null;
  reportedAt: string;
}

/** How many clients are kept, and since when a report counts (older ones are dropped). */
export interface ClientLimits {
  cap: number;
  expireBefore: string;
}
