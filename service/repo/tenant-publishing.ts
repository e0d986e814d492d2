/**
 * Publishing tenants (issue 7; issue 17.1, "tenant-publishing"): a service-held tenant's
 * delegation and roles, an offline tenant's pending sets (service/repo/tenant-pending.ts) and
 * their signatures, and a tenant's removal. Each builds on the stored state between publishes
 * (PublishLoop.exclusiveOnStored) and commits its roles with snapshot and timestamp from
 * writer.ts in one transaction.
 */
import { Metadata, MetadataKind, type Targets } from '@tufjs/models';
import { sha256Hex as sha256 } from '../crypto/encoding.js';
import type { Signer } from '../crypto/signer.js';
import { trustTargetPath } from '../domain/scope.js';
import { KeyshareError } from '../errors.js';
import type { MetadataRecord, Store, TrustDocRecord } from '../store/index.js';
import type { IndexShards } from './index-shards.js';
import type { OnlineSigners } from './keys.js';
import type { ExpiryConfig } from './layout.js';
import type { PublishLoop, PublishResult } from './publish-loop.js';
import type { Served } from './served.js';
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
import { groupByRole, targetsLoader, tenantAddition, tenantOfRole, tenantOwning, tenantRemoval, tenantRole, type TenantRecord } from './tenants.js';
import { expiresAt, parseMetadata } from './tuf.js';
import { nextTargets, signedRecord, snapshotAndTimestampAfter } from './writer.js';

export interface TenantPublishingDeps {
  store: Store;
  served: Served;
  loop: PublishLoop;
  /** The online keys in use (a root publish changes them). */
  signers: () => OnlineSigners;
  /** The published index shards (every publish changes them). */
  shards: () => IndexShards;
  expiry: ExpiryConfig;
  clock: () => Date;
  /** Serves committed metadata and tells observers (Publisher.landed). */
  landed: (metadata: MetadataRecord[]) => PublishResult;
  /** Trust documents were published outside a publish (a tenant's signed set). */
  documentsPublished: () => void;
}

export class TenantPublishing {
  /** Keys of service-held tenant roles, by tenant name (service/repo/tenants.ts). Offline tenants have none. */
  private readonly tenantSigners = new Map<string, Signer>();

  constructor(private readonly deps: TenantPublishingDeps) {}


  /** The key of a service-held tenant's role and bins. */
  setTenantSigner(tenant: string, signer: Signer): void {
    this.tenantSigners.set(tenant, signer);
  }

  /** Who signs a targets-type role: the tenant's key for a tenant's role and bins, else the targets key; null when offline. */
  signerFor(role: string): Signer | null {
    const tenant = tenantOfRole(role);
    return tenant === null ? this.deps.signers().targets : (this.tenantSigners.get(tenant) ?? null);
  }


  /**
   * Publishes a service-held tenant (service/repo/tenants.ts): its delegation in targets, its
   * role and bins signed by `signer`, and its scopes' documents moved out of the service's bins.
   * `persist` runs in the same transaction (the tenant's definition). Runs between publishes.
   */
  async publishTenant(tenant: TenantRecord, signer: Signer, persist: () => Promise<void>): Promise<PublishResult> {
    this.deps.loop.requireLead('the tenant');
    return this.deps.loop.exclusiveOnStored(async () => {
      const now = this.deps.clock();
      const base = this.deps.served.latestMetadata('timestamp')!;
      const { metadata } = await tenantAddition({ latest: this.deps.served.all, tenant, tenantSigner: signer, targetsSigner: this.deps.signers().targets, now, expiry: this.deps.expiry });
      metadata.push(...(await this.snapshotAndTimestamp(now, metadata)));
      await this.deps.store.transaction(async () => {
        await persist();
        // upToSeq 0: consumes no dirty marks; pending changes go out in the next publish.
        await this.deps.store.commitPublish({ upToSeq: 0, docs: [], targets: [], metadata, publishedAt: now.toISOString(), baseTimestampVersion: base.version });
      });
      this.tenantSigners.set(tenant.name, signer);
      return this.deps.landed(metadata);
    });
  }

  /**
   * An offline tenant (service/repo/tenant-pending.ts): its definition is saved (`persist`) with
   * its first role and bins, unsigned, as a pending set. Its delegation is published only with
   * the tenant's signatures (`publishTenantSignatures`).
   */
  async stageTenant(tenant: TenantRecord, persist: () => Promise<void>): Promise<PendingSet> {
    return this.deps.loop.exclusiveOnStored(async () => {
      const set = await this.additionSet(tenant, this.deps.clock());
      await this.deps.store.transaction(async () => {
        await persist();
        await this.deps.store.setMeta(...pendingMeta(tenant.name, set));
      });
      return set;
    });
  }

