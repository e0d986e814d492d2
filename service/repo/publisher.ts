/**
 * The publisher: turns committed changes into a new signed TUF repository version.
 *
 * It reads the dirty scopes, recomputes their trust documents (trust-docs.ts, over the pure
 * domain code), re-signs only the roles whose content changed (one hashed bin per changed
 * target, including the index shards of index-shards.ts, then snapshot and timestamp through
 * writer.ts), and commits everything in one store transaction. Nothing is served (served.ts)
 * until that commit. When publishes run is publish-loop.ts; tenants are tenant-publishing.ts.
 */
import { Metadata, MetadataKind, type Targets } from '@tufjs/models';
import { sha256Hex as sha256 } from '../crypto/encoding.js';
import type { Signer } from '../crypto/signer.js';
import { DEFAULT_SCOPE, ancestorCandidates, trustTargetPath } from '../domain/scope.js';
import { INDEX_MEDIA_TYPE, isShardPath } from '../domain/trust-index.js';
import { crlTargetPath } from '../domain/trust.js';
import { dirtyScopesOf } from '../domain/dirty.js';
import { KeyshareError, Codes } from '../errors.js';
import { CRL_DIRTY_PREFIX, type MetadataRecord, type Store, type TargetRecord, type TrustDocRecord } from '../store/index.js';
import { binBitsFor, isCurrentBin, regrowBins } from './bins.js';
import { IndexShards } from './index-shards.js';
import { SHARDS_ROLE, delegatesShards, isCurrentShardBin, isShardBinRole, layShardBins, shardBinBitsFor, withShardsDelegation } from './index-bins.js';
import type { OnlineSigners } from './keys.js';
import { BIN_PREFIX, INDEX_TARGET, TRUST_ROLE, isBinRole, lifetimeOf, type ExpiryConfig } from './layout.js';
import { PublishLoop, type PublishGate, type PublishObserver, type PublishResult } from './publish-loop.js';
import { rekeyMetadata } from './rekey.js';
import { Served } from './served.js';
import type { PendingSet, TenantSignature } from './tenant-pending.js';
import { TenantPublishing } from './tenant-publishing.js';
import { groupByRole, isTenantBinRole, isTenantRole, leafRoleFor, listTenants, targetsLoader, tenantOfRole, type TenantRecord } from './tenants.js';
import { TrustDocuments } from './trust-docs.js';
import { expiresAt, parseMetadata } from './tuf.js';
import { verifyServed } from './verify-served.js';
import { SIGSTORE_TRUSTED_ROOT_TARGET, wantedTrustedRoot, type SigstoreRootSource } from './sigstore-root.js';
import { digestOf, nextTargets, nextTopLevel, signedRecord, snapshotAndTimestampAfter } from './writer.js';
import { initialRepository } from './initial-repository.js';

export type { PublishEvent, PublishGate, PublishObserver, PublishResult } from './publish-loop.js';

export interface PublisherOptions {
  expiry: ExpiryConfig;
  clock?: () => Date;
  /** Called after each publish lands (metrics, static copies, notifications). */
  onPublished?: (result: PublishResult) => void;
  onError?: (error: unknown) => void;
  /** `serve --sigstore-scope`: the top-level target trusted_root.json (sigstore-root.ts). Absent: left as published. */
  sigstoreRoot?: SigstoreRootSource;
  /** Issue 23: the transparency log's verifier key, stated in the signed top-level targets (trust-index.ts logKeyStated). Absent: left as published. */
  logKey?: string;
}

/** A superseded version stays downloadable this long, for clients in the middle of an update. */
export const GC_GRACE_MS = 60 * 60 * 1000;
const GC_INTERVAL_MS = 5 * 60 * 1000;

export class Publisher {
  /** The newest signed version of every role: what /tuf/ serves. */
  readonly served = new Served();
  /** The published scopes and versions, by index shard (set by load). */
  private shards = new IndexShards(1);
  private readonly clock: () => Date;
  private beforeServe: (() => Promise<void>) | null = null;
  /** The log key the top-level targets state (issue 23; `key rotate log` sets a new one: setLogKey). */
  private logKey: string | undefined;
  private logKeyDue = false;
  private readonly loop: PublishLoop;
  private readonly docs: TrustDocuments;
  private readonly tenants: TenantPublishing;

