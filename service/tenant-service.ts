/**
 * Tenants (issue 7, "Tenants"): the orchestrator behind `keyshare tenant ...` and
 * /api/v1/tenants. The layout and the metadata are in service/repo/tenants.ts.
 */
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
  tenantRole,
  type TenantRecord,
} from './repo/tenants.js';

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
    return (await listTenants(this.deps.store)).map((t) => this.view(t, scopes));
  }

  async get(name: string): Promise<TenantView> {
    const t = (await listTenants(this.deps.store)).find((x) => x.name === name);
    if (!t) throw new KeyshareError(TenantCodes.TENANT_NOT_FOUND, `no tenant ${JSON.stringify(name)}`);
    return this.view(t, (await this.deps.store.listScopes()).map((s) => s.scope));
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
      if (!input.publicKey) throw new KeyshareError(Codes.BAD_REQUEST, 'an offline tenant gives the public key of its role key (--key FILE)');
      throw new KeyshareError('NOT_IMPLEMENTED', 'offline tenants are not implemented yet');
    }
    if (input.publicKey) throw new KeyshareError(Codes.BAD_REQUEST, 'the service generates the key of a service-held tenant; a public key goes with --offline');
    const signer = ensureTenantKey(dataDir, name);
    const record = newTenantRecord({ name, patterns, offline: false, publicKey: signer.publicKey, now });
    const published = await publisher.publishTenant(record, signer, () => saveTenants(store, [...existing, record]));
    const token = input.token ? await this.deps.tokens?.create(actor, { role: 'editor', scopes: patterns }) : undefined;
    return { tenant: await this.get(name), published, ...(token ? { token } : {}) };
  }

  private view(t: TenantRecord, scopes: string[]): TenantView {
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
      scopes: scopes.filter((s) => s !== '*' && !s.startsWith('*.') && t.patterns.some((p) => scopeContains(p, s))),
      createdAt: t.createdAt,
    };
  }
}

export { tufPublicKeyFromPem };
