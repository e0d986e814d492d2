/**
 * The publisher: turns committed changes into a new signed TUF repository version.
 *
 * It reads the dirty scopes, recomputes their trust documents (pure domain code), re-signs
 * only the roles whose content changed (one hashed bin per changed target, including the index
 * shards of service/repo/index-shards.ts, then snapshot and timestamp through
 * service/repo/writer.ts), and commits everything in one store transaction. Nothing is visible until that commit. When idle it publishes at once;
 * changes that arrive during a publish are coalesced into the next one.
 */
import { createHash } from 'node:crypto';
import { DelegatedRole } from '@tufjs/models/dist/role.js';
import { Delegations } from '@tufjs/models/dist/delegations.js';
import { MetaFile, Metadata, MetadataKind, TargetFile, Targets } from '@tufjs/models';
import { DEFAULT_SCOPE, ancestorCandidates, trustTargetPath } from '../domain/scope.js';
import { IndexShards, type IndexChange } from './index-shards.js';
import { binBitsFor, isCurrentBin, regrowBins } from './bins.js';
import { INDEX_MEDIA_TYPE, isShardPath } from '../domain/trust-index.js';
import { nextTargets, signSnapshotAndTimestamp, signedRecord, sortedKeys, targetFile } from './writer.js';
import { crlTargetPath, effectiveTrust, serializeJson, stampTrust } from '../domain/trust.js';
import { parseCrl } from '../crypto/crl.js';
import type { AnchorRecord, ScopeRecord } from '../domain/types.js';
import { CRL_DIRTY_PREFIX, type MetadataRecord, type Store, type TargetRecord, type TrustDocRecord } from '../store/index.js';
import type { Signer } from '../crypto/signer.js';
import type { OnlineSigners } from './keys.js';
import { KeyshareError, Codes, isKeyshareError } from '../errors.js';
import {
  ALL_HASH_PREFIXES,
  BIN_PREFIX,
  INDEX_TARGET,
  TRUST_ROLE,
  binRoles,
  isBinRole,
  lifetimeOf,
  type ExpiryConfig,
} from './layout.js';
import { SPEC_VERSION, expiresAt, parseMetadata, tufKey } from './tuf.js';
import { rekeyMetadata } from './rekey.js';
import { verifyServed } from './verify-served.js';
import { SIGSTORE_TRUSTED_ROOT_TARGET, wantedTrustedRoot, type SigstoreRootSource } from './sigstore-root.js';
import { inDryRun } from '../dry-run.js';
import {
  isTenantBinRole,
  isTenantRole,
  leafRoleFor,
  listTenants,
  targetsLoader,
  tenantAddition,
  tenantOfRole,
  tenantOwning,
  tenantRemoval,
  tenantRole,
  withVersions,
  type TenantRecord,
} from './tenants.js';
import {
  PendingCodes,
  newPendingSet,
  pendingMeta,
  pendingTargets,
  readPending,
  signPendingSet,
  writePending,
  type PendingSet,
  type TenantSignature,
} from './tenant-pending.js';

export interface PublisherOptions {
  expiry: ExpiryConfig;
  clock?: () => Date;
  /** Called after each publish lands (metrics, static copies, notifications). */
  onPublished?: (result: PublishResult) => void;
  onError?: (error: unknown) => void;
  /** `serve --sigstore-scope`: the top-level target trusted_root.json (sigstore-root.ts). Absent: left as published. */
  sigstoreRoot?: SigstoreRootSource;
}

export interface PublishResult {
  timestampVersion: number;
  /** Roles signed by this publish (e.g. ['bin-3f', 'snapshot', 'timestamp']). */
  rolesSigned: string[];
  bytesWritten: number;
  documentsChanged: number;
}

/** One publish as observers see it: result null and no error means there was nothing to publish. */
export interface PublishEvent {
  result: PublishResult | null;
  error?: unknown;
  seconds: number;
}
export type PublishObserver = (event: PublishEvent) => void;

/**
 * Whether this process publishes (issue 11, service/replication.ts): with replicas on one
 * PostgreSQL database only the holder of the publisher lease signs and commits metadata; the
 * others hand their changes to it and serve what it publishes. Alone (SQLite), it always does.
 */
export interface PublishGate {
  leads(): boolean;
  /** A change was committed here while another replica publishes: tell that one. */
  handOff(): void;
  /** The advertised URL of the replica that publishes, if it gave one (`--advertise-url`). */
  publisherUrl?(): string | null;
}

const ALWAYS_LEADS: PublishGate = { leads: () => true, handOff: () => {} };

/** A superseded version stays downloadable this long, for clients in the middle of an update. */
/** How often a tenant publish is built again when another process's publish lands first (exclusiveOnStored). */
const STORED_STATE_ATTEMPTS = 5;

export const GC_GRACE_MS = 60 * 60 * 1000;
const GC_INTERVAL_MS = 5 * 60 * 1000;

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
/** TUF spec 4.2: expires is whole seconds; issuedAt follows the same form. */
const isoSeconds = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

export class Publisher {
  /** The newest signed version of every role: what /tuf/ serves. */
  private latest = new Map<string, MetadataRecord>();
  /** The published scopes and versions, by index shard (set by load). */
  private shards = new IndexShards(1);
  private running: Promise<PublishResult | null> | null = null;
  private pending = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly clock: () => Date;
  /** Keys of service-held tenant roles, by tenant name (service/repo/tenants.ts). Offline tenants have none. */
  private readonly tenantSigners = new Map<string, Signer>();
  private gate: PublishGate = ALWAYS_LEADS;

  constructor(
    private readonly store: Store,
    private signers: OnlineSigners,
    private readonly options: PublisherOptions,
  ) {
    this.clock = options.clock ?? (() => new Date());
  }

  /** Creates targets, the trust delegation, every empty bin, snapshot and timestamp (version 1). */
  async bootstrap(binBits: number): Promise<void> {
    if (await this.store.latestMetadata('timestamp')) throw new KeyshareError(Codes.ALREADY_INITIALIZED, 'the repository is already published');
    const now = this.clock();
    const { targets } = this.signers;
    const bins = binRoles([targets.keyid], binBits);
    const records: MetadataRecord[] = [];
    const add = async (role: string, md: Metadata<Targets>, signer: Signer) => {
      records.push(await signedRecord(role, md, signer));
    };
    const targetsExpiry = expiresAt(now, this.options.expiry.targets);
    const trustRole = new Targets({
      version: 1,
      specVersion: SPEC_VERSION,
      expires: targetsExpiry,
      delegations: new Delegations({ keys: { [targets.keyid]: tufKey(targets.keyid, targets.publicKey) }, succinctRoles: bins }),
    });
    await add(TRUST_ROLE, new Metadata(trustRole), targets);
    // index.json and every (empty) shard; each shard lies in the bin its path hashes to.
    const files = new IndexShards(binBits).allFiles(INDEX_TARGET);
    const indexBytes = files.get(INDEX_TARGET)!;
    files.delete(INDEX_TARGET);
    const inBin = new Map<string, Record<string, TargetFile>>();
    for (const [path, bytes] of files) {
      const bin = bins.getRoleForTarget(path);
      inBin.set(bin, { ...inBin.get(bin), [path]: targetFile(path, bytes) });
    }
    for (const bin of bins.getRoles()) {
      await add(bin, new Metadata(new Targets({ version: 1, specVersion: SPEC_VERSION, expires: targetsExpiry, targets: sortedKeys(inBin.get(bin) ?? {}) })), targets);
    }
    const top = new Targets({
      version: 1,
      specVersion: SPEC_VERSION,
      expires: targetsExpiry,
      targets: { [INDEX_TARGET]: targetFile(INDEX_TARGET, indexBytes) },
      delegations: new Delegations({
        keys: { [targets.keyid]: tufKey(targets.keyid, targets.publicKey) },
        roles: {
          [TRUST_ROLE]: new DelegatedRole({
            name: TRUST_ROLE,
            keyIDs: [targets.keyid],
            threshold: 1,
            terminating: true,
            pathHashPrefixes: ALL_HASH_PREFIXES,
          }),
        },
      }),
    });
    await add('targets', new Metadata(top), targets);
    const meta: Record<string, MetaFile> = {};
    for (const r of records) meta[`${r.role}.json`] = new MetaFile({ version: r.version });
    const rest = await this.signSnapshotAndTimestamp(now, meta, 1, 1);
    await this.store.commitPublish({
      upToSeq: await this.store.changeSeq(),
      docs: [],
      targets: [[INDEX_TARGET, indexBytes] as const, ...files].map(([path, bytes]) => ({ sha256: sha256(bytes), path, bytes })),
      metadata: [...records, ...rest],
      publishedAt: now.toISOString(),
      baseTimestampVersion: 0,
    });
  }