  constructor(
    private readonly store: Store,
    private signers: OnlineSigners,
    private readonly options: PublisherOptions,
  ) {
    this.clock = options.clock ?? (() => new Date());
    this.logKey = options.logKey;
    this.docs = new TrustDocuments(store);
    this.loop = new PublishLoop({
      store,
      publish: () => this.publish(),
      reload: () => this.load(),
      servedTimestampVersion: () => this.served.latestMetadata('timestamp')?.version,
      clock: this.clock,
      onError: options.onError,
    });
    this.tenants = new TenantPublishing({
      store,
      served: this.served,
      loop: this.loop,
      signers: () => this.signers,
      shards: () => this.shards,
      expiry: options.expiry,
      clock: this.clock,
      landed: (metadata) => this.landed(metadata),
      // The sigstore scope's document may be among those a tenant signed: the next publish checks trusted_root.json.
      documentsPublished: () => {
        this.sigstoreRootChecked = false;
      },
    });
  }

  /** Creates targets, the trust delegation, every empty bin, snapshot and timestamp (version 1). */
  async bootstrap(binBits: number): Promise<void> {
    if (await this.store.latestMetadata('timestamp')) throw new KeyshareError(Codes.ALREADY_INITIALIZED, 'the repository is already published');
    const now = this.clock();
    const { metadata, targets } = await initialRepository({ signers: this.signers, binBits, now, expiry: this.options.expiry, logKey: this.logKey });
    await this.store.commitPublish({
      upToSeq: await this.store.changeSeq(),
      docs: [],
      targets: targets.map(([path, bytes]) => ({ sha256: sha256(bytes), path, bytes })),
      metadata,
      publishedAt: now.toISOString(),
      baseTimestampVersion: 0,
    });
  }

  // ---- the served repository (served.ts) ----

  latestMetadata(role: string): MetadataRecord | undefined {
    return this.served.latestMetadata(role);
  }

  servedRoles(): { role: string; version: number; expires: string }[] {
    return this.served.servedRoles();
  }

  onServedChange(listener: () => void): () => void {
    return this.served.onServedChange(listener);
  }

  // ---- when publishes run (publish-loop.ts) ----

  setGate(gate: PublishGate): void {
    this.loop.setGate(gate);
  }

  /**
   * Issue 23 (C2SP tlog-witness: a log collects cosignatures before it makes a checkpoint
   * available): awaited after each publish commits and before its version is served. The hook
   * bounds its own wait and never throws (server.ts: the witnesses' round).
   */
  setBeforeServe(hook: (() => Promise<void>) | null): void {
    this.beforeServe = hook;
  }

  /** Issue 23, `key rotate log`: the next publish states this log key in the signed top-level targets (even with nothing else to publish). */
  setLogKey(vkey: string): void {
    this.logKey = vkey;
    this.logKeyDue = true;
  }

  leads(): boolean {
    return this.loop.leads();
  }

  requireLead(what: string): void {
    this.loop.requireLead(what);
  }

  notify(): Promise<PublishResult | null> {
    return this.loop.notify();
  }

  observe(observer: PublishObserver): () => void {
    return this.loop.observe(observer);
  }

  publishHealth(): ReturnType<PublishLoop['publishHealth']> {
    return this.loop.publishHealth();
  }

  flush(): Promise<void> {
    return this.loop.flush();
  }

  start(intervalMs?: number, watchMs?: number): void {
    this.loop.start(intervalMs, watchMs);
  }

  checkExternalWrites(): Promise<void> {
    return this.loop.checkExternalWrites();
  }

  stop(): void {
    this.loop.stop();
  }

  idle(): Promise<void> {
    return this.loop.idle();
  }

  // ---- tenants (tenant-publishing.ts) ----

  setTenantSigner(tenant: string, signer: Signer): void {
    this.tenants.setTenantSigner(tenant, signer);
  }

  publishTenant(tenant: TenantRecord, signer: Signer, persist: () => Promise<void>): Promise<PublishResult> {
    return this.tenants.publishTenant(tenant, signer, persist);
  }

