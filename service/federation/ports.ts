/**
 * What the server side of federation needs of a client of other repositories (issue 22, "Break
 * the cycle"): read an upstream's TUF repository, verify a bundle, talk to an OCI registry, send a
 * rollout report. service/federation/ states it here, in its own terms; service/composition.ts
 * fills it once from the client library (sync/) and hands it to the upstream manager and the
 * bundle operations. So nothing in service/ but the composition root imports sync/
 * (test/architecture/imports.test.ts). The formats and code tables both sides read (bundle.json,
 * OCI references and artifacts, FetchCodes, BundleCodes, OciCodes) are in shared/.
 */
import type { VerifiedBundle } from '../../shared/bundle/format.js';
import type { ConnectGuard } from '../../shared/http.js';
import type { Descriptor } from '../../shared/oci/artifact.js';
import type { OciReference } from '../../shared/oci/reference.js';
import type { Checkpoint } from '../../shared/tlog/checkpoint.js';
import type { NoteVerifier } from '../../shared/tlog/note.js';
import type { TrustDocument } from '../../shared/types.js';
import type { ClientReport } from '../domain/clients.js';
import type { KeyshareError } from '../errors.js';

/** A bearer token, sent to its own origin only (upstream/token.ts). */
export interface Bearer {
  origin: string;
  token: string;
}

/** The requests of one upstream sync: each with a timeout and a size cap, all cut at the sync's deadline. */
export interface UpstreamHttp {
  timeoutMs: number;
  signal: AbortSignal;
  maxBytes: number;
  userAgent: string;
  /** Where requests may connect, redirects included (service/net/outbound.ts). */
  guard: ConnectGuard;
  bearer?: Bearer;
}

/** What one verified read of an upstream asks for (the client's fetchTrust options that federation uses). */
export interface UpstreamReadOptions {
  server: string;
  /** The upstream's root, pinned at `upstream add`. */
  root: Uint8Array;
  /** The client cache: it keeps the versions trusted across restarts. */
  cache: string;
  /** Scope patterns to read (federate); none for a mirror. */
  patterns: string[];
  /** The verified bytes of index.json and each document. */
  raw: boolean;
  /** The CRL targets the documents list, verified like any target. */
  crls: boolean;
  /** Every file of the repository, for a byte-for-byte mirror. */
  mirror: boolean;
  now: Date;
  updaterConfig: { snapshotMaxLength: number; targetsMaxLength: number };
}

/** A repository file as served under /tuf/, by its path there. */
export interface RepositoryFile {
  path: string;
  bytes: Buffer;
}

/** What a verified read returns (TUF 5.3-5.7 done by the client, against the pinned root). */
export interface UpstreamRead {
  metadata: { server: string; rootVersion: number; timestampVersion: number; snapshotVersion: number; expires: { timestamp: string } };
  documents: TrustDocument[];
  /** The DER of each CRL target the documents list, by target path. */
  crls: Map<string, Uint8Array>;
  /** The verified bytes of index.json and of each document, by target path. */
  raw: Map<string, Buffer>;
  /** mirror: every file of the repository except root versions. */
  repository: RepositoryFile[] | null;
}

/** One sync's view of an upstream: the verified read, and plain downloads (root versions, checked by identity.ts). */
export interface UpstreamReader {
  read(options: UpstreamReadOptions): Promise<UpstreamRead>;
  downloadBytes(url: string, maxBytes: number): Promise<Buffer>;
}

/** How a registry is reached (`--ca`, `--insecure`, credentials). */
export interface RegistryOptions {
  /** PEM CA certificate(s) for the registry's TLS certificate (default: the system's CAs). */
  ca?: Buffer;
  /** Plain HTTP: for a registry on loopback only. */
  insecure?: boolean;
  /** Given credentials; undefined: the stored ones, null: anonymous only. */
  credentials?: { username: string; password: string } | null;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

/** One repository of an OCI registry (distribution spec), every manifest and blob digest-checked. */
export interface Registry {
  headManifest(reference: string): Promise<{ digest: string | null } | null>;
  getManifest(reference: string): Promise<{ bytes: Buffer; digest: string }>;
  putManifest(reference: string, bytes: Buffer): Promise<string>;
  listTags(): Promise<string[]>;
  pushBlob(source: { bytes: Buffer } | { file: string }, digest: string, size: number): Promise<void>;
  /** Refused over `maxBytes` before any byte (BUNDLE_TOO_LARGE). */
  downloadBlob(desc: Descriptor, dest: string, maxBytes: number): Promise<void>;
}

export interface FederationClient {
  /** The reader of one upstream sync (upstream/sync.ts). */
  openUpstream(http: UpstreamHttp): UpstreamReader;
  /** An upstream URL as the client addresses it (CONFIG_INVALID unless http(s)). */
  normalizeServer(url: string): string;
  /** A pinned root: a TUF root signed by a threshold of its own keys (ROOT_INVALID). */
  readPinnedRoot(root: Uint8Array): Buffer;
  /** `Authorization: Bearer` for a request to the bearer's own origin; nothing for any other. */
  bearerHeader(bearer: Bearer | undefined, url: string): Record<string, string>;
  /** Anything a verified read throws, as a coded error (ROLLBACK, BAD_SIGNATURE, DOWNLOAD_FAILED, ...). */
  toFetchError(e: unknown): KeyshareError;
  /** The version a rollout report states. */
  clientVersion: string;
  /** Issue 21: a rollout report to an upstream (REPORT_FAILED when refused). */
  sendReport(server: string, token: string, report: ClientReport, guard: ConnectGuard): Promise<void>;
  /**
   * Verifies an extracted bundle against its pinned root at `now` (`work`: an empty scratch
   * dir); `trustedRoot`, the newest root earlier bundles of the origin brought, must be in its chain.
   */
  verifyBundle(dir: string, extracted: Map<string, number>, pinnedRoot: Buffer, now: Date, work: string, trustedRoot?: Buffer): Promise<VerifiedBundle>;
  /** A signed log checkpoint opened with the log key (LOG_INCONSISTENT otherwise). */
  openCheckpoint(note: string, key: NoteVerifier): Checkpoint;
  /** Why `pem` is not a usable registry CA file, or null. */
  registryCaProblem(pem: string | Buffer): string | null;
  /** `push`: with push rights. */
  registry(ref: OciReference, options?: RegistryOptions, push?: boolean): Registry;
}