  /** Loads the served state from the store. Call once before serving. */
  async load(): Promise<void> {
    this.latest = new Map((await this.store.latestMetadataAll()).map((r) => [r.role, r]));
    // Another process may have changed anything: the scope list and CA anchors are read again on the next publish.
    this.scopeCache = null;
    this.caCache = null;
    if (!this.latest.has('timestamp') || !this.latest.has('root')) {
      throw new KeyshareError(Codes.NOT_INITIALIZED, 'the repository has not been initialised (run `keyshare init`)');
    }
    const bits = parseMetadata(MetadataKind.Targets, this.latest.get(TRUST_ROLE)!.bytes).signed.delegations?.succinctRoles?.bitLength;
    if (!bits) throw new KeyshareError(Codes.INTERNAL, `the ${TRUST_ROLE} role delegates to no hashed bins`);
    this.shards = new IndexShards(bits, (await this.store.listTrustDocs()).map((d) => [d.scope, d.version] as const));
    this.indexUpgrade = !(await this.servesIndexV2());
    // The setting may differ from the one the served trusted_root.json was published with.
    this.sigstoreRootChecked = false;
    // Another replica may have published a root with new online keys (`key rotate`): this process
    // must not sign with keys that root no longer names (clients would refuse the result).
    const root = parseMetadata(MetadataKind.Root, this.latest.get('root')!.bytes).signed;
    this.staleKeys = (['targets', 'snapshot', 'timestamp'] as const).filter((r) => !root.roles[r]?.keyIDs.includes(this.signers[r].keyid));
    this.servedChanged();
  }

  /** Set once by the server when replicas share a database (service/replication.ts). */
  setGate(gate: PublishGate): void {
    this.gate = gate;
  }

  /** True when this process signs and commits metadata (always, unless a replica that does not hold the lease). */
  leads(): boolean {
    return this.gate.leads();
  }

  /**
   * Issue 11: only the lease holder signs; the others refuse what they cannot hand off (root and
   * tenant publishes, and `key rotate`, whose new key must be in the publisher's data dir).
   */
  requireLead(what: string): void {
    if (this.leads()) return;
    // Issue 24 row 6: name the publisher, so that behind a load balancer the CLI can go there.
    const url = this.gate.publisherUrl?.() ?? null;
    const where = url ? `the publisher is ${url}: retry ${what} with --server ${url}` : `retry ${what} on the replica that holds the publisher lease (keyshare_publisher_leader 1; start replicas with --advertise-url to have it named here)`;
    throw new KeyshareError(Codes.NOT_PUBLISHER, `this replica does not publish; ${where}`, { details: { publisherUrl: url } });
  }

  /** Online roles whose key this process holds is not the one the served root names (see load). */
  private staleKeys: string[] = [];

  /**
   * True when the served index.json is not index v2 (a repository published before issue 17):
   * the next publish writes index.json and every shard, re-signing every bin once.
   */
  private indexUpgrade = false;

  /** False until a publish compared trusted_root.json with the sigstore scope's served document (sigstore-root.ts). */
  private sigstoreRootChecked = false;

  private sigstoreRootDue(): boolean {
    return this.options.sigstoreRoot !== undefined && !this.sigstoreRootChecked;
  }

  /**
   * trusted_root.json's change in this publish (empty: none): built from the sigstore scope's
   * document as the publish leaves it, when that document changes here or a check is due.
   */
  private async sigstoreRootChange(targetChanges: ReadonlyMap<string, Buffer | null>, load: (role: string) => Targets | undefined): Promise<Map<string, Buffer | null>> {
    const source = this.options.sigstoreRoot;
    if (!source) return new Map();
    const docPath = source.scope === null ? null : trustTargetPath(source.scope);
    if (!this.sigstoreRootDue() && (docPath === null || !targetChanges.has(docPath))) return new Map();
    const doc = docPath === null ? null : targetChanges.has(docPath) ? targetChanges.get(docPath)! : await this.servedTarget(docPath, load);
    const wanted = await wantedTrustedRoot(source, doc, this.options.onError);
    const served = load('targets')!.targets[SIGSTORE_TRUSTED_ROOT_TARGET];
    const same = wanted === null ? served === undefined : served?.length === wanted.length && served.hashes.sha256 === sha256(wanted);
    return same ? new Map() : new Map([[SIGSTORE_TRUSTED_ROOT_TARGET, wanted]]);
  }

  /** The bytes of a target as served (found through the delegations, as a client would), or null. */
  private async servedTarget(path: string, load: (role: string) => Targets | undefined): Promise<Buffer | null> {
    const role = leafRoleFor(path, load);
    const digest = role ? load(role)?.targets[path]?.hashes.sha256 : undefined;
    return digest ? ((await this.store.getTarget(digest, path))?.bytes ?? null) : null;
  }

  private async servesIndexV2(): Promise<boolean> {
    const info = parseMetadata(MetadataKind.Targets, this.latest.get('targets')!.bytes).signed.targets[INDEX_TARGET];
    const bytes = info?.hashes.sha256 ? (await this.store.getTarget(info.hashes.sha256, INDEX_TARGET))?.bytes : undefined;
    if (!bytes) return false;
    try {
      return (JSON.parse(Buffer.from(bytes).toString('utf8')) as { mediaType?: unknown }).mediaType === INDEX_MEDIA_TYPE;
    } catch {
      return false;
    }
  }

  latestMetadata(role: string): MetadataRecord | undefined {
    return this.latest.get(role);
  }

  /** The key of a service-held tenant's role and bins. */
  setTenantSigner(tenant: string, signer: Signer): void {
    this.tenantSigners.set(tenant, signer);
  }

