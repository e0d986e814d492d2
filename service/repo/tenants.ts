/**
 * Tenants (issue 7, "Tenants"): a tenant owns scopes, and the trust documents of those scopes
 * are signed by a delegated TUF role of its own, with a key of its own.
 *
 *   root ─ targets (index.json)
 *            ├─ "tenant-{name}" (paths: the tenant's scopes; terminating; the tenant's key)
 *            │    └─ succinct hashed bins "tenant-{name}-bin-0".."tenant-{name}-bin-f" (TAP 15)
 *            └─ "trust" (every other path; terminating) ─ "bin-00".."bin-ff"
 *
 * Tenant roles come before "trust" in targets' delegations (TUF spec 5.6.7.2: delegations are
 * searched in order, and a terminating one ends the search), so a client looks up a tenant's
 * scopes in the tenant's role only, and any other path never reaches a tenant's role: a
 * compromised tenant key signs nothing a client accepts outside the tenant's paths.
 *
 * Path patterns: tuf-js (like python-tuf) matches a pattern component by component, with the
 * same number of components, each by a glob. A tenant owning P therefore gets
 * `trust/P.json`, `trust/P/*.json`, `trust/P/*\/*.json`, ... down to MAX_SCOPE_COMPONENTS
 * components; a scope deeper than that inside a tenant is refused.
 *
 * Pure, except for the key files (`tenantKeyPath`, `loadTenantSigners`, `writeTenantKey`).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Metadata, Targets, type TargetFile } from '@tufjs/models';
// @tufjs/models does not re-export the delegation classes from its index.
import { DelegatedRole, SuccinctRoles } from '@tufjs/models/dist/role.js';
import { Delegations } from '@tufjs/models/dist/delegations.js';
import { FileSigner, generateSigningKeyPem, tufKeyId, type Signer, type TufPublicKey } from '../crypto/signer.js';
import { parseScope, scopeContains, trustTargetPath } from '../domain/scope.js';
import { pathHash32 } from '../domain/trust-index.js';
import { KeyshareError, Codes } from '../errors.js';
import type { MetadataRecord, Store } from '../store/index.js';
import { keysDir, writeNewKey } from './keys.js';
import { TRUST_ROLE, lifetimeOf, type ExpiryConfig } from './layout.js';
import { SPEC_VERSION, expiresAt, parsedTargets, tufKey } from './tuf.js';
import { signedRecord, sortedKeys } from './writer.js';
import { inLiteralPathPattern } from '../../shared/tuf-paths.js';

export const TENANT_ROLE_PREFIX = 'tenant-';
/** 16 bins per tenant: a change re-signs one bin of the tenant, whatever the tenant's size. */
export const TENANT_BIN_BITS = 4;
/** The deepest scope (host plus path components) a tenant's delegation covers. */
export const MAX_SCOPE_COMPONENTS = 16;
/** Tenant definitions live in the store's meta table under this key (a JSON array). */
export const TENANTS_META_KEY = 'tenants';

export const TenantCodes = {
  /** A tenant's key already signs another role. */
  KEY_IN_USE: 'KEY_IN_USE',
  TENANT_INVALID: 'TENANT_INVALID',
  TENANT_NOT_FOUND: 'TENANT_NOT_FOUND',
  TENANT_EXISTS: 'TENANT_EXISTS',
  TENANT_OVERLAP: 'TENANT_OVERLAP',
  TENANT_KEY_MISSING: 'TENANT_KEY_MISSING',
} as const;

export interface TenantRecord {
  name: string;
  /** Scopes the tenant owns, each with everything under it. */
  patterns: string[];
  /** True when the tenant holds its role key; the service then cannot sign its role. */
  offline: boolean;
  keyid: string;
  publicKey: TufPublicKey;
  binBits: number;
  createdAt: string;
}

export const tenantRole = (name: string) => `${TENANT_ROLE_PREFIX}${name}`;
export const tenantBinPrefix = (name: string) => `${tenantRole(name)}-bin`;

