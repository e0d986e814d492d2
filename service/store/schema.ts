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
  (t) => [primaryKey({ columns: [t.sha256, t.path] })],
);

export const tokens = sqliteTable('tokens', {
  id: text('id').primaryKey(),
  hash: text('hash').notNull(),
  role: text('role').notNull(),
  scopes: text('scopes', { mode: 'json' }).$type<string[] | null>(),
  expiresAt: text('expires_at'),
  createdAt: text('created_at').notNull(),
  revokedAt: text('revoked_at'),
});
