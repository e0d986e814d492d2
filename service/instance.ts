/**
 * A keyshare instance on a data dir: `<data>/keyshare.db`, `<data>/keys/`, `<data>/root.json`
 * and `<data>/admin.token`. init creates them; open loads them for serving.
 */
import { existsSync, readFileSync } from 'node:fs';
import { makePrivateDir, writePrivateFileAtomic } from './util/private-files.js';
import { rootPath } from './util/paths.js';
import { join } from 'node:path';
import { issueToken } from './auth/tokens.js';
import { KeyshareError, Codes } from './errors.js';
import { generateKeys, loadOnlineSigners, loadRootSigners } from './repo/keys.js';
import { DEFAULT_BIN_BITS, DEFAULT_EXPIRY, type ExpiryConfig } from './repo/layout.js';
import { Publisher, type PublishResult } from './repo/publisher.js';
import type { ServedView } from './repo/served.js';
import type { SigstoreRootSource } from './repo/sigstore-root.js';
import { buildRoot, signRoot } from './repo/root.js';
import { metadataBytes, parseMetadata } from './repo/tuf.js';
import { loadSignersForRoot, moveOnlineKeysToToken } from './repo/online-keys.js';
import { verifiedNewerRoot } from './repo/ceremony.js';
import { loadTenantSigners } from './repo/tenants.js';
import { MetadataKind } from '@tufjs/models';
import { FileSigner } from './crypto/signer.js';
import { SqliteStore, databaseKind, dbPath, openStore, storeDatabase, supportedDatabase, type Store } from './store/index.js';
import type { ChangeRecords, CrlRecords, RepositoryRecords, TokenRecords, TrustRecords, UpstreamRecords } from './store/port.js';
import type { HistoryRecords } from './history.js';
import type { RolloutStore } from './rollout.js';
import type { DryRunRecords } from './dry-run.js';
import { TrustService } from './trust-service.js';
import { TenantService } from './tenant-service.js';
import { RootCeremony } from './root-ceremony.js';
import { AnchorBlocks } from './anchor-blocks.js';
import { AuditLog } from './audit/log.js';
import { tokenDigest } from './audit/digest.js';
import { TokenService } from './auth/token-service.js';
import { RevocationJournal, journalPath } from './revocation-journal.js';
import { CaService } from './ca/service.js';
import { PUBLIC_ONLY, type AddressPolicy } from './net/outbound.js';
import { attachLog, type TransparencyLog } from './tlog/log.js';

export interface InitOptions {
  dataDir: string;
  rootKeys?: number;
  rootThreshold?: number;
  binBits?: number;
  expiry?: Partial<ExpiryConfig>;
  clock?: () => Date;
  /** A PKCS#11 token URI: generate the online keys inside it instead of key files. */
  pkcs11?: string;
  /** `--database` (store/open.ts); absent: the embedded database. */
  database?: string | null;
}

export interface InitResult {
  rootPath: string;
  tokenPath: string;
  rootKeyPaths: string[];
}

export { dbPath };
export { rootPath };
export const tokenPath = (dataDir: string) => join(dataDir, 'admin.token');

/**
 * Whether the data dir holds a repository: its root.json, and with the embedded database its
 * keyshare.db. With PostgreSQL the database lives elsewhere and may be shared by replicas whose
 * data dirs are copies of one another: openInstance checks that it holds the same repository.
 */
export function isInitialized(dataDir: string, database?: string | null): boolean {
  if (!existsSync(rootPath(dataDir))) return false;
  return databaseKind(storeDatabase({ dataDir, database })) !== 'embedded' || existsSync(dbPath(dataDir));
}

/** Atomic 0600 file write in the data dir (issue 16, finding 8: service/util/private-files.ts). */
export const writeFileAtomic = writePrivateFileAtomic;

