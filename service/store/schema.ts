/** The database schema (drizzle, SQLite dialect). Only service/store imports this. */
import { sqliteTable, text, integer, blob, primaryKey, index } from 'drizzle-orm/sqlite-core';

export const scopes = sqliteTable('scopes', {
  scope: text('scope').primaryKey(),
  inherit: integer('inherit', { mode: 'boolean' }).notNull(),
  level: text('level'),
  source: text('source'),
  createdAt: text('created_at').notNull(),
});

export const anchors = sqliteTable(
  'anchors',
  {
    scope: text('scope').notNull(),
    id: text('id').notNull(),
    name: text('name').notNull(),
    type: text('type').notNull(),
    material: text('material').notNull(),
    trustedIdentities: text('trusted_identities', { mode: 'json' }).$type<string[] | null>(),
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

export const revocations = sqliteTable(
  'revocations',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
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
export const dirty = sqliteTable('dirty', {
  scope: text('scope').primaryKey(),
  seq: integer('seq').notNull(),
});

/** The publisher's record of every trust document it has published. */
export const trustDocs = sqliteTable('trust_docs', {
  scope: text('scope').primaryKey(),
  version: integer('version').notNull(),
  issuedAt: text('issued_at').notNull(),
  digest: text('digest').notNull(), // of the content without version and time
  deleted: integer('deleted', { mode: 'boolean' }).notNull(),
});

export const meta = sqliteTable('meta', {
  key: text('key').primaryKey(),
  value: text('value').notNull(),
});

/** Signed TUF metadata, every version. Root versions are kept forever. */
export const tufMetadata = sqliteTable(
  'tuf_metadata',
  {
    role: text('role').notNull(),
    version: integer('version').notNull(),
    bytes: blob('bytes', { mode: 'buffer' }).notNull(),
    expires: text('expires').notNull(),
    publishedAt: text('published_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.role, t.version] })],
);

/** Target files, content-addressed (TUF consistent snapshots: {sha256}.{name}). */
export const tufTargets = sqliteTable(
  'tuf_targets',
  {
    sha256: text('sha256').notNull(),
    path: text('path').notNull(),
    bytes: blob('bytes', { mode: 'buffer' }).notNull(),
    publishedAt: text('published_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.sha256, t.path] }), index('tuf_targets_path').on(t.path, t.publishedAt)],
);

export const tokens = sqliteTable('tokens', {
  id: text('id').primaryKey(),
  hash: text('hash').notNull(),
  role: text('role').notNull(),
  scopes: text('scopes', { mode: 'json' }).$type<string[] | null>(),
  expiresAt: text('expires_at'),
  createdAt: text('created_at').notNull(),
  revokedAt: text('revoked_at'),
  /** Signer tokens (issue 18): the one CA they may use (null: any in their scopes), and the longest validity they get. */
  ca: text('ca'),
  maxValiditySeconds: integer('max_validity_seconds'),
});

/** keyshare's signing authorities and its TSA (issue 18); private keys stay in files or an HSM. */
export const cas = sqliteTable('cas', {
  name: text('name').primaryKey(),
  kind: text('kind').notNull(), // ca | tsa
  scopes: text('scopes', { mode: 'json' }).$type<string[]>().notNull(),
  certificate: text('certificate').notNull(), // the issuing certificate, PEM
  root: text('root'), // the root it chains to, PEM (null: the issuing certificate is the root)
  keyRef: text('key_ref').notNull(), // `file` (<data>/keys/ca-NAME.pem) or a PKCS#11 URI without PIN
  subjectBase: text('subject_base', { mode: 'json' }).$type<{ C: string; ST: string; O: string }>().notNull(),
  createdAt: text('created_at').notNull(),
});

/** The newest accepted CRL per CA anchor (RFC 5280), published byte for byte. */
export const crls = sqliteTable('crls', {
  issuer: text('issuer').primaryKey(), // the CA anchor ID
  crlNumber: text('crl_number').notNull(), // hex, RFC 5280 5.2.3
  thisUpdate: text('this_update').notNull(),
  nextUpdate: text('next_update').notNull(),
  der: blob('der', { mode: 'buffer' }).notNull(),
  url: text('url'), // fetched on a schedule when set
  lastFetchAt: text('last_fetch_at'),
  lastError: text('last_error'),
  updatedAt: text('updated_at').notNull(),
});

/** Hash-chained audit log: every change and every denied attempt. */
export const audit = sqliteTable('audit', {
  seq: integer('seq').primaryKey({ autoIncrement: true }),
  at: text('at').notNull(),
  tokenId: text('token_id'),
  action: text('action').notNull(),
  scope: text('scope'),
  target: text('target'),
  outcome: text('outcome').notNull(), // ok | denied | failed
  before: text('before_digest'),
  after: text('after_digest'),
  details: text('details', { mode: 'json' }).$type<Record<string, unknown> | null>(),
  prevHash: text('prev_hash').notNull(),
  hash: text('hash').notNull(),
});

/** Upstream keyshare services this one follows (federate or mirror). */
export const upstreams = sqliteTable('upstreams', {
  name: text('name').primaryKey(),
  url: text('url').notNull(),
  mode: text('mode').notNull(), // federate | mirror
  scopes: text('scopes', { mode: 'json' }).$type<string[] | null>(),
  root: blob('root', { mode: 'buffer' }).notNull(), // the pinned root.json
  state: text('state', { mode: 'json' }).$type<Record<string, unknown> | null>(),
  timestampVersion: integer('timestamp_version'),
  lastSuccessAt: text('last_success_at'),
  lastError: text('last_error'),
  createdAt: text('created_at').notNull(),
  /** A bearer token sent to this upstream's feed and repository only (issue 16); never shown. */
  token: text('token'),
});

/** Files of upstream repositories (mirror mode: served byte for byte; federate: the verified documents). */
export const upstreamFiles = sqliteTable(
  'upstream_files',
  {
    upstream: text('upstream').notNull(),
    path: text('path').notNull(),
    bytes: blob('bytes', { mode: 'buffer' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.upstream, t.path] })],
);

/** Local blocks of upstream anchors (federation): the anchor is dropped from the scope here. */
export const anchorBlocks = sqliteTable(
  'anchor_blocks',
  {
    scope: text('scope').notNull(),
    anchorId: text('anchor_id').notNull(),
    createdAt: text('created_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.scope, t.anchorId] })],
);

/** The transparency log's entries (issue 23): one per published timestamp version, in log order. */
export const logEntries = sqliteTable(
  'log_entries',
  {
    idx: integer('idx').primaryKey(),
    data: blob('data', { mode: 'buffer' }).notNull(),
    timestampVersion: integer('timestamp_version').notNull(),
  },
  (t) => [index('log_entries_timestamp_version').on(t.timestampVersion)],
);

/** The log's Merkle tree: the hash of every complete aligned subtree (shared/tlog/merkle.ts). */
export const logNodes = sqliteTable(
  'log_nodes',
  {
    level: integer('level').notNull(),
    idx: integer('idx').notNull(),
    hash: blob('hash', { mode: 'buffer' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.level, t.idx] })],
);

/**
 * Issue 21 (diffs): every trust document each publish changed, by timestamp version, kept
 * (unlike superseded target files) so that any two published versions can be compared.
 * `document` is the published target's bytes, and the one copy of them: the target file
 * `sha256` is served from this row (getTarget; migration 0007); both null when the publish
 * removed the scope.
 */
export const trustHistory = sqliteTable(
  'trust_history',
  {
    version: integer('version').notNull(), // the timestamp version that published it
    scope: text('scope').notNull(),
    document: blob('document', { mode: 'buffer' }),
    publishedAt: text('published_at').notNull(),
    sha256: text('sha256'),
  },
  (t) => [primaryKey({ columns: [t.version, t.scope] }), index('trust_history_scope').on(t.scope, t.version)],
);

/** Issue 21 (rollout): the latest report of each client (bounded by a cap and an expiry). */
export const clients = sqliteTable(
  'clients',
  {
    clientId: text('client_id').primaryKey(),
    tokenId: text('token_id').notNull(),
    version: integer('version').notNull(), // the verified timestamp version
    labels: text('labels', { mode: 'json' }).$type<Record<string, string>>().notNull(),
    scopes: text('scopes', { mode: 'json' }).$type<string[]>().notNull(),
    format: text('format').notNull(),
    keyshareVersion: text('keyshare_version').notNull(),
    /** A federated downstream's summary of its own clients (null for a plain client). */
    summary: text('summary', { mode: 'json' }).$type<Record<string, unknown> | null>(),
    reportedAt: text('reported_at').notNull(),
  },
  (t) => [index('clients_reported_at').on(t.reportedAt)],
);