  /** Who signs a targets-type role: the tenant's key for a tenant's role and bins, else the targets key; null when offline. */
  private signerFor(role: string): Signer | null {
    const tenant = tenantOfRole(role);
    return tenant === null ? this.signers.targets : (this.tenantSigners.get(tenant) ?? null);
  }


  /** Told whenever the served repository changes: a publish, a root publish, or a (re)load of the stored one. */
  private readonly servedListeners = new Set<() => void>();

  onServedChange(listener: () => void): () => void {
    this.servedListeners.add(listener);
    return () => this.servedListeners.delete(listener);
  }

  private servedChanged(): void {
    for (const l of this.servedListeners) {
      try {
        l();
      } catch {
        // a listener never breaks a publish
      }
    }
  }

  /** Publishes pending changes now, or after the publish in flight (coalescing). */
  notify(): Promise<PublishResult | null> {
    // A dry run rolls its write back: there is nothing to publish (service/dry-run.ts).
    if (inDryRun()) return Promise.resolve(null);
    if (!this.leads()) {
      // A replica that does not hold the lease never signs: the leader publishes the change.
      this.gate.handOff();
      return Promise.resolve(null);
    }
    if (this.running) {
      this.pending = true;
      return this.running.then(() => this.running ?? this.notify());
    }
    this.running = this.observed(() => this.publish())
      .catch((e) => {
        this.options.onError?.(e);
        return null;
      })
      .finally(() => {
        this.running = null;
        if (this.pending) {
          this.pending = false;
          void this.notify();
        }
      });
    return this.running;
  }

  /** Observers of every publish (metrics): its result or error, and how long it took. */
  private readonly observers = new Set<PublishObserver>();

  observe(observer: PublishObserver): () => void {
    this.observers.add(observer);
    return () => this.observers.delete(observer);
  }

  /** The outcome of the last publish run: when one last succeeded (a no-op included), and the error of the last if it failed. */
  private health: { lastSuccessAt: Date | null; lastError: unknown } = { lastSuccessAt: null, lastError: null };

  /** Issue 24 row 4: what /readyz, /metrics and write responses say about publishing. */
  publishHealth(): { lastSuccessAt: Date | null; lastError: { code: string; message: string } | null } {
    const e = this.health.lastError;
    if (e === null) return { lastSuccessAt: this.health.lastSuccessAt, lastError: null };
    return {
      lastSuccessAt: this.health.lastSuccessAt,
      lastError: e instanceof KeyshareError ? { code: e.code, message: e.message } : { code: Codes.INTERNAL, message: 'publish failed (see the log)' },
    };
  }

  /**
   * Whether this process holds the online keys that the served root names (issue 24 row 4): a
   * replica that cannot sign does not take, or keep, the publisher lease, and is not ready.
   */
  canSign(): boolean {
    return this.staleKeys.length === 0;
  }

  /** The online roles whose key here is not the one the served root names. */
  staleKeyRoles(): readonly string[] {
    return this.staleKeys;
  }

  /** Every served role with its version and expiry (root, timestamp, snapshot, targets, delegated roles). */
  servedRoles(): { role: string; version: number; expires: string }[] {
    return [...this.latest.values()].map((m) => ({ role: m.role, version: m.version, expires: m.expires }));
  }

  private async observed(run: () => Promise<PublishResult | null>): Promise<PublishResult | null> {
    const started = performance.now();
    const tell = (event: PublishEvent) => {
      this.health = event.error === undefined ? { lastSuccessAt: this.clock(), lastError: null } : { ...this.health, lastError: event.error };
      for (const o of this.observers) {
        try {
          o(event);
        } catch {
          // an observer never breaks a publish
        }
      }
    };
    try {
      const result = await run();
      tell({ result, seconds: (performance.now() - started) / 1000 });
      return result;
    } catch (error) {
      tell({ result: null, error, seconds: (performance.now() - started) / 1000 });
      throw error;
    }
  }

  /** Waits until everything committed so far is published. */
  async flush(): Promise<void> {
    for (let i = 0; i < 100 && (this.running || (await this.store.listDirty()).length > 0); i++) {
      this.onlyHeld = false;
      await (this.running ?? this.notify());
      // The dirty marks left wait for an offline tenant's signature.
      if (this.onlyHeld && !this.running) return;
    }
  }

  /** Set by a publish that found only changes waiting for an offline tenant's signature. */
  private onlyHeld = false;

  /** Re-signs roles before they expire: checks every `intervalMs`. */
  start(intervalMs = 30_000, watchMs = 2_000): void {
    this.stop();
    this.timer = setInterval(() => {
      if (this.leads()) void this.notify();
    }, intervalMs);
    this.timer.unref();
    // Writes by other processes on the same data dir (`keyshare bundle import` commits trust,
    // `keyshare bundle export` publishes a version): a cheap check picks them up within seconds.
    this.watcher = setInterval(() => {
      // A failed check (e.g. the database busy) is reported, never an unhandled rejection; the next tick tries again.
      void this.checkExternalWrites().catch((e) => this.options.onError?.(e));
    }, watchMs);
    this.watcher.unref();
  }

  private watcher: NodeJS.Timeout | null = null;
  private seenSeq = -1;

  /** Reloads when another process published; publishes what another process committed. Cheap: two indexed reads. */
  async checkExternalWrites(): Promise<void> {
    if (this.running) return;
    const moved = (await this.store.latestMetadata('timestamp'))?.version !== this.latest.get('timestamp')?.version;
    const seq = await this.store.changeSeq();
    if (this.running) return;
    if (!this.leads()) {
      // A replica that does not publish serves what the leader published (issue 11).
      if (moved) await this.exclusive(() => this.load());
      return;
    }
    // publish() reloads what another process published, serialised with this process's publishes.
    if (moved || seq !== this.seenSeq) {
      this.seenSeq = seq;
      void this.notify();
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.watcher) clearInterval(this.watcher);
    this.watcher = null;
  }

  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /**
   * Publishes root N+1 (already checked against both thresholds, TUF spec 5.3.4) and, when it
   * names new online keys, switches to `signers` and re-signs every role a rotated key signs,
   * in the same commit (TUF spec 5.3.11: clients then drop cached timestamp and snapshot and
   * recover). Runs between publishes, never during one.
   */
  async publishRoot(root: MetadataRecord, signers: OnlineSigners): Promise<PublishResult> {
    this.requireLead('the root publish');
    while (this.running) await this.running;
    const task = (async () => {
      // Two publishes of the same proposal: only the first lands.
      const current = this.latest.get('root')!.version;
      if (root.version !== current + 1) throw new KeyshareError(Codes.CONFLICT, `root v${root.version} cannot follow root v${current}`);
      const now = this.clock();
      const base = this.latest.get('timestamp')!;
      const resigned = await rekeyMetadata({
        latest: this.latest,
        nextRoot: parseMetadata(MetadataKind.Root, root.bytes).signed,
        signers,
        now,
        expiry: this.options.expiry,
      });
      const metadata = [root, ...resigned];
      // upToSeq 0: consumes no dirty marks; pending changes go out in the next publish.
      await this.store.commitPublish({ upToSeq: 0, docs: [], targets: [], metadata, publishedAt: now.toISOString(), baseTimestampVersion: base.version });
      this.signers = signers;
      for (const m of metadata) this.latest.set(m.role, m);
      const result: PublishResult = {
        timestampVersion: this.latest.get('timestamp')!.version,
        rolesSigned: metadata.map((m) => m.role),
        bytesWritten: metadata.reduce((n, m) => n + m.bytes.length, 0),
        documentsChanged: 0,
      };
      this.options.onPublished?.(result);
      this.servedChanged();
      return result;
    })();
    this.running = task
      .catch(() => null)
      .finally(() => {
        this.running = null;
        if (this.pending) {
          this.pending = false;
          void this.notify();
        }
      });
    return task;
  }