export async function initDataDir(options: InitOptions): Promise<InitResult> {
  const { dataDir } = options;
  const rootKeys = options.rootKeys ?? 1;
  const threshold = options.rootThreshold ?? 1;
  if (!Number.isInteger(rootKeys) || rootKeys < 1 || rootKeys > 32) throw new KeyshareError(Codes.CONFIG_INVALID, '--root-keys must be between 1 and 32');
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > rootKeys) {
    throw new KeyshareError(Codes.CONFIG_INVALID, `--root-threshold must be between 1 and --root-keys (${rootKeys})`);
  }
  if (existsSync(rootPath(dataDir)) || existsSync(dbPath(dataDir)) || existsSync(join(dataDir, 'keys'))) {
    throw new KeyshareError(Codes.ALREADY_INITIALIZED, `${dataDir} already holds a keyshare repository`);
  }
  const database = storeDatabase({ dataDir, database: options.database });
  supportedDatabase(database); // before anything is created
  makePrivateDir(dataDir);
  const store = await openStore({ dataDir, database });
  try {
    // A shared database (PostgreSQL) may hold the repository that another replica's init made: never a second one over it.
    if (await store.latestMetadata('root')) {
      throw new KeyshareError(
        Codes.ALREADY_INITIALIZED,
        `the database already holds a keyshare repository: to run another replica on it, give ${dataDir} a copy of the data dir (keys/, root.json) of the one that initialised it (docs/DEPLOYMENT.md)`,
      );
    }
    const now = (options.clock ?? (() => new Date()))();
    const expiry = { ...DEFAULT_EXPIRY, ...options.expiry };
    const { rootPems, rootPaths } = generateKeys(dataDir, rootKeys);
    const online = options.pkcs11 ? moveOnlineKeysToToken(dataDir, options.pkcs11) : loadOnlineSigners(dataDir);
    const rootSigners = rootPems.map((p) => new FileSigner(p));
    const root = buildRoot({ version: 1, now, lifetimeSeconds: expiry.root, rootKeys: rootSigners.map((s) => s.publicKey), rootThreshold: threshold, online });
    await signRoot(root, rootSigners);
    const rootBytes = metadataBytes(root);
    await store.transaction(async () => {
      await store.setMeta('expiry', JSON.stringify(expiry));
      await store.putRoot({ role: 'root', version: 1, bytes: rootBytes, expires: root.signed.expires }, now.toISOString());
    });
    // Issue 23: the log starts with the first timestamp.
    const log = await attachLog(dataDir, store);
    const publisher = new Publisher(store, online, { expiry, clock: options.clock, logKey: log.verifierKey() });
    await publisher.bootstrap(options.binBits ?? DEFAULT_BIN_BITS);
    const token = issueToken();
    const tokenRec = { id: token.id, hash: token.hash, role: 'admin', scopes: null, expiresAt: null, createdAt: now.toISOString(), revokedAt: null };
    await store.transaction(async () => {
      await store.addToken(tokenRec);
      // The audit chain starts with the admin token that init writes (actor null: init itself).
      await new AuditLog(store, () => now).append({ actor: null, action: 'token.create', outcome: 'ok', target: token.id, after: tokenDigest(tokenRec), details: { role: 'admin', by: 'init' } });
    });
    writeFileAtomic(tokenPath(dataDir), token.token + '\n');
    writeFileAtomic(rootPath(dataDir), rootBytes);
    return { rootPath: rootPath(dataDir), tokenPath: tokenPath(dataDir), rootKeyPaths: rootPaths };
  } finally {
    await store.close();
  }
}

