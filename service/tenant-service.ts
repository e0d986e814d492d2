/**
 * Tenants (issue 7, "Tenants"): the orchestrator behind `keyshare tenant ...` and
 * /api/v1/tenants. The layout and the metadata are in service/repo/tenants.ts.
 */
import { rmSync } from 'node:fs';
import type { Store } from './store/index.js';
import type { Publisher, PublishResult } from './repo/publisher.js';
import type { CreatedToken, TokenService } from './auth/token-service.js';
import { tufPublicKeyFromPem } from './crypto/signer.js';
import { scopeContains } from './domain/scope.js';
import { KeyshareError, Codes } from './errors.js';
import {
  MAX_SCOPE_COMPONENTS,
  TenantCodes,
  checkTenantName,
  checkTenantPatterns,
  ensureTenantKey,
  listTenants,
  newTenantRecord,
  saveTenants,
  tenantBinPrefix,
  tenantKeyPath,
  tenantRole,
  type TenantRecord,
} from './repo/tenants.js';
import { pendingView, readPending, type PendingView, type TenantSignature } from './repo/tenant-pending.js';

export interface TenantInput {
  name: string;
  scopes: string[];
  /** The tenant holds its role key: give its public key (PEM). */
  offline?: boolean;
  publicKey?: string;
  /** Also issue an editor token restricted to the tenant's scopes. */
  token?: boolean;
}

export interface TenantView {
  name: string;
  /** The delegated TUF role that signs the tenant's trust documents. */
  role: string;
  binPrefix: string;
  bins: number;
  patterns: string[];
  offline: boolean;
  keyid: string;
  /** Whether the tenant's delegation is in the published targets metadata. */
  published: boolean;
  /** An offline tenant's roles waiting for its signature (`keyshare tenant sign`). */
  awaitingSignature: boolean;
  /** Defined scopes the tenant owns. */
  scopes: string[];
  createdAt: string;
}

export interface TenantDeps {
  dataDir: string;
  store: Store;
  publisher: Publisher;
  tokens?: TokenService;
  clock?: () => Date;
}

export class TenantService {
  private readonly clock: () => Date;

  constructor(private readonly deps: TenantDeps) {
    this.clock = deps.clock ?? (() => new Date());
  }

  async list(): Promise<TenantView[]> {
    const scopes = (await this.deps.store.listScopes()).map((s) => s.scope);
    return Promise.all((await listTenants(this.deps.store)).map((t) => this.view(t, scopes)));
  }

  async get(name: string): Promise<TenantView> {
    return this.view(await this.record(name), (await this.deps.store.listScopes()).map((s) => s.scope));
  }

  private async record(name: string): Promise<TenantRecord> {
    const t = (await listTenants(this.deps.store)).find((x) => x.name === name);
    if (!t) throw new KeyshareError(TenantCodes.TENANT_NOT_FOUND, `no tenant ${JSON.stringify(name)}`);
    return t;
  }

  /** The scope patterns of a tenant: what a caller must be allowed to write to act for it. */
  async patterns(name: string): Promise<string[]> {
    return (await this.record(name)).patterns;
  }

  /** An offline tenant's roles waiting for its signature, or null. */
  async pending(name: string): Promise<(PendingView & { keyid: string }) | null> {
    const t = await this.record(name);
    const set = await readPending(this.deps.store, t.name);
    return set ? { ...pendingView(set), keyid: t.keyid } : null;
  }

  /** Publishes an offline tenant's pending roles with its signatures (checked against its registered key). */
  async sign(name: string, input: { id: string; signatures: TenantSignature[] }): Promise<{ tenant: TenantView; published: PublishResult; signed: { role: string; version: number }[] }> {
    const t = await this.record(name);
    const set = await readPending(this.deps.store, t.name);
    const published = await this.deps.publisher.publishTenantSignatures(t, input.id, input.signatures);
    return { tenant: await this.get(name), published, signed: (set?.roles ?? []).map((r) => ({ role: r.role, version: r.version })) };
  }

  /**
   * Removes a tenant: its scopes go back under "trust", signed by the service, in one publish.
   * A service-held tenant's key file is deleted, so that a tenant added later under the same name
   * gets a new key.
   */
  async remove(name: string): Promise<{ removed: string; published: PublishResult | null }> {
    const { store, publisher, dataDir } = this.deps;
    const t = await this.record(name);
    const others = (await listTenants(store)).filter((x) => x.name !== t.name);
    const published = await publisher.removeTenant(t, () => saveTenants(store, others));
    if (!t.offline) rmSync(tenantKeyPath(dataDir, t.name), { force: true });
    return { removed: t.name, published };
  }

