/**
 * The root ceremony and online-key rotation, as admin operations: stage root N+1 in the
 * store's `meta` table (so that any process sharing the database sees it), collect checked
 * signatures, and publish only when the thresholds of both root N and root N+1 are met
 * (TUF spec 5.3.4). The checks are the pure functions of repo/ceremony.ts; this file only
 * reads, passes the bytes to them, and persists what they accept.
 */
import { Metadata, MetadataKind, type Root } from '@tufjs/models';
import { tufPublicKeyFromPem } from './crypto/signer.js';
import { assertModuleAllowed } from './crypto/pkcs11.js';
import { KeyshareError, Codes } from './errors.js';
import {
  CeremonyCodes,
  addRootSignatures,
  assertPublishable,
  describeChanges,
  describeMissing,
  parseExpiry,
  parseRootJson,
  proposeRoot,
  sameSigned,
  signRootProposal,
  signatureStatus,
  type RootChange,
  type RootSignatureInput,
  type SignatureStatus,
} from './repo/ceremony.js';
import { loadRootSigners, type OnlineRole } from './repo/keys.js';
import { DEFAULT_EXPIRY, type ExpiryConfig } from './repo/layout.js';
import { discardNextKeys, isOnlineRole, loadSignersForRoot, promoteNextKeys, stageNextKey } from './repo/online-keys.js';
import type { Publisher } from './repo/publisher.js';
import { metadataBytes, parseMetadata } from './repo/tuf.js';
import type { Store } from './store/index.js';
import { rootPath } from './util/paths.js';
import { writePrivateFileAtomic as writeFileAtomic } from './util/private-files.js';

const PROPOSAL_KEY = 'root_proposal';

export interface CeremonyDeps {
  dataDir: string;
  store: Store;
  publisher: Publisher;
  clock?: () => Date;
}

/** What the store's meta table holds while a root is staged. */
interface StoredProposal {
  /** Root N+1 with the signatures collected so far. */
  metadata: Record<string, unknown>;
  /** Online roles whose staged `keys/{role}.next.pem` this proposal names. */
  nextKeys: OnlineRole[];
  createdAt: string;
  reason: string | null;
}

export interface ProposeInput {
  /** PEM public keys to add as root keys. */
  addKeys?: string[];
  /** TUF key IDs of root keys to remove. */
  removeKeys?: string[];
  threshold?: number;
  /** A duration (`365d`) or an ISO 8601 time; default: the configured root lifetime. */
  expires?: string;
}

export interface ProposalView {
  version: number;
  createdAt: string;
  reason: string | null;
  changes: string[];
  status: SignatureStatus;
  /** Human summary of what is still missing ("both thresholds are met" when none). */
  missing: string;
  /** The staged root N+1 with its signatures: export it to sign offline. */
  metadata: Record<string, unknown>;
}

export interface RootPublishResult {
  version: number;
  rotatedRoles: string[];
  rolesSigned: string[];
  timestampVersion: number;
}

export interface RotateResult {
  role: OnlineRole;
  keyid: string;
  published: RootPublishResult | null;
  /** Set when the rotation waits for offline root signatures. */
  proposal: ProposalView | null;
}

export class RootCeremony {
  private readonly clock: () => Date;

  constructor(private readonly deps: CeremonyDeps) {
    this.clock = deps.clock ?? (() => new Date());
  }

  private async expiry(): Promise<ExpiryConfig> {
    return { ...DEFAULT_EXPIRY, ...JSON.parse((await this.deps.store.getMeta('expiry')) ?? '{}') };
  }

  /** Root N: the newest published root. */
  async trustedRoot(): Promise<Metadata<Root>> {
    const rec = await this.deps.store.latestMetadata('root');
    if (!rec) throw new KeyshareError(Codes.NOT_INITIALIZED, 'no root has been published');
    return parseMetadata(MetadataKind.Root, rec.bytes);
  }

