/**
 * The database schema, PostgreSQL dialect (drizzle pg-core): the same tables, columns, keys and
 * indexes as ../schema.ts (SQLite), so that both stores return identical records. Only
 * service/store imports this. Type mapping, one rule each:
 * - text → `text COLLATE "C"`: SQLite compares and sorts text bytewise; a database created with
 *   a locale (en_US.UTF-8...) would order scopes and paths differently. Timestamps stay ISO text.
 * - integer → bigint read as a JS number (SQLite integers are 64-bit); boolean → boolean.
 * - JSON → `json`, not jsonb: json keeps the text as written (key order, every string), so a
 *   value reads back exactly as JSON.parse of what SQLite stores.
 * - blob → bytea (node-postgres reads it as a Buffer).
 */
import { pgTable, bigint, boolean, customType, json, primaryKey, index } from 'drizzle-orm/pg-core';

const text = customType<{ data: string; driverData: string }>({ dataType: () => 'text COLLATE "C"' });
const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => 'bytea' });
const int = (name: string) => bigint(name, { mode: 'number' });

export const scopes = pgTable('scopes', {
  scope: text('scope').primaryKey(),
  inherit: boolean('inherit').notNull(),
  level: text('level'),
  source: text('source'),
  createdAt: text('created_at').notNull(),
});