export interface OpenOptions {
  dataDir: string;
  clock?: () => Date;
  onPublished?: (r: PublishResult) => void;
  onPublishError?: (e: unknown) => void;
  /** Metadata lifetimes set in the configuration; they win over those stored at init. */
  expiry?: Partial<ExpiryConfig>;
  /** `--database` (store/open.ts); absent: the embedded database. */
  database?: string | null;
  /** The revocation journal (issue 24); absent: `<data>/revocations.journal`. */
  revocationJournal?: string | null;
  /** A revocation stored but not journalled (default: a line on stderr). */
  onJournalError?: (e: Error) => void;
  /** `serve --sigstore-scope` (issue 19): the target trusted_root.json; absent: left as published. */
  sigstoreRoot?: SigstoreRootSource;
  /**
   * Issue 16, finding 9: the addresses upstream and CRL fetches may reach (service/net/outbound.ts).
   * Default: public addresses only; `--allow-private-upstreams` gives ANY_ADDRESS.
   */
  outbound?: AddressPolicy;
  /** `serve --crl-validity` (issue 18): how long the CRLs the signing authorities sign are valid; absent: 24 h. */
  crlValidityMs?: number;
}

/**
 * The store's records as the handlers take them (issue 22: narrow ports, never the whole store):
 * one port per concern (service/store/ports/), and what one service function reads. Each is the
 * instance's one store, typed narrowly.
 */
export interface InstanceRecords {
  trust: TrustRecords;
  crls: CrlRecords;
  tokens: TokenRecords;
  repository: RepositoryRecords;
  upstreams: UpstreamRecords;
  /** Settings (meta) and the change counter. */
  changes: ChangeRecords;
  history: HistoryRecords;
  rollout: RolloutStore;
  dryRun: DryRunRecords;
}

export interface Instance {
  dataDir: string;
  /** The whole store: for the composition (openInstance, the server); handlers take `records`. */
  store: Store;
  records: InstanceRecords;
  publisher: Publisher;
  /** The repository being served, as /tuf/, the feed and the static copy read it (repo/served.ts). */
  served: ServedView;
  service: TrustService;
  /** Tenants and their delegations (service/tenant-service.ts). */
  tenants: TenantService;
  /** The root signing ceremony (service/root-ceremony.ts). */
  ceremony: RootCeremony;
  /** Local blocks of federated anchors (service/anchor-blocks.ts). */
  blocks: AnchorBlocks;
  /** The hash-chained audit log; it records every change made through the store inside `audit.run`. */
  audit: AuditLog;
  tokens: TokenService;
  /** keyshare's signing authorities and TSA (issue 18). */
  ca: CaService;
  /** The transparency log of published versions (issue 23); absent in test instances built without it. */
  log?: TransparencyLog;
  /** True while root keys are still in the data dir (development only). */
  rootKeysOnline: boolean;
  /** The clock every decision of this instance uses (tests move it). */
  clock?: () => Date;
  /** SQLite's `PRAGMA quick_check` at open: 'ok' or what is damaged (issue 24 row 10); null on PostgreSQL. */
  storeCheck?: string | null;
  /** Roles found damaged at open and re-signed from the stored records (issue 24 row 10). */
  repaired?: string[];
  /** Where upstream and CRL fetches may connect (issue 16, finding 9). */
  outbound: AddressPolicy;
  close(): Promise<void>;
}