  private async stored(): Promise<StoredProposal | null> {
    const raw = await this.deps.store.getMeta(PROPOSAL_KEY);
    return raw ? (JSON.parse(raw) as StoredProposal) : null;
  }

  private async requireStored(): Promise<StoredProposal> {
    const s = await this.stored();
    if (!s) throw new KeyshareError(CeremonyCodes.NO_PROPOSAL, 'no root is staged (run `keyshare root propose` or `keyshare key rotate`)');
    return s;
  }

  private view(s: StoredProposal, trusted: Root): ProposalView {
    const md = parseRootJson(s.metadata);
    const status = signatureStatus(trusted, md);
    return {
      version: md.signed.version,
      createdAt: s.createdAt,
      reason: s.reason,
      changes: describeChanges(trusted, md.signed),
      status,
      missing: describeMissing(status),
      metadata: s.metadata,
    };
  }

  /** The staged root N+1, its changes, and which signatures it has and lacks. */
  async status(): Promise<ProposalView> {
    const s = await this.requireStored();
    return this.view(s, (await this.trustedRoot()).signed);
  }

  /** Stages root N+1. One proposal at a time (PROPOSAL_PENDING). */
  async propose(input: ProposeInput, extra: { online?: RootChange['online']; nextKeys?: OnlineRole[]; reason?: string } = {}): Promise<ProposalView> {
    const now = this.clock();
    const addKeys = (input.addKeys ?? []).map((pem, i) => {
      // The API takes public keys only: a private key never travels to the service.
      if (/PRIVATE KEY/.test(pem)) throw new KeyshareError(Codes.BAD_PUBLIC_KEY, `addKeys[${i}] is a private key; send the public key`);
      return tufPublicKeyFromPem(pem);
    });
    const lifetimeSeconds = input.expires ? parseExpiry(input.expires, now) : (await this.expiry()).root;
    return this.deps.store.transaction(async () => {
      if (await this.stored()) {
        throw new KeyshareError(
          CeremonyCodes.PROPOSAL_PENDING,
          'a root is already staged: sign and publish it (`keyshare root status`), or discard it with `keyshare root discard`',
        );
      }
      const trusted = (await this.trustedRoot()).signed;
      const md = proposeRoot(
        trusted,
        { addKeys, removeKeyIds: input.removeKeys, threshold: input.threshold, online: extra.online, lifetimeSeconds },
        now,
      );
      const s: StoredProposal = { metadata: md.toJSON() as Record<string, unknown>, nextKeys: extra.nextKeys ?? [], createdAt: now.toISOString(), reason: extra.reason ?? null };
      await this.deps.store.setMeta(PROPOSAL_KEY, JSON.stringify(s));
      return this.view(s, trusted);
    });
  }

  /** Adds signatures (each checked: UNKNOWN_KEY, BAD_SIGNATURE); all or none. */
  async addSignatures(signatures: RootSignatureInput[]): Promise<ProposalView> {
    return this.deps.store.transaction(async () => {
      const s = await this.requireStored();
      const trusted = (await this.trustedRoot()).signed;
      const md = addRootSignatures(trusted, parseRootJson(s.metadata), signatures);
      const next = { ...s, metadata: md.toJSON() as Record<string, unknown> };
      await this.deps.store.setMeta(PROPOSAL_KEY, JSON.stringify(next));
      return this.view(next, trusted);
    });
  }

  /**
   * Imports the signatures of a staged root signed elsewhere (`root sign --in staged.json
   * --out signed.json` on an offline machine). Its `signed` part must be the staged one.
   */
  async importSigned(json: unknown): Promise<ProposalView> {
    const incoming = parseRootJson(json);
    const s = await this.requireStored();
    if (!sameSigned(incoming, parseRootJson(s.metadata))) {
      throw new KeyshareError(CeremonyCodes.PROPOSAL_MISMATCH, 'the file is not the staged root (its signed part differs); export the staged root again with `keyshare root status --out FILE`');
    }
    const sigs = Object.values(incoming.signatures).map((sig) => ({ keyid: sig.keyID, sig: sig.sig }));
    if (sigs.length === 0) throw new KeyshareError(CeremonyCodes.BAD_SIGNATURE, 'the file holds no signatures');
    return this.addSignatures(sigs);
  }