/** The tenant a role belongs to (its own role or one of its bins), or null. */
export function tenantOfRole(role: string): string | null {
  if (!role.startsWith(TENANT_ROLE_PREFIX)) return null;
  return role.slice(TENANT_ROLE_PREFIX.length).replace(/-bin-[0-9a-f]+$/, '');
}
export const isTenantRole = (role: string) => role.startsWith(TENANT_ROLE_PREFIX) && !/-bin-[0-9a-f]+$/.test(role);
export const isTenantBinRole = (role: string) => role.startsWith(TENANT_ROLE_PREFIX) && /-bin-[0-9a-f]+$/.test(role);

/**
 * A tenant name: lower-case DNS-label-like words joined by "-", at most 40 characters, without
 * "-bin-" (so that no tenant's role name can equal another tenant's bin name).
 */
export function checkTenantName(name: string): string {
  if (typeof name !== 'string' || !/^[a-z0-9]+(-[a-z0-9]+)*$/.test(name) || name.length > 40 || name.includes('-bin-')) {
    throw new KeyshareError(
      TenantCodes.TENANT_INVALID,
      `tenant name ${JSON.stringify(name)} is invalid: use lower-case letters, digits and single "-" (at most 40 characters, not containing "-bin-")`,
    );
  }
  return name;
}

const components = (scope: string) => scope.split('/').length;

/**
 * Validates a tenant's scope patterns against the other tenants: each is a registry or a
 * namespace (not `*` or a wildcard), at most MAX_SCOPE_COMPONENTS - 1 deep, and owned by no
 * other tenant (one scope, one tenant). Patterns inside another of the same list are dropped.
 */
export function checkTenantPatterns(patterns: string[], others: readonly TenantRecord[]): string[] {
  if (!Array.isArray(patterns) || patterns.length === 0) throw new KeyshareError(TenantCodes.TENANT_INVALID, 'a tenant needs at least one scope pattern');
  const normalized = [...new Set(patterns.map((p) => String(p).trim().toLowerCase()))];
  for (const p of normalized) {
    const parsed = parseScope(p);
    if (parsed.kind !== 'registry' && parsed.kind !== 'path') {
      throw new KeyshareError(Codes.SCOPE_INVALID, `a tenant owns a registry or a namespace (host[:port] or host[:port]/path), not ${JSON.stringify(p)}`);
    }
    if (components(p) >= MAX_SCOPE_COMPONENTS) {
      throw new KeyshareError(Codes.SCOPE_INVALID, `${JSON.stringify(p)} is too deep for a tenant: at most ${MAX_SCOPE_COMPONENTS - 1} components`);
    }
    for (const t of others) {
      const clash = t.patterns.find((q) => scopeContains(q, p) || scopeContains(p, q));
      if (clash) throw new KeyshareError(TenantCodes.TENANT_OVERLAP, `${JSON.stringify(p)} overlaps ${JSON.stringify(clash)} of tenant ${t.name}: a scope belongs to one tenant`);
    }
  }
  return normalized.filter((p) => !normalized.some((q) => q !== p && scopeContains(q, p))).sort();
}

/** The tenant that owns a scope, if any. */
export function tenantOwning(scope: string, tenants: readonly TenantRecord[]): TenantRecord | null {
  if (scope === '*' || scope.startsWith('*.')) return null;
  return tenants.find((t) => t.patterns.some((p) => scopeContains(p, scope))) ?? null;
}

/** Refuses a scope inside a tenant that the tenant's delegation cannot cover (too deep). */
export function checkScopeInTenant(scope: string, tenants: readonly TenantRecord[]): void {
  const t = tenantOwning(scope, tenants);
  if (t && components(scope) > MAX_SCOPE_COMPONENTS) {
    throw new KeyshareError(Codes.SCOPE_INVALID, `${JSON.stringify(scope)} is inside tenant ${t.name} and deeper than ${MAX_SCOPE_COMPONENTS} components, which a tenant's delegation covers`);
  }
}

/** TUF path patterns for the trust documents of a pattern and every scope under it. */
export function tenantPathPatterns(patterns: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of patterns) {
    out.push(trustTargetPath(p));
    for (let k = 1; components(p) + k <= MAX_SCOPE_COMPONENTS; k++) out.push(`trust/${p}/${'*/'.repeat(k - 1)}*.json`);
  }
  return out;
}

export function tenantDelegation(t: TenantRecord): DelegatedRole {
  return new DelegatedRole({ name: tenantRole(t.name), keyIDs: [t.keyid], threshold: 1, terminating: true, paths: tenantPathPatterns(t.patterns) });
}