  /**
   * Defines a tenant and publishes its delegation. A service-held tenant's key is generated in
   * the data dir (keys/tenant-{name}.pem); an offline tenant gives its public key.
   */
  async add(actor: string | null, input: TenantInput): Promise<{ tenant: TenantView; published: PublishResult | null; token?: CreatedToken }> {
    const { store, publisher, dataDir } = this.deps;
    const name = checkTenantName(input.name);
    // Its key is made in this replica's data dir: only the publisher may (issue 11).
    publisher.requireLead('the tenant');
    const existing = await listTenants(store);
    if (existing.some((t) => t.name === name)) throw new KeyshareError(TenantCodes.TENANT_EXISTS, `tenant ${name} already exists`);
    const patterns = checkTenantPatterns(input.scopes, existing);
    const tooDeep = (await store.listScopes()).find((s) => s.scope.split('/').length > MAX_SCOPE_COMPONENTS && patterns.some((p) => scopeContains(p, s.scope)));
    if (tooDeep) throw new KeyshareError(Codes.SCOPE_INVALID, `scope ${tooDeep.scope} is deeper than ${MAX_SCOPE_COMPONENTS} components, which a tenant's delegation covers`);
    const now = this.clock();
    if (input.offline) {
      if (!input.publicKey) throw new KeyshareError(Codes.BAD_REQUEST, 'an offline tenant gives the public key of its role key (--public-key FILE)');
      // The tenant's first roles wait for its signature; its delegation is published with them.
      // The service never sees the tenant's private key: refuse one sent by mistake.
      if (/PRIVATE KEY-----/.test(input.publicKey)) throw new KeyshareError(Codes.BAD_PUBLIC_KEY, 'this is a private key: give the tenant\'s public key, and keep the private key with the tenant');
      const record = newTenantRecord({ name, patterns, offline: true, publicKey: tufPublicKeyFromPem(input.publicKey), now });
      // One key, one role: a key shared with another role would let one sign for the other.
      if (existing.some((t) => t.keyid === record.keyid) || this.delegatedKeyIds().has(record.keyid)) {
        throw new KeyshareError(TenantCodes.KEY_IN_USE, `key ${record.keyid} already signs another role; give the tenant a key of its own`);
      }
      await publisher.stageTenant(record, () => saveTenants(store, [...existing, record]));
      const token = input.token ? await this.deps.tokens?.create(actor, { role: 'editor', scopes: patterns }) : undefined;
      return { tenant: await this.get(name), published: null, ...(token ? { token } : {}) };
    }
    if (input.publicKey) throw new KeyshareError(Codes.BAD_REQUEST, 'the service generates the key of a service-held tenant; a public key goes with --offline');
    const signer = ensureTenantKey(dataDir, name);
    const record = newTenantRecord({ name, patterns, offline: false, publicKey: signer.publicKey, now });
    const published = await publisher.publishTenant(record, signer, () => saveTenants(store, [...existing, record]));
    const token = input.token ? await this.deps.tokens?.create(actor, { role: 'editor', scopes: patterns }) : undefined;
    return { tenant: await this.get(name), published, ...(token ? { token } : {}) };
  }

  /** The key IDs targets delegates to (the service's targets key and every tenant's). */
  private delegatedKeyIds(): Set<string> {
    const targets = this.deps.publisher.latestMetadata('targets');
    return new Set(targets ? Object.keys(JSON.parse(targets.bytes.toString('utf8')).signed.delegations?.keys ?? {}) : []);
  }

  private async view(t: TenantRecord, scopes: string[]): Promise<TenantView> {
    const targets = this.deps.publisher.latestMetadata('targets');
    const published = targets ? JSON.parse(targets.bytes.toString('utf8')).signed.delegations?.roles?.some((r: { name: string }) => r.name === tenantRole(t.name)) === true : false;
    return {
      name: t.name,
      role: tenantRole(t.name),
      binPrefix: tenantBinPrefix(t.name),
      bins: 2 ** t.binBits,
      patterns: t.patterns,
      offline: t.offline,
      keyid: t.keyid,
      published,
      awaitingSignature: t.offline && (await readPending(this.deps.store, t.name)) !== null,
      scopes: scopes.filter((s) => s !== '*' && !s.startsWith('*.') && t.patterns.some((p) => scopeContains(p, s))),
      createdAt: t.createdAt,
    };
  }
}

export { tufPublicKeyFromPem };