  /**
   * Publishes a service-held tenant (service/repo/tenants.ts): its delegation in targets, its
   * role and bins signed by `signer`, and its scopes' documents moved out of the service's bins.
   * `persist` runs in the same transaction (the tenant's definition). Runs between publishes.
   */
  async publishTenant(tenant: TenantRecord, signer: Signer, persist: () => Promise<void>): Promise<PublishResult> {
    this.requireLead('the tenant');
    return this.exclusiveOnStored(async () => {
      const now = this.clock();
      const base = this.latest.get('timestamp')!;
      const { metadata } = await tenantAddition({ latest: this.latest, tenant, tenantSigner: signer, targetsSigner: this.signers.targets, now, expiry: this.options.expiry });
      const oldSnapshot = parseMetadata(MetadataKind.Snapshot, this.latest.get('snapshot')!.bytes).signed;
      metadata.push(...(await this.signSnapshotAndTimestamp(now, withVersions(oldSnapshot.meta, metadata), oldSnapshot.version + 1, base.version + 1)));
      await this.store.transaction(async () => {
        await persist();
        // upToSeq 0: consumes no dirty marks; pending changes go out in the next publish.
        await this.store.commitPublish({ upToSeq: 0, docs: [], targets: [], metadata, publishedAt: now.toISOString(), baseTimestampVersion: base.version });
      });
      this.tenantSigners.set(tenant.name, signer);
      return this.landed(metadata);
    });
  }

  /**
   * An offline tenant (service/repo/tenant-pending.ts): its definition is saved (`persist`) with
   * its first role and bins, unsigned, as a pending set. Its delegation is published only with
   * the tenant's signatures (`publishTenantSignatures`).
   */
  async stageTenant(tenant: TenantRecord, persist: () => Promise<void>): Promise<PendingSet> {
    return this.exclusiveOnStored(async () => {
      const set = await this.additionSet(tenant, this.clock());
      await this.store.transaction(async () => {
        await persist();
        await this.store.setMeta(...pendingMeta(tenant.name, set));
      });
      return set;
    });
  }

  /** An offline tenant's first roles, built from the served repository. */
  private async additionSet(tenant: TenantRecord, now: Date): Promise<PendingSet> {
    const { unsigned } = await tenantAddition({ latest: this.latest, tenant, tenantSigner: null, targetsSigner: this.signers.targets, now, expiry: this.options.expiry });
    return newPendingSet({ tenant: tenant.name, kind: 'add', basis: '', roles: unsigned, now });
  }

  /**
   * Publishes an offline tenant's pending set with the tenant's signatures (checked by
   * signPendingSet), with snapshot and timestamp, in one commit. A set that no longer matches the
   * served repository is refused (STALE_SIGNING_REQUEST) and rebuilt for the tenant to sign again.
   */
  async publishTenantSignatures(tenant: TenantRecord, id: string, signatures: readonly TenantSignature[]): Promise<PublishResult> {
    return this.exclusive(async () => {
      await this.reloadIfMoved();
      const now = this.clock();
      const pending = await readPending(this.store, tenant.name);
      if (!pending) throw new KeyshareError(PendingCodes.NOTHING_TO_SIGN, `tenant ${tenant.name} has nothing to sign`);
      const stale = (why: string) => new KeyshareError(PendingCodes.STALE_SIGNING_REQUEST, `${why}: fetch tenant ${tenant.name}'s pending roles again and sign them`);
      if (pending.id !== id) throw stale(`the pending set is ${pending.id.slice(0, 12)}, not ${id.slice(0, 12)}`);
      const signed = signPendingSet(pending, tenant, signatures);
      if (pending.roles.some((r) => Date.parse(String(r.signed.expires)) <= now.getTime())) {
        await writePending(this.store, tenant.name, pending.kind === 'add' ? await this.additionSet(tenant, now) : null);
        if (pending.kind === 'update') void this.notify();
        throw stale('the pending roles have expired');
      }
      const base = this.latest.get('timestamp')!;
      let metadata: MetadataRecord[] = signed;
      let docs: TrustDocRecord[] = [];
      const targetRecords = pendingTargets(pending);
      if (pending.kind === 'add') {
        // Rebuilt from the served repository: the same roles, or trust changed since they were staged.
        const addition = await tenantAddition({ latest: this.latest, tenant, tenantSigner: null, targetsSigner: this.signers.targets, now, expiry: this.options.expiry, tenantExpires: String(pending.roles[0]!.signed.expires) });
        const rebuilt = newPendingSet({ tenant: tenant.name, kind: 'add', basis: '', roles: addition.unsigned, now });
        if (rebuilt.id !== pending.id) {
          await writePending(this.store, tenant.name, rebuilt);
          throw stale('trust in the tenant\'s scopes changed since its roles were staged');
        }
        metadata = [...addition.metadata, ...signed];
      } else {
        // TUF spec 5.5.5: a role's version never goes down; each must follow the one clients have.
        const behind = pending.roles.find((r) => (this.latest.get(r.role)?.version ?? 0) !== r.version - 1);
        if (behind) {
          void this.notify(); // the next publish rebuilds the set on the served versions
          throw stale(`${behind.role} v${behind.version} does not follow the served version`);
        }
        docs = pending.docs;
        // The documents' index shards lie in the service's bins (index-shards.ts).
        const shards = this.shards.changedShards(docs);
        for (const [path, bytes] of shards) targetRecords.push({ sha256: sha256(bytes), path, bytes });
        const load = targetsLoader(this.latest);
        const expires = expiresAt(now, this.options.expiry.targets);
        metadata = [...signed];
        for (const [bin, changes] of groupByRole(shards, load)) metadata.push(await signedRecord(bin, new Metadata(nextTargets(load(bin)!, expires, changes)), this.signerFor(bin)!));
      }
      const oldSnapshot = parseMetadata(MetadataKind.Snapshot, this.latest.get('snapshot')!.bytes).signed;
      metadata.push(...(await this.signSnapshotAndTimestamp(now, withVersions(oldSnapshot.meta, metadata), oldSnapshot.version + 1, base.version + 1)));
      await this.store.transaction(async () => {
        // upToSeq 0: the dirty marks stay; the next publish finds these documents published and drops them.
        await this.store.commitPublish({ upToSeq: 0, docs, targets: targetRecords, metadata, publishedAt: now.toISOString(), baseTimestampVersion: base.version });
        await this.store.setMeta(...pendingMeta(tenant.name, null));
      });
      this.shards.apply(docs);
      const result = this.landed(metadata);
      // The sigstore scope's document may be among those the tenant signed: the next publish checks trusted_root.json.
      this.sigstoreRootChecked = false;
      void this.notify();
      return { ...result, documentsChanged: docs.length };
    });
  }