export function tenantBins(t: TenantRecord): SuccinctRoles {
  return new SuccinctRoles({ keyIDs: [t.keyid], threshold: 1, bitLength: t.binBits, namePrefix: tenantBinPrefix(t.name) });
}

/**
 * The role whose metadata lists `path`, found the way a TUF client finds it (TUF spec 5.6.7):
 * from targets, the first delegation trusted for the path, down to a role that delegates no
 * further. Null when no delegation covers it. `steps` keeps each role's delegations as read,
 * across the paths of one walk of many (groupByRole).
 */
export function leafRoleFor(path: string, load: (role: string) => Targets | undefined, steps: Map<string, Step> = new Map()): string | null {
  let role = 'targets';
  // The path's hash and components, computed once for the walk (bench B9: a parent change walks every child's path).
  const walk = new PathWalk(path);
  for (let depth = 0; depth < 8; depth++) {
    let step = steps.get(role);
    if (step === undefined) steps.set(role, (step = stepOf(load(role))));
    if (step === null) return role;
    if ('bins' in step) {
      // As SuccinctRoles.getRoleForTarget (TAP 15): bin i is getRoles()'s i-th.
      role = step.bins[walk.hash() >>> step.shift]!;
      continue;
    }
    let next: string | undefined;
    for (const r of step.roles) {
      if (delegatesPath(r, walk)) {
        next = r.name;
        break;
      }
    }
    if (next === undefined) return null;
    role = next;
  }
  return null;
}

/** A role's delegations as the walk reads them: none (null), its hashed bins' names in bin order, or its delegated roles in order. */
export type Step = null | { bins: string[]; shift: number } | { roles: DelegatedRole[] };

function stepOf(signed: Targets | undefined): Step {
  const d = signed?.delegations;
  if (!d) return null;
  if (d.succinctRoles) return { bins: binNames(d.succinctRoles), shift: 32 - d.succinctRoles.bitLength };
  return { roles: Object.values(d.roles ?? {}) };
}

/** A path in a walk of the delegations: its hash and components, each computed once. */
class PathWalk {
  private h32: number | undefined;
  private split: string[] | undefined;
  constructor(readonly path: string) {}
  hash(): number {
    return (this.h32 ??= pathHash32(this.path));
  }
  parts(): string[] {
    return (this.split ??= this.path.split('/'));
  }
}

/** The bins' names in bin order, per succinct delegation (as binSuffix; bench B9: one lookup per governed path). */
const binNamesOf = new WeakMap<SuccinctRoles, string[]>();
function binNames(bins: SuccinctRoles): string[] {
  let names = binNamesOf.get(bins);
  if (!names) binNamesOf.set(bins, (names = [...bins.getRoles()]));
  return names;
}

/**
 * A role's path_hash_prefixes as the top bits of the path's 32-bit hash, by prefix length
 * (prefixes of 0 to 8 lower-case hex digits: tuf-js compares them with the lower-case hex
 * digest); `true` when they match every path (the service's trust role: every hex digit); null
 * when some prefix is not such, and tuf-js decides.
 */
type HashPrefixes = { shift: number; values: Set<number> }[] | true | null;
const hashPrefixesOf = new WeakMap<DelegatedRole, HashPrefixes>();
function hashPrefixes(role: DelegatedRole): HashPrefixes {
  let compiled = hashPrefixesOf.get(role);
  if (compiled === undefined) {
    const prefixes = role.pathHashPrefixes ?? [];
    const byLength = new Map<number, Set<number>>();
    for (const p of prefixes) {
      if (!byLength.has(p.length)) byLength.set(p.length, new Set());
      byLength.get(p.length)!.add(p.length === 0 ? 0 : parseInt(p, 16));
    }
    compiled = !prefixes.every((p) => /^[0-9a-f]{0,8}$/.test(p))
      ? null
      : [...byLength].some(([length, values]) => values.size === 16 ** length)
        ? true
        : [...byLength].map(([length, values]) => ({ shift: 32 - 4 * length, values }));
    hashPrefixesOf.set(role, compiled);
  }
  return compiled;
}