  /** An offline tenant's first roles, built from the served repository. */
  private async additionSet(tenant: TenantRecord, now: Date): Promise<PendingSet> {
    const { unsigned } = await tenantAddition({ latest: this.deps.served.all, tenant, tenantSigner: null, targetsSigner: this.deps.signers().targets, now, expiry: this.deps.expiry });
    return newPendingSet({ tenant: tenant.name, kind: 'add', basis: '', roles: unsigned, now });
  }

  /**
   * Publishes an offline tenant's pending set with the tenant's signatures (checked by
   * signPendingSet), with snapshot and timestamp, in one commit. A set that no longer matches the
   * served repository is refused (STALE_SIGNING_REQUEST) and rebuilt for the tenant to sign again.
   */
  async publishTenantSignatures(tenant: TenantRecord, id: string, signatures: readonly TenantSignature[]): Promise<PublishResult> {
    return this.deps.loop.exclusive(async () => {
      await this.deps.loop.reloadIfMoved();
      const now = this.deps.clock();
      const pending = await readPending(this.deps.store, tenant.name);
      if (!pending) throw new KeyshareError(PendingCodes.NOTHING_TO_SIGN, `tenant ${tenant.name} has nothing to sign`);
      const stale = (why: string) => new KeyshareError(PendingCodes.STALE_SIGNING_REQUEST, `${why}: fetch tenant ${tenant.name}'s pending roles again and sign them`);
      if (pending.id !== id) throw stale(`the pending set is ${pending.id.slice(0, 12)}, not ${id.slice(0, 12)}`);
      const signed = signPendingSet(pending, tenant, signatures);
      if (pending.roles.some((r) => Date.parse(String(r.signed.expires)) <= now.getTime())) {
        await writePending(this.deps.store, tenant.name, pending.kind === 'add' ? await this.additionSet(tenant, now) : null);
        if (pending.kind === 'update') void this.deps.loop.notify();
        throw stale('the pending roles have expired');
      }
      const base = this.deps.served.latestMetadata('timestamp')!;
      let metadata: MetadataRecord[] = signed;
      let docs: TrustDocRecord[] = [];
      const targetRecords = pendingTargets(pending);
      if (pending.kind === 'add') {
        // Rebuilt from the served repository: the same roles, or trust changed since they were staged.
        const addition = await tenantAddition({ latest: this.deps.served.all, tenant, tenantSigner: null, targetsSigner: this.deps.signers().targets, now, expiry: this.deps.expiry, tenantExpires: String(pending.roles[0]!.signed.expires) });
        const rebuilt = newPendingSet({ tenant: tenant.name, kind: 'add', basis: '', roles: addition.unsigned, now });
        if (rebuilt.id !== pending.id) {
          await writePending(this.deps.store, tenant.name, rebuilt);
          throw stale('trust in the tenant\'s scopes changed since its roles were staged');
        }
        metadata = [...addition.metadata, ...signed];
      } else {
        // TUF spec 5.5.5: a role's version never goes down; each must follow the one clients have.
        const behind = pending.roles.find((r) => (this.deps.served.latestMetadata(r.role)?.version ?? 0) !== r.version - 1);
        if (behind) {
          void this.deps.loop.notify(); // the next publish rebuilds the set on the served versions
          throw stale(`${behind.role} v${behind.version} does not follow the served version`);
        }
        docs = pending.docs;
        // The documents' index shards lie in the service's bins (index-shards.ts).
        const shards = this.deps.shards().changedShards(docs);
        for (const [path, bytes] of shards) targetRecords.push({ sha256: sha256(bytes), path, bytes });
        const load = targetsLoader(this.deps.served.all);
        const expires = expiresAt(now, this.deps.expiry.targets);
        metadata = [...signed];
        for (const [bin, changes] of groupByRole(shards, load)) metadata.push(await signedRecord(bin, new Metadata(nextTargets(load(bin)!, expires, changes)), this.signerFor(bin)!));
      }
      metadata.push(...(await this.snapshotAndTimestamp(now, metadata)));
      await this.deps.store.transaction(async () => {
        // upToSeq 0: the dirty marks stay; the next publish finds these documents published and drops them.
        await this.deps.store.commitPublish({ upToSeq: 0, docs, targets: targetRecords, metadata, publishedAt: now.toISOString(), baseTimestampVersion: base.version });
        await this.deps.store.setMeta(...pendingMeta(tenant.name, null));
      });
      this.deps.shards().apply(docs);
      const result = this.deps.landed(metadata);
      this.deps.documentsPublished();
      void this.deps.loop.notify();
      return { ...result, documentsChanged: docs.length };
    });
  }