  /**
   * Removes a tenant: its delegation leaves targets and its scopes' documents go back into the
   * service's bins (tenantRemoval), with snapshot and timestamp, in one commit with `persist`.
   * Changes that waited for an offline tenant's signature follow in the next publish.
   */
  async removeTenant(tenant: TenantRecord, persist: () => Promise<void>): Promise<PublishResult | null> {
    return this.exclusiveOnStored(async () => {
      const now = this.clock();
      const base = this.latest.get('timestamp')!;
      const metadata = await tenantRemoval({ latest: this.latest, tenant, targetsSigner: this.signers.targets, now, expiry: this.options.expiry });
      if (metadata.length > 0) {
        const oldSnapshot = parseMetadata(MetadataKind.Snapshot, this.latest.get('snapshot')!.bytes).signed;
        metadata.push(...(await this.signSnapshotAndTimestamp(now, withVersions(oldSnapshot.meta, metadata), oldSnapshot.version + 1, base.version + 1)));
      }
      await this.store.transaction(async () => {
        await persist();
        await this.store.setMeta(...pendingMeta(tenant.name, null));
        if (metadata.length > 0) await this.store.commitPublish({ upToSeq: 0, docs: [], targets: [], metadata, publishedAt: now.toISOString(), baseTimestampVersion: base.version });
      });
      this.tenantSigners.delete(tenant.name);
      const result = metadata.length > 0 ? this.landed(metadata) : null;
      void this.notify();
      return result;
    });
  }

  /** Reloads the served state when another process published since this one last loaded (e.g. `keyshare bundle export`). */
  private async reloadIfMoved(): Promise<void> {
    if ((await this.store.latestMetadata('timestamp'))?.version !== this.latest.get('timestamp')?.version) await this.load();
  }

  /**
   * `exclusive`, for a publish that builds on `this.latest` (tenant add and remove): it excludes
   * this process's publishes, but not another process's on the same database (`keyshare bundle
   * export` commits a version of its own, and this process sees it only at its next check). So
   * the task starts from the stored state, and when another process's publish lands between its
   * read and its commit (commitPublish: CONFLICT, the transaction rolled back), it is built again
   * on the new state, a few times, rather than failing a caller that raced with nothing of its own.
   */
  private async exclusiveOnStored<T>(task: () => Promise<T>): Promise<T> {
    return this.exclusive(async () => {
      for (let attempt = 1; ; attempt++) {
        await this.reloadIfMoved();
        const base = this.latest.get('timestamp')?.version;
        try {
          return await task();
        } catch (e) {
          const moved = isKeyshareError(e) && e.code === Codes.CONFLICT && (await this.store.latestMetadata('timestamp'))?.version !== base;
          if (!moved || attempt >= STORED_STATE_ATTEMPTS) throw e;
        }
      }
    });
  }

  /** Runs `task` between publishes, never during one (as publishRoot does); a publish asked for meanwhile runs after it. */
  private async exclusive<T>(task: () => Promise<T>): Promise<T> {
    while (this.running) await this.running;
    const run = task();
    this.running = run
      .then(
        () => null,
        () => null,
      )
      .finally(() => {
        this.running = null;
        if (this.pending) {
          this.pending = false;
          void this.notify();
        }
      });
    return run;
  }

  /** Serves committed metadata and tells observers. */
  private landed(metadata: MetadataRecord[]): PublishResult {
    for (const m of metadata) this.latest.set(m.role, m);
    const result: PublishResult = {
      timestampVersion: this.latest.get('timestamp')!.version,
      rolesSigned: metadata.map((m) => m.role),
      bytesWritten: metadata.reduce((n, m) => n + m.bytes.length, 0),
      documentsChanged: 0,
    };
    this.options.onPublished?.(result);
    this.servedChanged();
    return result;
  }

  /** Roles the next publish re-signs whatever their expiry (verifyAndRepair). */
  private forced = new Set<string>();

  /**
   * Issue 24 row 10, at start and before serving: verifies the served repository the way a client
   * would (verify-served.ts). Damaged roles are re-signed, as new versions, when their content
   * agrees with the stored records (target files, the versions snapshot lists); otherwise, or
   * when the root itself fails, STORE_DAMAGED. Returns the roles re-signed.
   */
  async verifyAndRepair(): Promise<string[]> {
    const faults = verifyServed(this.latest);
    if (faults.length === 0) return [];
    const found = faults.map((f) => `${f.role}: ${f.problem}`).slice(0, 10).join('; ');
    const damaged = (why: string) =>
      new KeyshareError(Codes.STORE_DAMAGED, `the stored repository does not verify with its own root (${found})${why}; restore the database from a backup (docs/DEPLOYMENT.md)`);
    const roles = new Set(faults.map((f) => f.role));
    if (roles.has('root')) throw damaged('');
    if (!this.canSign()) throw damaged(': this process cannot re-sign it (its online keys are not the ones the root names)');
    for (const role of roles) if (!(await this.resignable(role))) throw damaged(`: ${role} cannot be re-signed from the stored records`);
    this.forced = new Set([...roles, 'snapshot', 'timestamp']);
    try {
      await this.publish();
    } catch {
      // another replica repaired it first (CONFLICT): serve what it stored
      await this.load();
    } finally {
      this.forced = new Set();
    }
    const left = verifyServed(this.latest);
    if (left.length > 0) throw damaged(`; re-signing left: ${left.map((f) => `${f.role}: ${f.problem}`).join('; ')}`);
    return [...roles];
  }

  /** Whether a damaged role's content agrees with the records it is built from (verifyAndRepair). */
  private async resignable(role: string): Promise<boolean> {
    const rec = this.latest.get(role);
    if (!rec) return false;
    try {
      if (role === 'timestamp') return true;
      if (role === 'snapshot') {
        const meta = parseMetadata(MetadataKind.Snapshot, rec.bytes).signed.meta;
        return Object.entries(meta).every(([file, m]) => this.latest.get(file.replace(/\.json$/, ''))?.version === m.version);
      }
      if (!this.signerFor(role)) return false;
      const targets = parseMetadata(MetadataKind.Targets, rec.bytes).signed.targets;
      for (const [path, t] of Object.entries(targets)) {
        const stored = await this.store.getTarget(t.hashes.sha256 ?? '', path);
        if (!stored || stored.bytes.length !== t.length || sha256(stored.bytes) !== t.hashes.sha256) return false;
      }
      return true;
    } catch {
      return false;
    }
  }

  /** Roles past half their lifetime: re-sign them so clients never see expired metadata. */
  private expiringRoles(now: Date): Set<string> {
    const out = new Set<string>(this.forced);
    for (const [role, rec] of this.latest) {
      if (role === 'root') continue;
      // Bins from before they grew (bins.ts) are no longer delegated: clients never load them, and they just expire.
      if (isBinRole(role) && !isCurrentBin(role, this.shards.bitLength)) continue;
      const left = (Date.parse(rec.expires) - now.getTime()) / 1000;
      if (left < lifetimeOf(role, this.options.expiry) / 2) out.add(role);
    }
    return out;
  }