/**
 * Each of a role's `paths` patterns' first component with its "/", when that component is
 * literal and more follow, else null. tuf-js (isTargetInPathPattern) matches a path of as many
 * components as the pattern, component by component, so a path that does not start with it is
 * not matched.
 */
const literalHeadsOf = new WeakMap<DelegatedRole, (string | null)[]>();
function literalHeads(role: DelegatedRole): (string | null)[] {
  let heads = literalHeadsOf.get(role);
  if (!heads) {
    heads = (role.paths ?? []).map((p) => {
      const slash = p.indexOf('/');
      return slash > 0 && /^[\w.-]+$/.test(p.slice(0, slash)) ? p.slice(0, slash + 1) : null;
    });
    literalHeadsOf.set(role, heads);
  }
  return heads;
}

/**
 * DelegatedRole.isDelegatedPath, with path_hash_prefixes read from the walk's one hash, and
 * `paths` of literal and `*` components matched without minimatch (every publish walks the
 * `shards` role's `index/*`; issue 25, B10).
 */
function delegatesPath(role: DelegatedRole, walk: PathWalk): boolean {
  if (role.paths) {
    const heads = literalHeads(role);
    let undecided = false;
    for (let i = 0; i < role.paths.length; i++) {
      // Not under the pattern's literal first component: no match (`trust/...` against the shards' `index/*`).
      if (heads[i] !== null && !walk.path.startsWith(heads[i]!)) continue;
      const m = inLiteralPathPattern(walk.parts(), role.paths[i]!);
      if (m === true) return true;
      if (m === undefined) undecided = true;
    }
    return undecided ? role.isDelegatedPath(walk.path) : false;
  }
  const compiled = role.pathHashPrefixes ? hashPrefixes(role) : null;
  if (compiled === true) return true;
  if (!compiled) return role.isDelegatedPath(walk.path);
  const h = walk.hash();
  for (const { shift, values } of compiled) if (values.has(shift === 32 ? 0 : h >>> shift)) return true;
  return false;
}

/**
 * Groups target changes by the role a client finds each in (TUF spec 5.6.7: the same walk of the
 * delegations), each role's as a list in the changes' order (bench B9: a map per role cost more
 * than the walk at 100k paths; writer.ts nextTargets merges a list into the role's paths).
 */
export function groupByRole<T>(changes: Iterable<readonly [string, T]>, load: (role: string) => Targets | undefined): Map<string, [string, T][]> {
  const byRole = new Map<string, [string, T][]>();
  const steps = new Map<string, Step>();
  for (const [path, value] of changes) {
    const role = leafRoleFor(path, load, steps);
    if (!role) throw new KeyshareError(Codes.INTERNAL, `no role is trusted for ${path}`);
    let list = byRole.get(role);
    if (!list) byRole.set(role, (list = []));
    list.push([path, value]);
  }
  return byRole;
}

/** Parsed targets-type metadata of the latest records, each parsed once (tuf.ts parsedTargets). */
export function targetsLoader(latest: ReadonlyMap<string, MetadataRecord>): (role: string) => Targets | undefined {
  return (role) => {
    const rec = latest.get(role);
    return rec ? parsedTargets(rec.bytes) : undefined;
  };
}

export interface TenantAdditionInput {
  latest: ReadonlyMap<string, MetadataRecord>;
  tenant: TenantRecord;
  /** The tenant's key; null for an offline tenant (its roles are returned unsigned). */
  tenantSigner: Signer | null;
  targetsSigner: Signer;
  now: Date;
  expiry: ExpiryConfig;
  /** The expiry of the tenant's roles, when rebuilding what an offline tenant signed. */
  tenantExpires?: string;
}

export interface TenantAddition {
  /** The new and changed targets-type roles (not snapshot and timestamp). */
  metadata: MetadataRecord[];
  /** Unsigned when there is no tenant signer: the tenant's role and bins, for the tenant to sign. */
  unsigned: Map<string, Metadata<Targets>>;
}

/**
 * Publishing a tenant: a new delegation in targets (before "trust"), the tenant's role with its
 * bins, and the tenant's existing trust documents moved out of the service's bins into the
 * tenant's bins (same bytes, same target entries: only the role that signs them changes).
 */