  /**
   * Removes a tenant: its delegation leaves targets and its scopes' documents go back into the
   * service's bins (tenantRemoval), with snapshot and timestamp, in one commit with `persist`.
   * Changes that waited for an offline tenant's signature follow in the next publish.
   */
  async removeTenant(tenant: TenantRecord, persist: () => Promise<void>): Promise<PublishResult | null> {
    return this.deps.loop.exclusiveOnStored(async () => {
      const now = this.deps.clock();
      const base = this.deps.served.latestMetadata('timestamp')!;
      const metadata = await tenantRemoval({ latest: this.deps.served.all, tenant, targetsSigner: this.deps.signers().targets, now, expiry: this.deps.expiry });
      if (metadata.length > 0) {
        metadata.push(...(await this.snapshotAndTimestamp(now, metadata)));
      }
      await this.deps.store.transaction(async () => {
        await persist();
        await this.deps.store.setMeta(...pendingMeta(tenant.name, null));
        if (metadata.length > 0) await this.deps.store.commitPublish({ upToSeq: 0, docs: [], targets: [], metadata, publishedAt: now.toISOString(), baseTimestampVersion: base.version });
      });
      this.tenantSigners.delete(tenant.name);
      const result = metadata.length > 0 ? this.deps.landed(metadata) : null;
      void this.deps.loop.notify();
      return result;
    });
  }


  /** Tenants whose delegation is in the served targets. */
  private publishedTenants(): Set<string> {
    const top = parseMetadata(MetadataKind.Targets, this.deps.served.latestMetadata('targets')!.bytes).signed;
    return new Set(Object.keys(top.delegations?.roles ?? {}));
  }

  /**
   * Keeps each published offline tenant's pending set in step with what waits for it: the held
   * changes in its bins (with their documents) and its roles past half their lifetime. The same
   * basis keeps the set (and its id); a new one rebuilds it; nothing waiting clears it.
   */
  async stageOffline(
    tenants: readonly TenantRecord[],
    held: ReadonlyMap<string, ReadonlyMap<string, Buffer | null>>,
    heldDocs: readonly TrustDocRecord[],
    expiring: ReadonlySet<string>,
    now: Date,
  ): Promise<void> {
    const offline = tenants.filter((t) => t.offline);
    if (offline.length === 0) return;
    const published = this.publishedTenants();
    const expires = expiresAt(now, this.deps.expiry.targets);
    for (const t of offline) {
      if (!published.has(tenantRole(t.name))) continue; // its first roles are pending instead (stageTenant)
      const mine = (role: string) => tenantOfRole(role) === t.name;
      const bins = [...held].filter(([bin]) => mine(bin));
      const roles = [...new Set([...bins.map(([bin]) => bin), ...[...expiring].filter(mine)])].sort();
      const current = await readPending(this.deps.store, t.name);
      if (roles.length === 0) {
        if (current) await writePending(this.deps.store, t.name, null);
        continue;
      }
      const paths = new Set(bins.flatMap(([, changes]) => [...changes.keys()]));
      const docs = heldDocs.filter((d) => paths.has(trustTargetPath(d.scope)));
      // The served versions too: a set built on versions since replaced is rebuilt.
      const basis = JSON.stringify({ roles: roles.map((r) => `${r} ${this.deps.served.latestMetadata(r)!.version}`), docs: docs.map((d) => `${d.scope} ${d.version} ${d.digest} ${d.deleted}`).sort() });
      if (current?.basis === basis) continue;
      const changesOf = new Map(bins);
      const unsigned = new Map<string, Metadata<Targets>>();
      for (const role of roles) {
        const old = parseMetadata(MetadataKind.Targets, this.deps.served.latestMetadata(role)!.bytes).signed;
        unsigned.set(role, new Metadata(nextTargets(old, expires, changesOf.get(role))));
      }
      const targets = new Map(bins.flatMap(([, changes]) => [...changes]));
      await writePending(this.deps.store, t.name, newPendingSet({ tenant: t.name, kind: 'update', basis, roles: unsigned, docs, targets, now }));
    }
  }

  /** An offline tenant's first roles list its scopes' documents: when one changed before the tenant signed, they are rebuilt. */
  async restageAdditions(tenants: readonly TenantRecord[], docs: readonly TrustDocRecord[], now: Date): Promise<void> {
    const waiting = tenants.filter((t) => t.offline && docs.some((d) => tenantOwning(d.scope, [t])));
    if (waiting.length === 0) return;
    const published = this.publishedTenants();
    for (const t of waiting) {
      if (published.has(tenantRole(t.name)) || (await readPending(this.deps.store, t.name))?.kind !== 'add') continue;
      await writePending(this.deps.store, t.name, await this.additionSet(t, now));
    }
  }

  /** Snapshot and timestamp over the served ones, with `changed` at their new versions (writer.ts). */
  private snapshotAndTimestamp(now: Date, changed: readonly MetadataRecord[]): Promise<MetadataRecord[]> {
    return snapshotAndTimestampAfter({ latest: this.deps.served.all, changed, signers: this.deps.signers(), now, expiry: this.deps.expiry });
  }
}