  /** One publish. Returns null when there was nothing to do. */
  async publish(): Promise<PublishResult | null> {
    // Another process may have published (`keyshare bundle export`): build on what is stored.
    if ((await this.store.latestMetadata('timestamp'))?.version !== this.latest.get('timestamp')?.version) await this.load();
    if (this.staleKeys.length > 0) {
      throw new KeyshareError(
        'ONLINE_KEYS_STALE',
        `root v${this.latest.get('root')!.version} names other ${this.staleKeys.join(', ')} keys than this process holds: copy keys/ from the replica that published it, and restart`,
      );
    }
    const now = this.clock();
    // Read first: whatever is written from here on has a greater seq and stays dirty for the next publish.
    const upToSeq = await this.store.changeSeq();
    const dirty = await this.store.listDirty();
    const expiring = this.expiringRoles(now);
    const tenants = await listTenants(this.store);
    // Roles only an offline tenant can sign are staged for it (stageOffline), not re-signed here;
    // a removed tenant's roles are no longer delegated, and simply expire.
    const offlineExpiring = new Set<string>();
    for (const role of expiring) {
      if (this.signerFor(role)) continue;
      expiring.delete(role);
      if (tenants.some((t) => t.name === tenantOfRole(role))) offlineExpiring.add(role);
    }
    if (dirty.length === 0 && expiring.size === 0 && !this.indexUpgrade && !this.sigstoreRootDue()) {
      await this.stageOffline(tenants, new Map(), [], offlineExpiring, now);
      return null;
    }
    const baseTimestamp = this.latest.get('timestamp')!;

    // Dirty keys are scopes, except `crl:<issuer>`, which marks a CRL target (published byte for byte).
    const dirtyScopes = dirty.map((d) => d.scope).filter((k) => !k.startsWith(CRL_DIRTY_PREFIX));
    const { docs, targetChanges } = await this.recomputeDocuments(dirtyScopes, now);
    for (const d of dirty) {
      if (!d.scope.startsWith(CRL_DIRTY_PREFIX)) continue;
      const crl = await this.store.getCrl(d.scope.slice(CRL_DIRTY_PREFIX.length));
      if (crl) targetChanges.set(crlTargetPath(crl.issuer), Buffer.from(crl.der));
    }
    // Group target changes by the bin a client finds them in (TUF spec 5.6.7: the same walk of the
    // delegations; a tenant's paths are in the tenant's bins, service/repo/tenants.ts).
    const load = targetsLoader(this.latest);
    const byBin = groupByRole(targetChanges, load);
    // An offline tenant signs its own bins (`keyshare tenant sign`): its changes wait in a pending
    // set, and the dirty marks that led to them stay, so that the next publish recomputes them.
    const keepDirty = new Set<string>();
    const held = new Map<string, Map<string, Buffer | null>>();
    for (const [bin, changes] of byBin) {
      if (this.signerFor(bin)) continue;
      held.set(bin, changes);
      byBin.delete(bin);
      for (const path of changes.keys()) targetChanges.delete(path);
    }
    const heldDocs: TrustDocRecord[] = [];
    for (let i = docs.length - 1; i >= 0; i--) {
      const d = docs[i]!;
      if (targetChanges.has(trustTargetPath(d.scope))) continue;
      heldDocs.push(...docs.splice(i, 1));
      const causes = new Set([d.scope, ...ancestorCandidates(d.scope)]);
      for (const k of dirty) if (causes.has(k.scope)) keepDirty.add(k.scope);
    }
    await this.stageOffline(tenants, held, heldDocs, offlineExpiring, now);
    // Top-level targets besides index.json: trusted_root.json (serve --sigstore-scope).
    const topChanges = await this.sigstoreRootChange(targetChanges, load);
    if (this.options.sigstoreRoot && dirty.length === 0 && expiring.size === 0 && !this.indexUpgrade && topChanges.size === 0) {
      // Only the trusted_root.json check was due, and it is as published.
      this.sigstoreRootChecked = true;
      return null;
    }
    if (held.size > 0 && docs.length === 0 && targetChanges.size === 0 && expiring.size === 0 && !this.indexUpgrade && topChanges.size === 0) {
      this.onlyHeld = true;
      return null;
    }
    // The index shards of the published documents, in the service's bins (issue 17: a change
    // rewrites its own shard, never every scope). index.json changes only with the bins.
    const bits = Math.max(this.shards.bitLength, binBitsFor(this.shards.sizeAfter(docs)));
    const { shards, header, next } = this.indexFiles(docs, bits);
    const metadata: MetadataRecord[] = [];
    const targetsExpiry = expiresAt(now, this.options.expiry.targets);
    const grown = bits > this.shards.bitLength;
    if (grown) {
      // More scopes than the bins hold well (bins.ts): the service's bins are laid out again.
      const changes = new Map<string, Buffer | null>(shards);
      for (const [bin, binChanges] of byBin) {
        if (!isBinRole(bin)) continue;
        for (const [path, bytes] of binChanges) changes.set(path, bytes);
        byBin.delete(bin);
      }
      const regrown = await regrowBins({ load, versionOf: (r) => this.latest.get(r)?.version ?? 0, bits, signer: this.signers.targets, expires: targetsExpiry, changes, drop: isShardPath });
      metadata.push(...regrown.metadata);
    } else {
      for (const [bin, changes] of groupByRole(shards, load)) {
        if (!byBin.has(bin)) byBin.set(bin, new Map());
        for (const [path, bytes] of changes) byBin.get(bin)!.set(path, bytes);
      }
    }
    const targetRecords: TargetRecord[] = [];
    if (header) topChanges.set(INDEX_TARGET, header);
    for (const [path, bytes] of [...targetChanges, ...shards, ...topChanges]) {
      if (bytes) targetRecords.push({ sha256: sha256(bytes), path, bytes });
    }

    // Re-sign each touched bin once (TAP 15), and bins about to expire (all of the service's were, when they grew).
    const resigned = (role: string) => grown && (isBinRole(role) || role === TRUST_ROLE);
    for (const role of expiring) if ((isBinRole(role) || isTenantBinRole(role)) && this.signerFor(role) && !byBin.has(role) && !resigned(role)) byBin.set(role, new Map());

    const resign = async (role: string, build: (old: Targets) => Targets) => {
      metadata.push(await signedRecord(role, new Metadata(build(load(role)!)), this.signerFor(role)!));
    };
    for (const [bin, changes] of byBin) await resign(bin, (old) => nextTargets(old, targetsExpiry, changes));
    for (const role of [TRUST_ROLE, ...[...expiring].filter(isTenantRole)]) {
      if (!expiring.has(role) || !this.signerFor(role) || resigned(role)) continue;
      await resign(role, (old) => nextTargets(old, targetsExpiry));
    }
    if (topChanges.size > 0 || expiring.has('targets')) {
      await resign('targets', (old) => nextTargets(old, targetsExpiry, topChanges));
    }

    const oldSnapshot = parseMetadata(MetadataKind.Snapshot, this.latest.get('snapshot')!.bytes).signed;
    const meta: Record<string, MetaFile> = { ...oldSnapshot.meta };
    for (const m of metadata) meta[`${m.role}.json`] = new MetaFile({ version: m.version });
    const rest = await this.signSnapshotAndTimestamp(now, meta, oldSnapshot.version + 1, baseTimestamp.version + 1);
    metadata.push(...rest);

    await this.store.commitPublish({
      upToSeq,
      docs,
      targets: targetRecords,
      metadata,
      publishedAt: now.toISOString(),
      baseTimestampVersion: baseTimestamp.version,
      keepDirty: [...keepDirty],
    });
    // Only after the commit: serve the new version.
    for (const m of metadata) this.latest.set(m.role, m);
    if (next) this.shards = next;
    else this.shards.apply(docs);
    this.indexUpgrade = false;
    this.sigstoreRootChecked = true;
    const result: PublishResult = {
      timestampVersion: baseTimestamp.version + 1,
      rolesSigned: metadata.map((m) => m.role),
      bytesWritten: metadata.reduce((n, m) => n + m.bytes.length, 0) + targetRecords.reduce((n, t) => n + t.bytes.length, 0),
      documentsChanged: docs.length,
    };
    await this.collectGarbage(now);
    await this.restageAdditions(tenants, docs, now);
    this.options.onPublished?.(result);
    this.servedChanged();
    return result;
  }