export async function tenantAddition(input: TenantAdditionInput): Promise<TenantAddition> {
  const { latest, tenant, now, expiry } = input;
  const load = targetsLoader(latest);
  const top = load('targets');
  if (!top?.delegations?.roles) throw new KeyshareError(Codes.INTERNAL, 'targets has no delegations');
  const name = tenantRole(tenant.name);
  if (top.delegations.roles[name]) throw new KeyshareError(TenantCodes.TENANT_EXISTS, `tenant ${tenant.name} is already published`);
  const delegation = tenantDelegation(tenant);
  const expires = input.tenantExpires ?? expiresAt(now, lifetimeOf(name, expiry));
  // A name used before (a removed tenant) goes on from its last versions: snapshot still lists them (TUF spec 5.5.5).
  const nextVersion = (role: string) => (latest.get(role)?.version ?? 0) + 1;

  // Move the tenant's existing documents: from each service bin, the entries the new delegation covers.
  const bins = tenantBins(tenant);
  const moved = new Map<string, Record<string, TargetFile>>([...bins.getRoles()].map((b): [string, Record<string, TargetFile>] => [b, {}]));
  const trustBins = load(TRUST_ROLE)?.delegations?.succinctRoles;
  const changedServiceBins: MetadataRecord[] = [];
  for (const bin of trustBins?.getRoles() ?? []) {
    const signed = load(bin);
    if (!signed) continue;
    const keep: Record<string, TargetFile> = {};
    let touched = false;
    for (const [path, file] of Object.entries(signed.targets)) {
      if (path.startsWith('trust/') && delegation.isDelegatedPath(path)) {
        moved.get(bins.getRoleForTarget(path))![path] = file;
        touched = true;
      } else {
        keep[path] = file;
      }
    }
    if (!touched) continue;
    const md = new Metadata(new Targets({ version: signed.version + 1, specVersion: SPEC_VERSION, expires: expiresAt(now, lifetimeOf(bin, expiry)), targets: keep }));
    changedServiceBins.push(await signedRecord(bin, md, input.targetsSigner));
  }

  const unsigned = new Map<string, Metadata<Targets>>();
  unsigned.set(
    name,
    new Metadata(
      new Targets({
        version: nextVersion(name),
        specVersion: SPEC_VERSION,
        expires,
        delegations: new Delegations({ keys: { [tenant.keyid]: tufKey(tenant.keyid, tenant.publicKey) }, succinctRoles: bins }),
      }),
    ),
  );
  for (const [bin, targets] of moved) {
    unsigned.set(bin, new Metadata(new Targets({ version: nextVersion(bin), specVersion: SPEC_VERSION, expires, targets: sortedKeys(targets) })));
  }

  // targets: the tenant's delegation goes before "trust" (and after earlier tenants).
  const roles: Record<string, DelegatedRole> = {};
  for (const [n, r] of Object.entries(top.delegations.roles)) if (n !== TRUST_ROLE) roles[n] = r;
  roles[name] = delegation;
  if (top.delegations.roles[TRUST_ROLE]) roles[TRUST_ROLE] = top.delegations.roles[TRUST_ROLE];
  const keys = { ...top.delegations.keys, [tenant.keyid]: tufKey(tenant.keyid, tenant.publicKey) };
  const newTop = await nextTopTargets(top, new Delegations({ keys, roles }), input.targetsSigner, now, expiry);

  const metadata = [newTop, ...changedServiceBins];
  if (input.tenantSigner) {
    for (const [role, md] of unsigned) metadata.push(await signedRecord(role, md, input.tenantSigner));
    unsigned.clear();
  }
  return { metadata, unsigned };
}

/**
 * Removing a tenant: its delegation leaves targets, and the documents its bins list (its last
 * signed trust) move back into the service's bins, with the same target entries. Its roles stay
 * listed in snapshot: TUF spec 5.5.5, a role listed once stays listed. Returns the new targets
 * and service bins, signed; nothing when the tenant was never published.
 */