  stageTenant(tenant: TenantRecord, persist: () => Promise<void>): Promise<PendingSet> {
    return this.tenants.stageTenant(tenant, persist);
  }

  publishTenantSignatures(tenant: TenantRecord, id: string, signatures: readonly TenantSignature[]): Promise<PublishResult> {
    return this.tenants.publishTenantSignatures(tenant, id, signatures);
  }

  removeTenant(tenant: TenantRecord, persist: () => Promise<void>): Promise<PublishResult | null> {
    return this.tenants.removeTenant(tenant, persist);
  }

  // ---- publishing ----

  /** Online roles whose key this process holds is not the one the served root names (see load). */
  private staleKeys: string[] = [];

  /**
   * True when the served index.json is not index v2 (a repository published before issue 17),
   * or the shards are not in their own bins (index-bins.ts): the next publish writes index.json
   * and every shard, re-signing every bin once.
   */
  private indexUpgrade = false;

  /** Roles the next publish re-signs whatever their expiry (verifyAndRepair). */
  private forced = new Set<string>();

  private lastGc = 0;

  /** Loads the served state from the store. Call once before serving. */
  async load(): Promise<void> {
    this.served.replaceAll(await this.store.latestMetadataAll());
    // Another process may have changed anything: the scope list and CA anchors are read again on the next publish.
    this.docs.reset();
    if (!this.served.all.has('timestamp') || !this.served.all.has('root')) {
      throw new KeyshareError(Codes.NOT_INITIALIZED, 'the repository has not been initialised (run `keyshare init`)');
    }
    const bits = parseMetadata(MetadataKind.Targets, this.served.latestMetadata(TRUST_ROLE)!.bytes).signed.delegations?.succinctRoles?.bitLength;
    if (!bits) throw new KeyshareError(Codes.INTERNAL, `the ${TRUST_ROLE} role delegates to no hashed bins`);
    this.shards = new IndexShards(bits, (await this.store.listTrustDocs()).map((d) => [d.scope, d.version] as const));
    this.indexUpgrade = !(await this.servesIndexV2()) || !delegatesShards(parseMetadata(MetadataKind.Targets, this.served.latestMetadata('targets')!.bytes).signed);
    // The setting may differ from the one the served trusted_root.json was published with.
    this.sigstoreRootChecked = false;
    // Another replica may have published a root with new online keys (`key rotate`): this process
    // must not sign with keys that root no longer names (clients would refuse the result).
    const root = parseMetadata(MetadataKind.Root, this.served.latestMetadata('root')!.bytes).signed;
    this.staleKeys = (['targets', 'snapshot', 'timestamp'] as const).filter((r) => !root.roles[r]?.keyIDs.includes(this.signers[r].keyid));
    this.served.changed();
  }

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
    const info = parseMetadata(MetadataKind.Targets, this.served.latestMetadata('targets')!.bytes).signed.targets[INDEX_TARGET];
    const bytes = info?.hashes.sha256 ? (await this.store.getTarget(info.hashes.sha256, INDEX_TARGET))?.bytes : undefined;
    if (!bytes) return false;
    try {
      return (JSON.parse(Buffer.from(bytes).toString('utf8')) as { mediaType?: unknown }).mediaType === INDEX_MEDIA_TYPE;
    } catch {
      return false;
    }
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

  /**
   * Publishes root N+1 (already checked against both thresholds, TUF spec 5.3.4) and, when it
   * names new online keys, switches to `signers` and re-signs every role a rotated key signs,
   * in the same commit (TUF spec 5.3.11: clients then drop cached timestamp and snapshot and
   * recover). Runs between publishes, never during one.
   */
  async publishRoot(root: MetadataRecord, signers: OnlineSigners): Promise<PublishResult> {
    this.loop.requireLead('the root publish');
    // Built on the stored state, as tenant add is: another process (`keyshare bundle export`) may have published since this one last loaded.
    return this.loop.exclusiveOnStored(async () => {
      // Two publishes of the same proposal: only the first lands.
      const current = this.served.latestMetadata('root')!.version;
      if (root.version !== current + 1) throw new KeyshareError(Codes.CONFLICT, `root v${root.version} cannot follow root v${current}`);
      const now = this.clock();
      const base = this.served.latestMetadata('timestamp')!;
      const resigned = await rekeyMetadata({
        latest: this.served.all,
        nextRoot: parseMetadata(MetadataKind.Root, root.bytes).signed,
        signers,
        now,
        expiry: this.options.expiry,
      });
      const metadata = [root, ...resigned];
      // upToSeq 0: consumes no dirty marks; pending changes go out in the next publish.
      await this.store.commitPublish({ upToSeq: 0, docs: [], targets: [], metadata, publishedAt: now.toISOString(), baseTimestampVersion: base.version });
      this.signers = signers;
      await this.beforeServe?.();
      return this.landed(metadata);
    });
  }