  /**
   * The index files a publish of `docs` writes: the shards they touch; or, when the served
   * index is v1 (see indexUpgrade) or the bins grow to `bits`, index.json and every shard. The upgrade is one publish, and
   * clients of either index version read the result (service/domain/trust-index.ts).
   */
  private indexFiles(docs: readonly IndexChange[], bits: number): { shards: Map<string, Buffer>; header: Buffer | null; next: IndexShards | null } {
    if (!this.indexUpgrade && bits === this.shards.bitLength) return { shards: this.shards.changedShards(docs), header: null, next: null };
    const next = new IndexShards(bits, this.shards.entries());
    next.apply(docs);
    const shards = next.allFiles(INDEX_TARGET);
    const header = shards.get(INDEX_TARGET)!;
    shards.delete(INDEX_TARGET);
    return { shards, header, next };
  }

  /** Tenants whose delegation is in the served targets. */
  private publishedTenants(): Set<string> {
    const top = parseMetadata(MetadataKind.Targets, this.latest.get('targets')!.bytes).signed;
    return new Set(Object.keys(top.delegations?.roles ?? {}));
  }

  /**
   * Keeps each published offline tenant's pending set in step with what waits for it: the held
   * changes in its bins (with their documents) and its roles past half their lifetime. The same
   * basis keeps the set (and its id); a new one rebuilds it; nothing waiting clears it.
   */
  private async stageOffline(
    tenants: readonly TenantRecord[],
    held: ReadonlyMap<string, ReadonlyMap<string, Buffer | null>>,
    heldDocs: readonly TrustDocRecord[],
    expiring: ReadonlySet<string>,
    now: Date,
  ): Promise<void> {
    const offline = tenants.filter((t) => t.offline);
    if (offline.length === 0) return;
    const published = this.publishedTenants();
    const expires = expiresAt(now, this.options.expiry.targets);
    for (const t of offline) {
      if (!published.has(tenantRole(t.name))) continue; // its first roles are pending instead (stageTenant)
      const mine = (role: string) => tenantOfRole(role) === t.name;
      const bins = [...held].filter(([bin]) => mine(bin));
      const roles = [...new Set([...bins.map(([bin]) => bin), ...[...expiring].filter(mine)])].sort();
      const current = await readPending(this.store, t.name);
      if (roles.length === 0) {
        if (current) await writePending(this.store, t.name, null);
        continue;
      }
      const paths = new Set(bins.flatMap(([, changes]) => [...changes.keys()]));
      const docs = heldDocs.filter((d) => paths.has(trustTargetPath(d.scope)));
      // The served versions too: a set built on versions since replaced is rebuilt.
      const basis = JSON.stringify({ roles: roles.map((r) => `${r} ${this.latest.get(r)!.version}`), docs: docs.map((d) => `${d.scope} ${d.version} ${d.digest} ${d.deleted}`).sort() });
      if (current?.basis === basis) continue;
      const changesOf = new Map(bins);
      const unsigned = new Map<string, Metadata<Targets>>();
      for (const role of roles) {
        const old = parseMetadata(MetadataKind.Targets, this.latest.get(role)!.bytes).signed;
        unsigned.set(role, new Metadata(nextTargets(old, expires, changesOf.get(role))));
      }
      const targets = new Map(bins.flatMap(([, changes]) => [...changes]));
      await writePending(this.store, t.name, newPendingSet({ tenant: t.name, kind: 'update', basis, roles: unsigned, docs, targets, now }));
    }
  }

  /** An offline tenant's first roles list its scopes' documents: when one changed before the tenant signed, they are rebuilt. */
  private async restageAdditions(tenants: readonly TenantRecord[], docs: readonly TrustDocRecord[], now: Date): Promise<void> {
    const waiting = tenants.filter((t) => t.offline && docs.some((d) => tenantOwning(d.scope, [t])));
    if (waiting.length === 0) return;
    const published = this.publishedTenants();
    for (const t of waiting) {
      if (published.has(tenantRole(t.name)) || (await readPending(this.store, t.name))?.kind !== 'add') continue;
      await writePending(this.store, t.name, await this.additionSet(t, now));
    }
  }

  private lastGc = 0;
  /**
   * Drops versions and target files superseded more than GC_GRACE_MS ago (at most every
   * GC_INTERVAL_MS), so the database does not grow with every publish. Root versions stay.
   */
  private async collectGarbage(now: Date): Promise<void> {
    if (now.getTime() - this.lastGc < GC_INTERVAL_MS) return;
    this.lastGc = now.getTime();
    await this.store.pruneSuperseded(new Date(now.getTime() - GC_GRACE_MS).toISOString());
  }

  private async signSnapshotAndTimestamp(now: Date, meta: Record<string, MetaFile>, snapshotVersion: number, timestampVersion: number): Promise<MetadataRecord[]> {
    const { snapshot, timestamp } = this.options.expiry;
    return signSnapshotAndTimestamp({ signers: this.signers, meta, snapshotVersion, timestampVersion, snapshotExpires: expiresAt(now, snapshot), timestampExpires: expiresAt(now, timestamp) });
  }

  /**
   * The CA and TSA anchors, by scope, kept in step with the store as the scope list is: every
   * anchor write marks its scope dirty, so re-reading the dirty scopes' anchors keeps it exact
   * (bench B2: reading every anchor to find the CA anchors cost 50 ms a publish at 100k).
   */
  private caCache: Map<string, AnchorRecord[]> | null = null;

  private async caAnchors(dirtyScopes: string[]): Promise<Map<string, AnchorRecord[]>> {
    const isCa = (a: AnchorRecord) => a.type === 'ca' || a.type === 'tsa';
    if (!this.caCache) {
      this.caCache = new Map();
      for (const a of await this.store.listAnchorsOfTypes(['ca', 'tsa'])) {
        if (!this.caCache.has(a.scope)) this.caCache.set(a.scope, []);
        this.caCache.get(a.scope)!.push(a);
      }
      return this.caCache;
    }
    for (const scope of dirtyScopes) {
      const list = (await this.store.listAnchors([scope])).filter(isCa);
      if (list.length > 0) this.caCache.set(scope, list);
      else this.caCache.delete(scope);
    }
    return this.caCache;
  }

  /** Serials on each stored CRL, by CRL digest: a CRL is parsed once, not on every publish. */
  private crlSerials = new Map<string, ReadonlySet<string>>();