  /** Drops the staged root and any online key it staged. */
  async discard(): Promise<void> {
    const s = await this.requireStored();
    await this.deps.store.setMeta(PROPOSAL_KEY, '');
    discardNextKeys(this.deps.dataDir, s.nextKeys);
  }

  /**
   * Publishes root N+1 when both thresholds are met (TUF spec 5.3.4), else THRESHOLD_NOT_MET
   * saying what is missing. Root N+1 and every role re-signed for rotated online keys land in
   * one commit; then `<data>/root.json` is replaced atomically and staged keys become current.
   */
  async publish(): Promise<RootPublishResult> {
    const s = await this.requireStored();
    const trusted = (await this.trustedRoot()).signed;
    const md = parseRootJson(s.metadata);
    assertPublishable(trusted, md);
    // The online keys root N+1 names: current ones, or keys staged by `key rotate`.
    const signers = loadSignersForRoot(this.deps.dataDir, md.signed);
    const bytes = metadataBytes(md);
    const result = await this.deps.publisher.publishRoot({ role: 'root', version: md.signed.version, bytes, expires: md.signed.expires }, signers);
    await this.deps.store.setMeta(PROPOSAL_KEY, '');
    writeFileAtomic(rootPath(this.deps.dataDir), bytes);
    promoteNextKeys(this.deps.dataDir, s.nextKeys);
    const rotatedRoles = (['targets', 'snapshot', 'timestamp'] as const).filter(
      (r) => (trusted.roles[r]?.keyIDs ?? []).join() !== (md.signed.roles[r]?.keyIDs ?? []).join(),
    );
    return { version: md.signed.version, rotatedRoles, rolesSigned: result.rolesSigned, timestampVersion: result.timestampVersion };
  }

  /**
   * `key rotate ROLE`: a new online key, named by a staged root N+1. While root keys are in the
   * data dir (development), signs with them and publishes at once; otherwise the proposal waits
   * for offline signatures (`keyshare root sign`, then `keyshare root publish`).
   */
  async rotate(role: string, options: { pkcs11?: string } = {}): Promise<RotateResult> {
    if (!isOnlineRole(role)) throw new KeyshareError(Codes.BAD_REQUEST, `the role must be targets, snapshot or timestamp, not ${JSON.stringify(role)}`);
    this.deps.publisher.requireLead('the key rotation');
    if (await this.stored()) {
      throw new KeyshareError(CeremonyCodes.PROPOSAL_PENDING, 'a root is already staged: publish or discard it (`keyshare root status`) before rotating a key');
    }
    if (options.pkcs11) assertModuleAllowed(options.pkcs11);
    const signer = stageNextKey(this.deps.dataDir, role, options.pkcs11);
    (signer as { close?(): void }).close?.();
    let view: ProposalView;
    try {
      view = await this.propose({}, { online: { [role]: signer.publicKey }, nextKeys: [role], reason: `key rotate ${role}` });
    } catch (e) {
      discardNextKeys(this.deps.dataDir, [role]);
      throw e;
    }
    const trusted = (await this.trustedRoot()).signed;
    const staged = parseRootJson(view.metadata);
    const eligible = new Set([...(trusted.roles.root?.keyIDs ?? []), ...(staged.signed.roles.root?.keyIDs ?? [])]);
    const local = loadRootSigners(this.deps.dataDir).filter((s) => eligible.has(s.keyid));
    if (local.length > 0) {
      view = await this.addSignatures(await signRootProposal(staged, local));
      if (view.status.met) return { role, keyid: signer.keyid, published: await this.publish(), proposal: null };
    }
    return { role, keyid: signer.keyid, published: null, proposal: view };
  }
}