export const anchors = pgTable(
  'anchors',
  {
    scope: text('scope').notNull(),
    id: text('id').notNull(),
    name: text('name').notNull(),
    type: text('type').notNull(),
    material: text('material').notNull(),
    trustedIdentities: json('trusted_identities').$type<string[] | null>(),
    keyId: text('key_id'),
    serial: text('serial'),
    issuerName: text('issuer_name'),
    subject: text('subject'),
    notAfter: text('not_after'),
    source: text('source'),
    createdAt: text('created_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.scope, t.id] }), index('anchors_id').on(t.id)],
);

export const revocations = pgTable(
  'revocations',
  {
    id: int('id').primaryKey().generatedByDefaultAsIdentity(),
    kind: text('kind').notNull(), // certificate | key | signature
    subject: text('subject').notNull(), // issuer/serial, key ID or digest
    issuer: text('issuer'),
    serial: text('serial'),
    scope: text('scope').notNull(), // '' for everywhere
    reason: text('reason').notNull(),
    revokedAt: text('revoked_at').notNull(),
  },
  (t) => [index('revocations_unique').on(t.kind, t.subject, t.scope)],
);

/** Scopes whose effective trust may have changed since the last publish (`seq` orders changes). */
export const dirty = pgTable('dirty', {
  scope: text('scope').primaryKey(),
  seq: int('seq').notNull(),
});

/** The publisher's record of every trust document it has published. */
export const trustDocs = pgTable('trust_docs', {
  scope: text('scope').primaryKey(),
  version: int('version').notNull(),
  issuedAt: text('issued_at').notNull(),
  digest: text('digest').notNull(), // of the content without version and time
  deleted: boolean('deleted').notNull(),
});

export const meta = pgTable('meta', {
  key: text('key').primaryKey(),
  value: text('value').notNull(),
});

/** Signed TUF metadata, every version. Root versions are kept forever. */
export const tufMetadata = pgTable(
  'tuf_metadata',
  {
    role: text('role').notNull(),
    version: int('version').notNull(),
    bytes: bytea('bytes').notNull(),
    expires: text('expires').notNull(),
    publishedAt: text('published_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.role, t.version] })],
);

/** Target files, content-addressed (TUF consistent snapshots: {sha256}.{name}). */
export const tufTargets = pgTable(
  'tuf_targets',
  {
    sha256: text('sha256').notNull(),
    path: text('path').notNull(),
    bytes: bytea('bytes').notNull(),
    publishedAt: text('published_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.sha256, t.path] }), index('tuf_targets_path').on(t.path, t.publishedAt)],
);

export const tokens = pgTable('tokens', {
  id: text('id').primaryKey(),
  hash: text('hash').notNull(),
  role: text('role').notNull(),
  scopes: json('scopes').$type<string[] | null>(),
  expiresAt: text('expires_at'),
  createdAt: text('created_at').notNull(),
  revokedAt: text('revoked_at'),
  /** Signer tokens (issue 18): the one CA they may use (null: any in their scopes), and the longest validity they get. */
  ca: text('ca'),
  maxValiditySeconds: int('max_validity_seconds'),
});

/** keyshare's signing authorities and its TSA (issue 18); private keys stay in files or an HSM. */
export const cas = pgTable('cas', {
  name: text('name').primaryKey(),
  kind: text('kind').notNull(), // ca | tsa
  scopes: json('scopes').$type<string[]>().notNull(),
  certificate: text('certificate').notNull(), // the issuing certificate, PEM
  root: text('root'), // the root it chains to, PEM (null: the issuing certificate is the root)
  keyRef: text('key_ref').notNull(), // `file` (<data>/keys/ca-NAME.pem) or a PKCS#11 URI without PIN
  subjectBase: json('subject_base').$type<{ C: string; ST: string; O: string }>().notNull(),
  createdAt: text('created_at').notNull(),
});

/** The newest accepted CRL per CA anchor (RFC 5280), published byte for byte. */
export const crls = pgTable('crls', {
  issuer: text('issuer').primaryKey(), // the CA anchor ID
  crlNumber: text('crl_number').notNull(), // hex, RFC 5280 5.2.3
  thisUpdate: text('this_update').notNull(),
  nextUpdate: text('next_update').notNull(),
  der: bytea('der').notNull(),
  url: text('url'), // fetched on a schedule when set
  lastFetchAt: text('last_fetch_at'),
  lastError: text('last_error'),
  updatedAt: text('updated_at').notNull(),
});

/** Hash-chained audit log: every change and every denied attempt. */
export const audit = pgTable('audit', {
  seq: int('seq').primaryKey().generatedByDefaultAsIdentity(),
  at: text('at').notNull(),
  tokenId: text('token_id'),
  action: text('action').notNull(),
  scope: text('scope'),
  target: text('target'),
  outcome: text('outcome').notNull(), // ok | denied | failed
  before: text('before_digest'),
  after: text('after_digest'),
  details: json('details').$type<Record<string, unknown> | null>(),
  prevHash: text('prev_hash').notNull(),
  hash: text('hash').notNull(),
});

/** Upstream keyshare services this one follows (federate or mirror). */
export const upstreams = pgTable('upstreams', {
  name: text('name').primaryKey(),
  url: text('url').notNull(),
  mode: text('mode').notNull(), // federate | mirror
  scopes: json('scopes').$type<string[] | null>(),
  root: bytea('root').notNull(), // the pinned root.json
  state: json('state').$type<Record<string, unknown> | null>(),
  timestampVersion: int('timestamp_version'),
  lastSuccessAt: text('last_success_at'),
  lastError: text('last_error'),
  createdAt: text('created_at').notNull(),
  /** A bearer token sent to this upstream's feed and repository only (issue 16); never shown. */
  token: text('token'),
});

/** Files of upstream repositories (mirror mode: served byte for byte; federate: the verified documents). */
export const upstreamFiles = pgTable(
  'upstream_files',
  {
    upstream: text('upstream').notNull(),
    path: text('path').notNull(),
    bytes: bytea('bytes').notNull(),
  },
  (t) => [primaryKey({ columns: [t.upstream, t.path] })],
);

/** Local blocks of upstream anchors (federation): the anchor is dropped from the scope here. */
export const anchorBlocks = pgTable(
  'anchor_blocks',
  {
    scope: text('scope').notNull(),
    anchorId: text('anchor_id').notNull(),
    createdAt: text('created_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.scope, t.anchorId] })],
);

/** The transparency log's entries (issue 23): one per published timestamp version, in log order. */
export const logEntries = pgTable(
  'log_entries',
  {
    idx: int('idx').primaryKey(),
    data: bytea('data').notNull(),
    timestampVersion: int('timestamp_version').notNull(),
  },
  (t) => [index('log_entries_timestamp_version').on(t.timestampVersion)],
);

/** The log's Merkle tree: the hash of every complete aligned subtree (shared/tlog/merkle.ts). */
export const logNodes = pgTable(
  'log_nodes',
  {
    level: int('level').notNull(),
    idx: int('idx').notNull(),
    hash: bytea('hash').notNull(),
  },
  (t) => [primaryKey({ columns: [t.level, t.idx] })],
);

/** Issue 21 (diffs): as ../schema.ts `trust_history`. */
export const trustHistory = pgTable(
  'trust_history',
  {
    version: int('version').notNull(),
    scope: text('scope').notNull(),
    document: bytea('document'),
    publishedAt: text('published_at').notNull(),
    sha256: text('sha256'),
  },
  (t) => [primaryKey({ columns: [t.version, t.scope] }), index('trust_history_scope').on(t.scope, t.version)],
);

/** Issue 21 (rollout): as ../schema.ts `clients`. */
export const clients = pgTable(
  'clients',
  {
    clientId: text('client_id').primaryKey(),
    tokenId: text('token_id').notNull(),
    version: int('version').notNull(),
    labels: json('labels').$type<Record<string, string>>().notNull(),
    scopes: json('scopes').$type<string[]>().notNull(),
    format: text('format').notNull(),
    keyshareVersion: text('keyshare_version').notNull(),
    summary: json('summary').$type<Record<string, unknown> | null>(),
    reportedAt: text('reported_at').notNull(),
  },
  (t) => [index('clients_reported_at').on(t.reportedAt)],
);
