/**
 * A TUF repository builder for attack tests: a keyshare-shaped repository (index.json and
 * trust documents as targets, consistent snapshots) signed with node:crypto ed25519 keys, where
 * a test controls everything a repository owner or an attacker holding keys could: the keys
 * and thresholds of each role, every version and expiry, which keys sign, and the bytes served.
 *
 * Metadata is built as plain JSON and signed over its canonical form (TUF spec 4.2), so that
 * a test can also write what @tufjs/models would refuse to build (duplicate key IDs, a lying
 * length). `files` holds what a server serves under /tuf/, by path relative to it:
 *   `{N}.root.json`, `timestamp.json`, `{V}.snapshot.json`, `{V}.targets.json`,
 *   `targets/{dir/}{sha256}.{name}`.
 */
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { canonicalize } from '@tufjs/canonical-json';
import { trustTargetPath } from '../../../service/domain/scope.js';
import { TRUST_MEDIA_TYPE } from '../../../service/domain/types.js';
import { INDEX_V1_MEDIA_TYPE as INDEX_MEDIA_TYPE } from '../../../service/domain/trust-index.js';

export type TopRole = 'root' | 'timestamp' | 'snapshot' | 'targets';
export type OnlineRole = Exclude<TopRole, 'root'>;
export const ONLINE_ROLES: OnlineRole[] = ['timestamp', 'snapshot', 'targets'];

export const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');
const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
const DAY = 86_400_000;

/** An ed25519 TUF key (keyid: SHA-256 of the canonical public key, TUF spec 4.2). */
export class TestKey {
  private constructor(
    readonly keyid: string,
    readonly json: { keytype: 'ed25519'; scheme: 'ed25519'; keyval: { public: string } },
    private readonly privateKey: KeyObject,
  ) {}

  static generate(): TestKey {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32).toString('hex');
    const json = { keytype: 'ed25519' as const, scheme: 'ed25519' as const, keyval: { public: raw } };
    return new TestKey(sha256(canonicalize(json)), json, privateKey);
  }

  sign(bytes: Uint8Array): string {
    return sign(null, bytes, this.privateKey).toString('hex');
  }
}

/** A signature entry; `keyid` may lie about which key made it. */
export interface SignatureEntry {
  keyid: string;
  sig: string;
}

/** Metadata as served: `signed` and its signatures. */
export interface Envelope {
  signatures: SignatureEntry[];
  signed: any;
}

/** Signs `signed` (canonical JSON) with each key; `edit` may then tamper with the envelope. */
export function envelope(signed: object, keys: TestKey[], edit?: (env: Envelope) => void): Buffer {
  const bytes = Buffer.from(canonicalize(signed as never));
  const env: Envelope = { signatures: keys.map((k) => ({ keyid: k.keyid, sig: k.sign(bytes) })), signed };
  edit?.(env);
  return Buffer.from(JSON.stringify(env));
}

/** The signature a key makes over `signed`, to forge or duplicate entries with. */
export function signatureOf(signed: object, key: TestKey): SignatureEntry {
  return { keyid: key.keyid, sig: key.sign(Buffer.from(canonicalize(signed as never))) };
}

/** A publicKey anchor (EC P-256 SPKI), as keyshare publishes it. */
export interface TestAnchor {
  id: string;
  name: string;
  type: 'publicKey';
  publicKey: string;
}

export function newAnchor(name = 'ci'): TestAnchor {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const der = publicKey.export({ format: 'der', type: 'spki' });
  return { id: `sha256:${sha256(der)}`, name, type: 'publicKey', publicKey: publicKey.export({ format: 'pem', type: 'spki' }).toString() };
}

export interface PublishOptions {
  /** Which online roles to sign a new version of (default: targets only if its content changed, then snapshot and timestamp). */
  roles?: OnlineRole[];
  /** Version numbers to use instead of current + 1. */
  versions?: Partial<Record<OnlineRole, number>>;
  /** Expiry times instead of now + the role's lifetime. */
  expires?: Partial<Record<OnlineRole, Date>>;
  /** Keys to sign with instead of the role's keys. */
  signers?: Partial<Record<OnlineRole, TestKey[]>>;
  /** Tampers with a role's envelope after signing (signatures, or the signed part). */
  edit?: Partial<Record<OnlineRole, (env: Envelope) => void>>;
  /** Rewrites a role's signed part after it is built and before it is signed. */
  mutate?: Partial<Record<OnlineRole, (signed: any) => void>>;
}

export interface RootOptions {
  version?: number;
  expires?: Date;
  /** Keys that sign the new root (default: the previous root's keys and the new root's keys). */
  signers?: TestKey[];
  /** Tampers with the envelope after signing. */
  edit?: (env: Envelope) => void;
  /** Rewrites the signed part before it is signed. */
  mutate?: (signed: any) => void;
}

