/**
 * The port through which the service reaches upstream federation (issue 22, "Break the cycle"):
 * the service defines what it needs here, service/federation/upstream implements it (UpstreamManager), and
 * the composition root (service/composition.ts) hands the implementation to the HTTP app.
 * Nothing else in service/ imports service/federation/ or sync/ (test/architecture/imports.test.ts).
 */
import type { OriginExpiryStatus } from './domain/origin-expiry.js';

export type UpstreamMode = 'federate' | 'mirror';

export interface UpstreamInput {
  name: string;
  url: string;
  /** The upstream's root.json, pinned out of band. */
  root: string | Uint8Array;
  mode?: UpstreamMode;
  /** Scope patterns (a scope and everything under it); null or empty: everything. */
  scopes?: string[] | null;
  /** A bearer token for the upstream's feed and repository (its origin only); a secret, never shown. */
  token?: string | null;
  /** Issue 21: a `client` token of the upstream: this service then reports its clients' rollout there (service/federation/upstream/report.ts). */
  reportToken?: string | null;
  /** oci:// only: PEM CA certificate(s) for the registry's TLS certificate. */
  ca?: string | null;
  /** oci:// only: plain HTTP, for a registry on loopback only. */
  insecure?: boolean;
}

/** An upstream as `upstream ls` shows it (CONTRACT.md: name, url, mode, lastSuccessAt, lastError, version). */
export interface UpstreamView {
  name: string;
  url: string;
  mode: string;
  scopes: string[] | null;
  /** The upstream's timestamp version this service last accepted. */
  version: number | null;
  lastSuccessAt: string | null;
  lastError: string | null;
  createdAt: string;
  /** Whether a token is sent to the upstream (the token itself is never shown). */
  authenticated: boolean;
  /** `online` (polled, with the change feed) or `bundle` (an origin of imported bundles: never polled). */
  kind: 'online' | 'bundle';
  /** The upstream repository's identity, once known. */
  origin: string | null;
  /** federate: the scopes it brings; conflicts: scopes it defines that are defined locally, left out. */
  federatedScopes: number | null;
  conflicts: string[];
  /** Where a mirrored repository is served byte for byte. */
  mirror: string | null;
  /** When the upstream's timestamp last accepted expires. */
  expires: string | null;
  /** Issue 24 row 3: valid, expired (still republished, within --origin-grace), or withdrawn (no longer republished). */
  expiry: OriginExpiryStatus;
  /** Seconds until `expires` (negative after). */
  expiresInSeconds: number | null;
}

/** A CRL an upstream lists that was refused (e.g. ROLLBACK: older than the one held). */
export interface CrlRefusal {
  issuer: string;
  code: string;
  message: string;
}

export interface SyncOutcome {
  name: string;
  ok: boolean;
  /** Whether this service's trust or mirror changed. */
  changed: boolean;
  timestampVersion: number | null;
  error: { code: string; message: string } | null;
  scopes?: { created: string[]; updated: string[]; removed: string[]; conflicts: string[] };
  revocationsAdded?: number;
  /** federate: the CA anchors whose CRL from this upstream was stored (newer than the one held). */
  crlsUpdated?: string[];
  /** federate: CRLs of this upstream that were refused (e.g. ROLLBACK: older than the one held). */
  crlErrors?: CrlRefusal[];
  mirrorFiles?: number;
}

/** The upstreams this service follows: what the admin API and the server's lifecycle use. */
export interface Upstreams {
  list(): Promise<UpstreamView[]>;
  get(name: string): Promise<UpstreamView>;
  add(input: UpstreamInput): Promise<{ upstream: UpstreamView; sync: SyncOutcome }>;
  remove(name: string): Promise<{ removed: string; scopesRemoved: string[] }>;
  /** Syncs one upstream, or every online one. */
  sync(name?: string): Promise<SyncOutcome[]>;
  /** Polls and follows change feeds until stop. */
  start(): void;
  stop(): void;
  idle(): Promise<void>;
}