  /** Serves committed metadata and tells observers. */
  private landed(metadata: MetadataRecord[]): PublishResult {
    this.served.put(metadata);
    const result: PublishResult = {
      timestampVersion: this.served.latestMetadata('timestamp')!.version,
      rolesSigned: metadata.map((m) => m.role),
      bytesWritten: metadata.reduce((n, m) => n + m.bytes.length, 0),
      documentsChanged: 0,
    };
    this.options.onPublished?.(result);
    this.served.changed();
    return result;
  }

  /**
   * Issue 24 row 10, at start and before serving: verifies the served repository the way a client
   * would (verify-served.ts). Damaged roles are re-signed, as new versions, when their content
   * agrees with the stored records (target files, the versions snapshot lists); otherwise, or
   * when the root itself fails, STORE_DAMAGED. Returns the roles re-signed.
   */
  async verifyAndRepair(): Promise<string[]> {
    const faults = verifyServed(this.served.all);
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
    const left = verifyServed(this.served.all);
    if (left.length > 0) throw damaged(`; re-signing left: ${left.map((f) => `${f.role}: ${f.problem}`).join('; ')}`);
    return [...roles];
  }

  /** Whether a damaged role's content agrees with the records it is built from (verifyAndRepair). */
  private async resignable(role: string): Promise<boolean> {
    const rec = this.served.latestMetadata(role);
    if (!rec) return false;
    try {
      if (role === 'timestamp') return true;
      if (role === 'snapshot') {
        const meta = parseMetadata(MetadataKind.Snapshot, rec.bytes).signed.meta;
        return Object.entries(meta).every(([file, m]) => this.served.latestMetadata(file.replace(/\.json$/, ''))?.version === m.version);
      }
      if (!this.tenants.signerFor(role)) return false;
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
    for (const [role, rec] of this.served.all) {
      if (role === 'root') continue;
      // Bins from before they grew (bins.ts) are no longer delegated: clients never load them, and they just expire.
      if (isBinRole(role) && !isCurrentBin(role, this.shards.bitLength)) continue;
      if (isShardBinRole(role) && !isCurrentShardBin(role, shardBinBitsFor(this.shards.bitLength))) continue;
      const left = (Date.parse(rec.expires) - now.getTime()) / 1000;
      if (left < lifetimeOf(role, this.options.expiry) / 2) out.add(role);
    }
    return out;
  }

  /** One publish. Returns null when there was nothing to do. */
  async publish(): Promise<PublishResult | null> {
    // Another process may have published (`keyshare bundle export`): build on what is stored.
    await this.loop.reloadIfMoved();
    if (this.staleKeys.length > 0) {
      throw new KeyshareError(
        'ONLINE_KEYS_STALE',
        `root v${this.served.latestMetadata('root')!.version} names other ${this.staleKeys.join(', ')} keys than this process holds: copy keys/ from the replica that published it, and restart`,
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
      if (this.tenants.signerFor(role)) continue;
      expiring.delete(role);
      if (tenants.some((t) => t.name === tenantOfRole(role))) offlineExpiring.add(role);
    }
    if (dirty.length === 0 && expiring.size === 0 && !this.indexUpgrade && !this.sigstoreRootDue() && !this.logKeyDue) {
      await this.tenants.stageOffline(tenants, new Map(), [], offlineExpiring, now);
      return null;
    }
    const baseTimestamp = this.served.latestMetadata('timestamp')!;

    // Dirty keys are scopes, except `crl:<issuer>`, which marks a CRL target (published byte for byte).
    const dirtyScopes = dirtyScopesOf(dirty.map((d) => d.scope));
    const { docs, targetChanges } = await this.docs.recompute(dirtyScopes, now);
    for (const d of dirty) {
      if (!d.scope.startsWith(CRL_DIRTY_PREFIX)) continue;
      const crl = await this.store.getCrl(d.scope.slice(CRL_DIRTY_PREFIX.length));
      if (crl) targetChanges.set(crlTargetPath(crl.issuer), Buffer.from(crl.der));
    }
    // Group target changes by the bin a client finds them in (TUF spec 5.6.7: the same walk of the
    // delegations; a tenant's paths are in the tenant's bins, service/repo/tenants.ts).
    const load = targetsLoader(this.served.all);
    const byBin = groupByRole(targetChanges, load);
    // An offline tenant signs its own bins (`keyshare tenant sign`): its changes wait in a pending
    // set, and the dirty marks that led to them stay, so that the next publish recomputes them.
    const keepDirty = new Set<string>();
    const held = new Map<string, Map<string, Buffer | null>>();
    for (const [bin, changes] of byBin) {
      if (this.tenants.signerFor(bin)) continue;
      held.set(bin, new Map(changes));
      byBin.delete(bin);
      for (const [path] of changes) targetChanges.delete(path);
    }
    const heldDocs: TrustDocRecord[] = [];
    // Every document's path is among the changes unless an offline tenant holds it (bench B9: 10k documents).
    for (let i = held.size > 0 ? docs.length - 1 : -1; i >= 0; i--) {
      const d = docs[i]!;
      if (targetChanges.has(trustTargetPath(d.scope))) continue;
      heldDocs.push(...docs.splice(i, 1));
      const causes = new Set([d.scope, ...ancestorCandidates(d.scope)]);
      for (const k of dirty) if (causes.has(k.scope)) keepDirty.add(k.scope);
    }
    await this.tenants.stageOffline(tenants, held, heldDocs, offlineExpiring, now);
    // Top-level targets besides index.json: trusted_root.json (serve --sigstore-scope).
    const topChanges = await this.sigstoreRootChange(targetChanges, load);
    if (this.options.sigstoreRoot && dirty.length === 0 && expiring.size === 0 && !this.indexUpgrade && topChanges.size === 0) {
      // Only the trusted_root.json check was due, and it is as published.
      this.sigstoreRootChecked = true;
      return null;
    }
    if (held.size > 0 && docs.length === 0 && targetChanges.size === 0 && expiring.size === 0 && !this.indexUpgrade && topChanges.size === 0) {
      this.loop.heldOnly();
      return null;
    }
    // The index shards of the published documents, in their own bins (issue 17: a change
    // rewrites its own shard, never every scope; index-bins.ts). index.json changes only with the bins.
    const bits = Math.max(this.shards.bitLength, binBitsFor(this.shards.sizeAfter(docs)));
    // A repository whose shards are still in the document bins moves them out, in this publish.
    const migrating = !delegatesShards(load('targets')!);
    const { shards, header, next } = this.shards.filesFor(docs, bits, this.indexUpgrade || migrating);
    const metadata: MetadataRecord[] = [];
    const targetsExpiry = expiresAt(now, this.options.expiry.targets);
    const grown = bits > this.shards.bitLength || migrating;
    if (grown) {
      // More scopes than the bins hold well (bins.ts), or the shards leave them: the service's bins are laid out again.
      const changes = new Map<string, Buffer | null>();
      for (const [bin, binChanges] of byBin) {
        if (!isBinRole(bin)) continue;
        for (const [path, bytes] of binChanges) changes.set(path, bytes);
        byBin.delete(bin);
      }
      const regrown = await regrowBins({ load, versionOf: (r) => this.served.latestMetadata(r)?.version ?? 0, bits, signer: this.signers.targets, expires: targetsExpiry, changes, drop: isShardPath });
      metadata.push(...regrown.metadata);
    }
    if (next) {
      // Every shard is rewritten: the shards role and its bins are laid out again (index-bins.ts).
      const versionOf = (r: string) => this.served.latestMetadata(r)?.version ?? 0;
      metadata.push(...(await layShardBins({ shards, binBits: bits, versionOf, signer: this.signers.targets, expires: targetsExpiry })));
    } else {
      for (const [bin, changes] of groupByRole(shards, load)) byBin.set(bin, [...(byBin.get(bin) ?? []), ...changes]);
    }
    const targetRecords: TargetRecord[] = [];
    for (const [path, bytes] of [...targetChanges, ...shards, ...(header ? [[INDEX_TARGET, header] as const] : []), ...topChanges]) {
      if (bytes) targetRecords.push({ sha256: digestOf(bytes), path, bytes });
    }

    // Re-sign each touched bin once (TAP 15), and bins about to expire (all of the service's were, when they grew).
    const resigned = (role: string) => (grown && (isBinRole(role) || role === TRUST_ROLE)) || (next !== null && (isShardBinRole(role) || role === SHARDS_ROLE));
    for (const role of expiring) if ((isBinRole(role) || isShardBinRole(role) || isTenantBinRole(role)) && this.tenants.signerFor(role) && !byBin.has(role) && !resigned(role)) byBin.set(role, []);

    const resign = async (role: string, build: (old: Targets) => Targets) => {
      metadata.push(await signedRecord(role, new Metadata(build(load(role)!)), this.tenants.signerFor(role)!));
    };
    for (const [bin, changes] of byBin) await resign(bin, (old) => nextTargets(old, targetsExpiry, changes));
    for (const role of [TRUST_ROLE, SHARDS_ROLE, ...[...expiring].filter(isTenantRole)]) {
      if (!expiring.has(role) || !this.tenants.signerFor(role) || resigned(role)) continue;
      await resign(role, (old) => nextTargets(old, targetsExpiry));
    }
    // index.json changes with the bins; its entry also states whether `*` is defined (writer.ts nextTopLevel).
    const served = load('targets')!;
    const top = nextTopLevel(
      migrating ? withShardsDelegation(served, this.signers.targets.keyid) : served,
      targetsExpiry,
      header,
      this.shards.listsAfter(DEFAULT_SCOPE, docs),
      expiring.has('targets') || migrating,
      topChanges,
      this.logKey,
    );
    if (top) metadata.push(await signedRecord('targets', new Metadata(top), this.signers.targets));

    metadata.push(...(await this.snapshotAndTimestamp(now, metadata)));

    await this.store.commitPublish({
      upToSeq,
      docs,
      targets: targetRecords,
      metadata,
      publishedAt: now.toISOString(),
      baseTimestampVersion: baseTimestamp.version,
      keepDirty: [...keepDirty],
    });
    // Only after the commit (and the witnesses' cosignatures on its checkpoint, bounded): serve the new version.
    await this.beforeServe?.();
    this.served.put(metadata);
    if (next) this.shards = next;
    else this.shards.apply(docs);
    this.indexUpgrade = false;
    this.sigstoreRootChecked = true;
    this.logKeyDue = false;
    const result: PublishResult = {
      timestampVersion: baseTimestamp.version + 1,
      rolesSigned: metadata.map((m) => m.role),
      bytesWritten: metadata.reduce((n, m) => n + m.bytes.length, 0) + targetRecords.reduce((n, t) => n + t.bytes.length, 0),
      documentsChanged: docs.length,
    };
    await this.collectGarbage(now);
    await this.tenants.restageAdditions(tenants, docs, now);
    this.options.onPublished?.(result);
    this.served.changed();
    return result;
  }

  /**
   * Drops versions and target files superseded more than GC_GRACE_MS ago (at most every
   * GC_INTERVAL_MS), so the database does not grow with every publish. Root versions stay.
   */
  private async collectGarbage(now: Date): Promise<void> {
    if (now.getTime() - this.lastGc < GC_INTERVAL_MS) return;
    this.lastGc = now.getTime();
    await this.store.pruneSuperseded(new Date(now.getTime() - GC_GRACE_MS).toISOString());
  }

  /** Snapshot and timestamp over the served ones, with `changed` at their new versions (writer.ts). */
  private snapshotAndTimestamp(now: Date, changed: readonly MetadataRecord[]): Promise<MetadataRecord[]> {
    return snapshotAndTimestampAfter({ latest: this.served.all, changed, signers: this.signers, now, expiry: this.options.expiry });
  }
}

export { BIN_PREFIX };