export async function openInstance(options: OpenOptions): Promise<Instance> {
  const { dataDir } = options;
  const database = storeDatabase({ dataDir, database: options.database });
  if (!isInitialized(dataDir, database)) throw new KeyshareError(Codes.NOT_INITIALIZED, `${dataDir} is not initialised (run \`keyshare init\`)`);
  const store = await openStore({ dataDir, database });
  let rootRecord: Awaited<ReturnType<Store['latestMetadata']>>;
  try {
    rootRecord = await store.latestMetadata('root');
    // With PostgreSQL the data dir and the database are set up apart: both must hold one repository.
    if (!rootRecord) throw new KeyshareError(Codes.NOT_INITIALIZED, `the database holds no keyshare repository, but ${dataDir} does: run \`keyshare init\` with an empty data dir and this database`);
    // <data>/root.json is the current root (CONTRACT.md): repair it if a root rotation stopped before writing it.
    const file = readFileSync(rootPath(dataDir));
    if (!file.equals(rootRecord.bytes)) {
      const stored = await store.listMetadataVersions('root');
      const newer = verifiedNewerRoot(file, stored);
      if (newer) writeFileAtomic(rootPath(dataDir), newer);
      else if (sameVersion(file, rootRecord.bytes)) {
        // Issue 24 row 10: one root version, two contents: the database's copy or the file is damaged.
        throw new KeyshareError(Codes.STORE_DAMAGED, `root v${rootRecord.version} in the database differs from ${rootPath(dataDir)}: one of them is damaged; restore the database from a backup (docs/DEPLOYMENT.md)`);
      } else if (!stored.some((r) => file.equals(r.bytes))) {
        throw new KeyshareError(Codes.CONFIG_INVALID, `${rootPath(dataDir)} is not a root of the repository in the database: the data dir and the database belong to different repositories`);
      }
    }
  } catch (e) {
    await store.close();
    throw e;
  }
  // Issue 24 row 10: a damaged index is noticed at start (reported in the log and /readyz).
  const storeCheck = store instanceof SqliteStore ? store.quickCheck() : null;
  let log: TransparencyLog;
  try {
    // Issue 23: every publish from here on (repairs included) appends to the log.
    log = await attachLog(dataDir, store);
  } catch (e) {
    await store.close();
    throw e;
  }
  const expiry: ExpiryConfig = { ...DEFAULT_EXPIRY, ...JSON.parse((await store.getMeta('expiry')) ?? '{}'), ...options.expiry };
  // The online keys that the published root names (after a rotation, possibly a staged next key).
  const signers = loadSignersForRoot(dataDir, parseMetadata(MetadataKind.Root, rootRecord.bytes).signed);
  const publisher = new Publisher(store, signers, {
    expiry,
    clock: options.clock,
    onPublished: options.onPublished,
    onError: options.onPublishError,
    logKey: log.verifierKey(),
    ...(options.sigstoreRoot ? { sigstoreRoot: options.sigstoreRoot } : {}),
  });
  await publisher.load();
  for (const [name, signer] of loadTenantSigners(dataDir)) publisher.setTenantSigner(name, signer);
  let repaired: string[];
  try {
    repaired = await publisher.verifyAndRepair();
  } catch (e) {
    await store.close();
    throw e;
  }
  const service = new TrustService(store, publisher, options.clock, new RevocationJournal(journalPath(dataDir, options.revocationJournal), options.clock, options.onJournalError));
  const audit = new AuditLog(store, options.clock).attach();
  const tokens = new TokenService(store, audit, options.clock);
  const ca = new CaService(store, publisher, audit, { dataDir, clock: options.clock, onError: options.onPublishError, crlValidityMs: options.crlValidityMs });
  service.onCertificatesRevoked((added) => ca.afterRevocations(added));
  return {
    dataDir,
    store,
    records: { trust: store, crls: store, tokens: store, repository: store, upstreams: store, changes: store, history: store, rollout: store, dryRun: store },
    publisher,
    served: publisher.served,
    service,
    tenants: new TenantService({ dataDir, store, publisher, tokens }),
    ceremony: new RootCeremony({ dataDir, store, publisher }),
    blocks: new AnchorBlocks(store, publisher),
    audit,
    tokens,
    ca,
    log,
    rootKeysOnline: loadRootSigners(dataDir).length > 0,
    clock: options.clock,
    storeCheck,
    repaired,
    outbound: options.outbound ?? PUBLIC_ONLY,
    async close() {
      publisher.stop();
      await ca.close();
      await publisher.idle();
      await store.close();
    },
  };
}

export { DEFAULT_BIN_BITS };

/** Two roots of the same version naming the same root keys: one repository, so differing bytes mean damage. */
function sameVersion(a: Uint8Array, b: Uint8Array): boolean {
  try {
    const [x, y] = [parseMetadata(MetadataKind.Root, a).signed, parseMetadata(MetadataKind.Root, b).signed];
    const keys = (r: typeof x) => [...(r.roles.root?.keyIDs ?? [])].sort().join();
    return x.version === y.version && keys(x) === keys(y);
  } catch {
    return false;
  }
}