export async function tenantRemoval(input: { latest: ReadonlyMap<string, MetadataRecord>; tenant: TenantRecord; targetsSigner: Signer; now: Date; expiry: ExpiryConfig }): Promise<MetadataRecord[]> {
  const { latest, tenant, now, expiry } = input;
  const load = targetsLoader(latest);
  const top = load('targets');
  const name = tenantRole(tenant.name);
  if (!top?.delegations?.roles?.[name]) return [];
  const trustBins = load(TRUST_ROLE)?.delegations?.succinctRoles;
  if (!trustBins) throw new KeyshareError(Codes.INTERNAL, 'the trust role has no bins');
  const back = new Map<string, Record<string, TargetFile>>();
  for (const bin of load(name)?.delegations?.succinctRoles?.getRoles() ?? []) {
    for (const [path, file] of Object.entries(load(bin)?.targets ?? {})) {
      const to = trustBins.getRoleForTarget(path);
      back.set(to, { ...back.get(to), [path]: file });
    }
  }
  const out: MetadataRecord[] = [];
  for (const [bin, files] of [...back].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const old = load(bin)!;
    const md = new Metadata(new Targets({ version: old.version + 1, specVersion: SPEC_VERSION, expires: expiresAt(now, lifetimeOf(bin, expiry)), targets: sortedKeys({ ...old.targets, ...files }) }));
    out.push(await signedRecord(bin, md, input.targetsSigner));
  }
  const roles = Object.fromEntries(Object.entries(top.delegations.roles).filter(([n]) => n !== name));
  const used = new Set(Object.values(roles).flatMap((r) => r.keyIDs));
  const keys = Object.fromEntries(Object.entries(top.delegations.keys).filter(([id]) => used.has(id)));
  const newTop = await nextTopTargets(top, new Delegations({ keys, roles }), input.targetsSigner, now, expiry);
  return [newTop, ...out];
}

/** The next version of targets with other delegations (roles in search order), signed by the targets key. */
async function nextTopTargets(top: Targets, delegations: Delegations, signer: Signer, now: Date, expiry: ExpiryConfig): Promise<MetadataRecord> {
  const md = new Metadata(
    new Targets({ version: top.version + 1, specVersion: SPEC_VERSION, expires: expiresAt(now, lifetimeOf('targets', expiry)), targets: top.targets, delegations }),
  );
  return signedRecord('targets', md, signer);
}

// ---- tenant definitions (the store's meta table) ----

/** Reads and writes tenant definitions through the store's meta table. */
export type MetaStore = Pick<Store, 'getMeta' | 'setMeta'>;

export async function listTenants(store: MetaStore): Promise<TenantRecord[]> {
  const raw = await store.getMeta(TENANTS_META_KEY);
  return raw ? (JSON.parse(raw) as TenantRecord[]) : [];
}

export async function saveTenants(store: MetaStore, tenants: readonly TenantRecord[]): Promise<void> {
  await store.setMeta(TENANTS_META_KEY, JSON.stringify([...tenants].sort((a, b) => (a.name < b.name ? -1 : 1))));
}

export function newTenantRecord(input: { name: string; patterns: string[]; offline: boolean; publicKey: TufPublicKey; now: Date; binBits?: number }): TenantRecord {
  return {
    name: input.name,
    patterns: input.patterns,
    offline: input.offline,
    keyid: tufKeyId(input.publicKey),
    publicKey: input.publicKey,
    binBits: input.binBits ?? TENANT_BIN_BITS,
    createdAt: input.now.toISOString(),
  };
}

// ---- the keys of service-held tenants: keys/tenant-{name}.pem (PKCS#8, 0600) ----

export const tenantKeyPath = (dataDir: string, name: string) => join(keysDir(dataDir), `${tenantRole(name)}.pem`);

/** Generates a service-held tenant key; an existing key file for the name is reused. */
export function ensureTenantKey(dataDir: string, name: string): FileSigner {
  const path = tenantKeyPath(dataDir, name);
  if (!existsSync(path)) writeNewKey(path, generateSigningKeyPem());
  return new FileSigner(readFileSync(path, 'utf8'));
}

/** The service-held tenant keys in the data dir, by tenant name. */
export function loadTenantSigners(dataDir: string): Map<string, Signer> {
  const out = new Map<string, Signer>();
  const dir = keysDir(dataDir);
  if (!existsSync(dir)) return out;
  for (const f of readdirSync(dir)) {
    const m = /^tenant-([a-z0-9-]+)\.pem$/.exec(f);
    if (m) out.set(m[1]!, new FileSigner(readFileSync(join(dir, f), 'utf8')));
  }
  return out;
}