/**
 * One repository. `keys` and `thresholds` are what the next root names; `publishRoot()` signs
 * them into a new root version. `publish()` signs new versions of the online roles.
 */
export class TestRepository {
  readonly keys: Record<TopRole, TestKey[]>;
  readonly thresholds: Record<TopRole, number> = { root: 1, timestamp: 1, snapshot: 1, targets: 1 };
  /** The newest version of each role published (the one the served timestamp points at). */
  readonly versions: Record<TopRole, number> = { root: 0, timestamp: 0, snapshot: 0, targets: 0 };
  /** What a server serves under /tuf/. */
  files = new Map<string, Buffer>();
  /** Target path -> bytes: what the next targets version lists. */
  readonly targets = new Map<string, Buffer>();
  /** The snapshot lists each role's length and hashes too (TUF spec 4.4: optional). */
  snapshotHashes = false;
  /** The reference time used for expiries. */
  now = () => new Date();
  private readonly scopes = new Map<string, { version: number; anchors: TestAnchor[] }>();
  private targetsDirty = true;
  /** Root keys of the previous root version: they sign the next root too (TUF spec 5.3.4). */
  private previousRootKeys: TestKey[] = [];

  constructor(options: { rootKeys?: number; rootThreshold?: number } = {}) {
    this.keys = {
      root: Array.from({ length: options.rootKeys ?? 1 }, () => TestKey.generate()),
      timestamp: [TestKey.generate()],
      snapshot: [TestKey.generate()],
      targets: [TestKey.generate()],
    };
    this.thresholds.root = options.rootThreshold ?? 1;
  }

  /** Root v1, one scope with one anchor, and the first version of every online role. */
  static create(options: { rootKeys?: number; rootThreshold?: number; scope?: string } = {}): TestRepository {
    const repo = new TestRepository(options);
    repo.publishRoot();
    repo.setScope(options.scope ?? 'registry.test', [newAnchor()]);
    repo.publish();
    return repo;
  }

  /**
   * An independent copy with the same keys, versions and files: a fork, e.g. what an attacker
   * holding some of the keys builds from the repository as it was.
   */
  clone(): TestRepository {
    const c = new TestRepository();
    for (const r of Object.keys(this.keys) as TopRole[]) c.keys[r] = [...this.keys[r]];
    Object.assign(c.thresholds, this.thresholds);
    Object.assign(c.versions, this.versions);
    c.files = new Map(this.files);
    for (const [p, b] of this.targets) c.targets.set(p, b);
    for (const [s, v] of this.scopes) c.scopes.set(s, { ...v });
    c.snapshotHashes = this.snapshotHashes;
    c.now = this.now;
    c.previousRootKeys = [...this.previousRootKeys];
    c.targetsDirty = this.targetsDirty;
    return c;
  }

  /** A copy of what is served now (to replay later). */
  capture(): Map<string, Buffer> {
    return new Map(this.files);
  }

  file(path: string): Buffer {
    const f = this.files.get(path);
    if (!f) throw new Error(`the repository serves no ${path}`);
    return f;
  }

  json(path: string): any {
    return JSON.parse(this.file(path).toString('utf8'));
  }

  // ---- trust content ----

  /** Defines (or redefines) a scope's trust document: a new document version, listed in index.json. */
  setScope(scope: string, anchors: TestAnchor[]): void {
    const version = (this.scopes.get(scope)?.version ?? 0) + 1;
    this.scopes.set(scope, { version, anchors });
    const doc = {
      mediaType: TRUST_MEDIA_TYPE,
      scope,
      version,
      issuedAt: iso(this.now()),
      level: 'strict',
      anchors: anchors.map((a) => ({ ...a, definedAt: scope })),
      revoked: { certificates: [], keys: [], signatures: [] },
      crls: [],
    };
    this.targets.set(trustTargetPath(scope), Buffer.from(JSON.stringify(doc)));
    const index = {
      mediaType: INDEX_MEDIA_TYPE,
      scopes: [...this.scopes].sort(([a], [b]) => (a < b ? -1 : 1)).map(([s, v]) => ({ scope: s, path: trustTargetPath(s), version: v.version })),
    };
    this.targets.set('index.json', Buffer.from(JSON.stringify(index)));
    this.targetsDirty = true;
  }

  anchors(scope: string): TestAnchor[] {
    return this.scopes.get(scope)?.anchors ?? [];
  }

  /** Sets a target file's bytes (any path). */
  setTarget(path: string, bytes: Buffer): void {
    this.targets.set(path, bytes);
    this.targetsDirty = true;
  }

  // ---- root ----