  /** What effectiveTrust needs to know about CA anchors and their CRLs. */
  private async crlInputs(
    dirtyScopes: string[],
  ): Promise<{ crlIssuers: Set<string>; crlUrls: Map<string, string>; caSubjects: Map<string, string>; crlRevoked: Map<string, ReadonlySet<string>> }> {
    const crls = await this.store.listCrls();
    const crlRevoked = new Map<string, ReadonlySet<string>>();
    const seen = new Map<string, ReadonlySet<string>>();
    for (const c of crls) {
      const digest = sha256(c.der);
      let serials = this.crlSerials.get(digest);
      if (!serials) {
        // Stored CRLs were checked when accepted; one that no longer parses revokes nothing here.
        try {
          serials = new Set(parseCrl(c.der).entries.map((e) => e.serialHex));
        } catch {
          serials = new Set();
        }
      }
      seen.set(digest, serials);
      crlRevoked.set(c.issuer, serials);
    }
    this.crlSerials = seen;
    const caSubjects = new Map<string, string>();
    for (const list of (await this.caAnchors(dirtyScopes)).values()) {
      for (const a of list) if (a.subject) caSubjects.set(a.id, a.subject);
    }
    const crlUrls = new Map(crls.flatMap((c) => (c.url ? [[c.issuer, c.url] as const] : [])));
    return { crlIssuers: new Set(crls.map((c) => c.issuer)), crlUrls, caSubjects, crlRevoked };
  }

  /**
   * Every defined scope, kept in step with the store without reading all of them on each publish
   * (bench B2: at 100k scopes that read cost more than the rest of a single change). Every write
   * to a scope marks it dirty (service/store), so re-reading the dirty ones keeps the cache
   * exact; load() drops it, and the next publish reads every scope again.
   */
  private scopeCache: { byName: Map<string, ScopeRecord>; sorted: string[] } | null = null;

  private async definedScopes(dirtyScopes: string[]): Promise<Map<string, ScopeRecord>> {
    if (!this.scopeCache) {
      const all = await this.store.listScopes();
      this.scopeCache = { byName: new Map(all.map((s) => [s.scope, s])), sorted: all.map((s) => s.scope).sort(compareStrings) };
      return this.scopeCache.byName;
    }
    const { byName, sorted } = this.scopeCache;
    for (const scope of dirtyScopes) {
      const rec = await this.store.getScope(scope);
      const i = lowerBound(sorted, scope);
      const present = sorted[i] === scope;
      if (rec) {
        byName.set(scope, rec);
        if (!present) sorted.splice(i, 0, scope);
      } else {
        byName.delete(scope);
        if (present) sorted.splice(i, 1);
      }
    }
    return byName;
  }

  /** The dirty scopes and every defined scope under one of them (CONTRACT.md "Scopes": inheritance). */
  private affectedScopes(dirtyScopes: string[]): Set<string> {
    const { sorted } = this.scopeCache!;
    const affected = new Set(dirtyScopes);
    const wide = new Set(dirtyScopes.filter((d) => d === DEFAULT_SCOPE || d.startsWith('*.')));
    if (wide.size > 0) {
      // The default scope or a wildcard contains scopes by their host: look at every scope.
      for (const s of sorted) if (!affected.has(s) && ancestorCandidates(s).some((a) => wide.has(a))) affected.add(s);
    }
    for (const d of dirtyScopes) {
      if (wide.has(d)) continue;
      // A registry or path scope contains exactly the scopes that extend it by whole path
      // components (`acme.io/team` does not contain `acme.io/teamwork`): one sorted run.
      const prefix = `${d}/`;
      for (let i = lowerBound(sorted, prefix); i < sorted.length && sorted[i]!.startsWith(prefix); i++) affected.add(sorted[i]!);
    }
    return affected;
  }

  /**
   * The scopes a change can affect are the dirty scopes and every defined scope under one of
   * them (inheritance). Recomputes their documents; returns those whose content changed.
   */
  private async recomputeDocuments(dirtyScopes: string[], now: Date): Promise<{ docs: TrustDocRecord[]; targetChanges: Map<string, Buffer | null> }> {
    const docs: TrustDocRecord[] = [];
    const targetChanges = new Map<string, Buffer | null>();
    if (dirtyScopes.length === 0) return { docs, targetChanges };

    const byName = await this.definedScopes(dirtyScopes);
    const affected = this.affectedScopes(dirtyScopes);
    const ancestorsOf = (scope: string): ScopeRecord[] =>
      ancestorCandidates(scope).flatMap((c) => (byName.has(c) ? [byName.get(c)!] : []));

    const defined = [...affected].filter((s) => byName.has(s));
    const chainScopes = new Set<string>();
    for (const s of defined) {
      chainScopes.add(s);
      for (const a of ancestorsOf(s)) chainScopes.add(a.scope);
    }
    const anchorsByScope = new Map<string, AnchorRecord[]>();
    for (const a of await this.store.listAnchors([...chainScopes])) {
      if (!anchorsByScope.has(a.scope)) anchorsByScope.set(a.scope, []);
      anchorsByScope.get(a.scope)!.push(a);
    }
    const revocations = await this.store.listRevocations();
    const crlInputs = await this.crlInputs(dirtyScopes);
    // Local blocks of upstream anchors (federation), by the scope they are blocked at.
    const blocked = new Map<string, Set<string>>();
    for (const b of await this.store.listAnchorBlocks()) {
      if (!blocked.has(b.scope)) blocked.set(b.scope, new Set());
      blocked.get(b.scope)!.add(b.anchorId);
    }
    const previous = await this.store.getTrustDocs([...affected]);
    const issuedAt = isoSeconds(now);

    for (const scope of [...affected].sort()) {
      const prev = previous.get(scope);
      const rec = byName.get(scope);
      if (!rec) {
        if (prev && !prev.deleted) {
          docs.push({ ...prev, version: prev.version + 1, issuedAt, deleted: true });
          targetChanges.set(trustTargetPath(scope), null);
        }
        continue;
      }
      const content = effectiveTrust({ scope: rec, ancestors: ancestorsOf(scope), anchorsByScope, revocations, ...crlInputs, blocked });
      const digest = sha256(Buffer.from(serializeJson(content)));
      if (prev && !prev.deleted && prev.digest === digest) continue;
      const version = (prev?.version ?? 0) + 1;
      docs.push({ scope, version, issuedAt, digest, deleted: false });
      targetChanges.set(trustTargetPath(scope), Buffer.from(serializeJson(stampTrust(content, version, issuedAt))));
    }
    return { docs, targetChanges };
  }
}

const compareStrings = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function lowerBound(sorted: string[], key: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Groups target changes by the role a client finds each in (TUF spec 5.6.7: the same walk of the delegations). */
function groupByRole<T>(changes: ReadonlyMap<string, T>, load: (role: string) => Targets | undefined): Map<string, Map<string, T>> {
  const byRole = new Map<string, Map<string, T>>();
  for (const [path, value] of changes) {
    const role = leafRoleFor(path, load);
    if (!role) throw new KeyshareError(Codes.INTERNAL, `no role is trusted for ${path}`);
    if (!byRole.has(role)) byRole.set(role, new Map());
    byRole.get(role)!.set(path, value);
  }
  return byRole;
}

export { BIN_PREFIX };