  rootSigned(version: number, expires: Date): any {
    const roles = Object.fromEntries(
      (['root', 'snapshot', 'targets', 'timestamp'] as TopRole[]).map((r) => [r, { keyids: this.keys[r].map((k) => k.keyid), threshold: this.thresholds[r] }]),
    );
    const keys: Record<string, unknown> = {};
    for (const r of Object.values(this.keys)) for (const k of r) keys[k.keyid] = k.json;
    return { _type: 'root', spec_version: '1.0.31', version, expires: iso(expires), consistent_snapshot: true, keys, roles };
  }

  /** Signs the next root from `keys` and `thresholds` and serves it as `{N}.root.json`. */
  publishRoot(options: RootOptions = {}): Buffer {
    const version = options.version ?? this.versions.root + 1;
    const signed = this.rootSigned(version, options.expires ?? new Date(this.now().getTime() + 365 * DAY));
    options.mutate?.(signed);
    const signers = options.signers ?? [...new Map([...this.previousRootKeys, ...this.keys.root].map((k) => [k.keyid, k])).values()];
    const bytes = envelope(signed, signers, options.edit);
    this.files.set(`${version}.root.json`, bytes);
    this.versions.root = Math.max(this.versions.root, version);
    this.previousRootKeys = [...this.keys.root];
    return bytes;
  }

  /** Replaces a role's keys with fresh ones (for the next root). */
  rotate(role: TopRole, count = 1): TestKey[] {
    this.keys[role] = Array.from({ length: count }, () => TestKey.generate());
    return this.keys[role];
  }

  root(version = this.versions.root): Buffer {
    return this.file(`${version}.root.json`);
  }

  // ---- online roles ----

  /** Signs new versions of the online roles and serves them. */
  publish(options: PublishOptions = {}): void {
    const now = this.now();
    const roles = new Set(options.roles ?? [...(this.targetsDirty ? (['targets'] as const) : []), 'snapshot', 'timestamp']);
    const lifetime: Record<OnlineRole, number> = { timestamp: DAY, snapshot: 7 * DAY, targets: 30 * DAY };
    const sign = (role: OnlineRole, signed: any): Buffer => {
      options.mutate?.[role]?.(signed);
      return envelope(signed, options.signers?.[role] ?? this.keys[role], options.edit?.[role]);
    };
    const common = (role: OnlineRole) => ({
      spec_version: '1.0.31',
      version: options.versions?.[role] ?? this.versions[role] + 1,
      expires: iso(options.expires?.[role] ?? new Date(now.getTime() + lifetime[role])),
    });

    if (roles.has('targets')) {
      const targets: Record<string, { length: number; hashes: { sha256: string } }> = {};
      for (const [path, bytes] of [...this.targets].sort(([a], [b]) => (a < b ? -1 : 1))) {
        targets[path] = { length: bytes.length, hashes: { sha256: sha256(bytes) } };
        this.files.set(`targets/${consistentName(path, sha256(bytes))}`, bytes);
      }
      const signed = { _type: 'targets', ...common('targets'), targets };
      const bytes = sign('targets', signed);
      this.versions.targets = signed.version;
      this.files.set(`${signed.version}.targets.json`, bytes);
      this.targetsDirty = false;
    }
    if (roles.has('snapshot')) {
      const targetsFile = this.file(`${this.versions.targets}.targets.json`);
      const meta = {
        'targets.json': this.snapshotHashes
          ? { version: this.versions.targets, length: targetsFile.length, hashes: { sha256: sha256(targetsFile) } }
          : { version: this.versions.targets },
      };
      const signed = { _type: 'snapshot', ...common('snapshot'), meta };
      const bytes = sign('snapshot', signed);
      this.versions.snapshot = signed.version;
      this.files.set(`${signed.version}.snapshot.json`, bytes);
    }
    if (roles.has('timestamp')) {
      const snapshotFile = this.file(`${this.versions.snapshot}.snapshot.json`);
      const signed = {
        _type: 'timestamp',
        ...common('timestamp'),
        meta: { 'snapshot.json': { version: this.versions.snapshot, length: snapshotFile.length, hashes: { sha256: sha256(snapshotFile) } } },
      };
      const bytes = sign('timestamp', signed);
      this.versions.timestamp = signed.version;
      this.files.set('timestamp.json', bytes);
    }
  }

  /** The consistent-snapshot file name of the current version of a target. */
  targetFile(path: string): string {
    return `targets/${consistentName(path, sha256(this.targets.get(path)!))}`;
  }
}

/** TUF spec 5.7.3: `{dir}/{sha256}.{name}`. */
export function consistentName(path: string, hash: string): string {
  const slash = path.lastIndexOf('/');
  return slash >= 0 ? `${path.slice(0, slash + 1)}${hash}.${path.slice(slash + 1)}` : `${hash}.${path}`;
}
