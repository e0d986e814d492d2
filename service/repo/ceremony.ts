/**
 * The root ceremony, as pure functions over parsed metadata and an explicit `now`: stage root
 * N+1 from root N, check one signature, count thresholds, and say what is missing.
 *
 * TUF spec 5.3.4: a client accepts root N+1 only when it is signed by a threshold of the root
 * keys of root N *and* by a threshold of its own root keys. Thresholds count distinct key IDs
 * (one signature per key ID: `signatures` is keyed by key ID).
 */
import { canonicalize } from '@tufjs/canonical-json';
import { Key, Metadata, MetadataKind, Root, Signature } from '@tufjs/models';
import { tufKeyId, type Signer, type TufPublicKey } from '../crypto/signer.js';
import { KeyshareError } from '../errors.js';
import type { OnlineRole } from './keys.js';
import { expiresAt, tufKey } from './tuf.js';

export const CeremonyCodes = {
  THRESHOLD_NOT_MET: 'THRESHOLD_NOT_MET',
  UNKNOWN_KEY: 'UNKNOWN_KEY',
  BAD_SIGNATURE: 'BAD_SIGNATURE',
  NO_PROPOSAL: 'NO_PROPOSAL',
  PROPOSAL_PENDING: 'PROPOSAL_PENDING',
  PROPOSAL_MISMATCH: 'PROPOSAL_MISMATCH',
  PROPOSAL_STALE: 'PROPOSAL_STALE',
  KEY_NOT_FOUND: 'KEY_NOT_FOUND',
  DUPLICATE_KEY: 'DUPLICATE_KEY',
  KEY_IN_USE: 'KEY_IN_USE',
  THRESHOLD_INVALID: 'THRESHOLD_INVALID',
  BAD_EXPIRY: 'BAD_EXPIRY',
  BAD_METADATA: 'BAD_METADATA',
} as const;

/** What `root propose` (and `key rotate`) asks to change between root N and root N+1. */
export interface RootChange {
  addKeys?: TufPublicKey[];
  /** TUF key IDs (hex; upper case accepted). */
  removeKeyIds?: string[];
  threshold?: number;
  /** New keys for online roles (`key rotate`): each replaces the role's key(s). */
  online?: Partial<Record<OnlineRole, TufPublicKey>>;
  /** Seconds from `now` until root N+1 expires. */
  lifetimeSeconds: number;
}

export interface ThresholdReport {
  /** The root version whose root role this counts against. */
  version: number;
  threshold: number;
  /** Root key IDs of that version with a valid signature on the proposal (distinct). */
  signedBy: string[];
  /** Root key IDs of that version that have not signed yet. */
  unsigned: string[];
  /** How many more distinct signatures it needs (0 when met). */
  missing: number;
}

export interface SignatureStatus {
  /** Root N, the trusted root (TUF spec 5.3.4: its threshold must be met too). */
  trusted: ThresholdReport;
  /** Root N+1, the proposal. */
  proposed: ThresholdReport;
  met: boolean;
}

export interface RootSignatureInput {
  keyid: string;
  /** Hex signature over the canonical JSON of the proposal's `signed`. */
  sig: string;
}

/** Parses root metadata JSON with a coded error instead of a library exception. */
export function parseRootJson(json: unknown): Metadata<Root> {
  try {
    const md = Metadata.fromJSON(MetadataKind.Root, json as never) as Metadata<Root>;
    if (md.signed.type !== MetadataKind.Root) throw new Error('not root metadata');
    return md;
  } catch (e) {
    throw new KeyshareError(CeremonyCodes.BAD_METADATA, `not TUF root metadata: ${(e as Error).message}`, { cause: e });
  }
}

/** The bytes every root signature covers (TUF spec 4.2: canonical JSON of `signed`). */
export function signedBytes(md: Metadata<Root>): Buffer {
  return Buffer.from(canonicalize(md.signed.toJSON() as never));
}

const normalizeKeyId = (id: string) => id.trim().toLowerCase();
const short = (id: string) => id.slice(0, 12);

/**
 * Builds root N+1 (unsigned) from root N: same online roles unless `online` replaces them,
 * root keys changed as asked, version N+1, a fresh expiry. Keys no role uses are dropped.
 */
export function proposeRoot(current: Root, change: RootChange, now: Date): Metadata<Root> {
  const keys: Record<string, Key> = { ...current.keys };
  const roles: Record<string, { keyids: string[]; threshold: number }> = {};
  for (const [name, role] of Object.entries(current.roles)) roles[name] = { keyids: [...role.keyIDs], threshold: role.threshold };
  const rootRole = roles.root;
  if (!rootRole) throw new KeyshareError(CeremonyCodes.BAD_METADATA, 'root N has no root role');
  const onlineIds = new Set(Object.entries(roles).flatMap(([name, r]) => (name === 'root' ? [] : r.keyids)));

  for (const raw of change.removeKeyIds ?? []) {
    const id = normalizeKeyId(raw);
    if (!rootRole.keyids.includes(id)) {
      throw new KeyshareError(CeremonyCodes.KEY_NOT_FOUND, `key ${id} is not a root key of root v${current.version} (root keys: ${rootRole.keyids.join(', ')})`);
    }
    rootRole.keyids = rootRole.keyids.filter((k) => k !== id);
  }
  for (const pub of change.addKeys ?? []) {
    const id = tufKeyId(pub);
    if (rootRole.keyids.includes(id)) throw new KeyshareError(CeremonyCodes.DUPLICATE_KEY, `key ${id} is already a root key`);
    // A root key must never be an online key: the point of root keys is that they stay offline.
    if (onlineIds.has(id)) throw new KeyshareError(CeremonyCodes.KEY_IN_USE, `key ${id} is an online key; root keys must be separate keys kept offline`);
    keys[id] = tufKey(id, pub);
    rootRole.keyids.push(id);
  }
  for (const [role, pub] of Object.entries(change.online ?? {}) as [OnlineRole, TufPublicKey][]) {
    const id = tufKeyId(pub);
    if (rootRole.keyids.includes(id)) throw new KeyshareError(CeremonyCodes.KEY_IN_USE, `key ${id} is a root key; it cannot be the ${role} key`);
    keys[id] = tufKey(id, pub);
    roles[role] = { keyids: [id], threshold: 1 };
  }
  const threshold = change.threshold ?? rootRole.threshold;
  if (rootRole.keyids.length === 0) throw new KeyshareError(CeremonyCodes.THRESHOLD_INVALID, 'root N+1 would have no root keys');
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > rootRole.keyids.length) {
    throw new KeyshareError(
      CeremonyCodes.THRESHOLD_INVALID,
      `the root threshold must be between 1 and the number of root keys (${rootRole.keyids.length}), not ${threshold}`,
    );
  }
  rootRole.threshold = threshold;

  const used = new Set(Object.values(roles).flatMap((r) => r.keyids));
  const json = current.toJSON() as Record<string, unknown>;
  json.version = current.version + 1;
  json.expires = expiresAt(now, change.lifetimeSeconds);
  json.keys = Object.fromEntries(
    Object.entries(keys)
      .filter(([id]) => used.has(id))
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([id, k]) => [id, k.toJSON()]),
  );
  json.roles = roles;
  return new Metadata(Root.fromJSON(json as never));
}

/** The root role's keys of a root version, by key ID. */
function rootKeys(root: Root): Map<string, Key> {
  const out = new Map<string, Key>();
  for (const id of root.roles.root?.keyIDs ?? []) {
    const k = root.keys[id];
    if (k) out.set(id, k);
  }
  return out;
}

function validSignature(key: Key, md: Metadata<Root>, sig: string): boolean {
  try {
    key.verifySignature({ signed: md.signed, signatures: { [key.keyID]: new Signature({ keyID: key.keyID, sig }) } } as never);
    return true;
  } catch {
    return false;
  }
}

/**
 * Checks one signature on the proposal. Only the root keys of root N and of root N+1 may sign
 * it (UNKNOWN_KEY), and the signature must verify (BAD_SIGNATURE).
 */
export function checkRootSignature(trusted: Root, proposal: Metadata<Root>, input: RootSignatureInput): Signature {
  const keyid = normalizeKeyId(input.keyid);
  const sig = input.sig.trim().toLowerCase();
  const key = rootKeys(trusted).get(keyid) ?? rootKeys(proposal.signed).get(keyid);
  if (!key) {
    throw new KeyshareError(
      CeremonyCodes.UNKNOWN_KEY,
      `key ${keyid} is not a root key of root v${trusted.version} or of the proposed root v${proposal.signed.version}`,
    );
  }
  if (!/^[0-9a-f]+$/.test(sig) || !validSignature(key, proposal, sig)) {
    throw new KeyshareError(CeremonyCodes.BAD_SIGNATURE, `the signature by key ${keyid} does not verify over root v${proposal.signed.version}`);
  }
  return new Signature({ keyID: keyid, sig });
}

/** Returns a copy of the proposal with the signatures added (each checked; all or none). */
export function addRootSignatures(trusted: Root, proposal: Metadata<Root>, inputs: RootSignatureInput[]): Metadata<Root> {
  const signatures = { ...proposal.signatures };
  for (const input of inputs) {
    const s = checkRootSignature(trusted, proposal, input);
    signatures[s.keyID] = s;
  }
  return new Metadata(proposal.signed, signatures);
}

/** Signs the proposal with local signers (files or PKCS#11), returning the signatures only. */
export async function signRootProposal(proposal: Metadata<Root>, signers: Signer[]): Promise<RootSignatureInput[]> {
  const bytes = signedBytes(proposal);
  const out: RootSignatureInput[] = [];
  for (const s of signers) out.push({ keyid: s.keyid, sig: Buffer.from(await s.sign(bytes)).toString('hex') });
  return out;
}

function report(version: number, root: Root, proposal: Metadata<Root>): ThresholdReport {
  const signedBy: string[] = [];
  const unsigned: string[] = [];
  for (const [id, key] of rootKeys(root)) {
    const s = proposal.signatures[id];
    if (s && validSignature(key, proposal, s.sig)) signedBy.push(id);
    else unsigned.push(id);
  }
  const threshold = root.roles.root?.threshold ?? 1;
  return { version, threshold, signedBy, unsigned, missing: Math.max(0, threshold - signedBy.length) };
}

/** TUF spec 5.3.4: counts valid signatures against the thresholds of root N and root N+1. */
export function signatureStatus(trusted: Root, proposal: Metadata<Root>): SignatureStatus {
  const t = report(trusted.version, trusted, proposal);
  const p = report(proposal.signed.version, proposal.signed, proposal);
  return { trusted: t, proposed: p, met: t.missing === 0 && p.missing === 0 };
}

/** Says exactly what is missing, e.g. for THRESHOLD_NOT_MET. */
export function describeMissing(status: SignatureStatus): string {
  const parts: string[] = [];
  for (const [label, r] of [
    ['the current root', status.trusted],
    ['the proposed root', status.proposed],
  ] as const) {
    if (r.missing === 0) continue;
    parts.push(
      `root v${r.version} (${label}) needs ${r.threshold} signature${r.threshold > 1 ? 's' : ''} by its root keys and has ${r.signedBy.length}: ` +
        `sign with ${r.missing} more of ${r.unsigned.map(short).join(', ')}`,
    );
  }
  return parts.length ? parts.join('; ') : 'both thresholds are met';
}

/** Throws THRESHOLD_NOT_MET (with the status as details) unless both thresholds are met. */
export function assertPublishable(trusted: Root, proposal: Metadata<Root>): SignatureStatus {
  if (proposal.signed.version !== trusted.version + 1) {
    throw new KeyshareError(
      CeremonyCodes.PROPOSAL_STALE,
      `the proposal is root v${proposal.signed.version} but the current root is v${trusted.version}; discard it and propose again`,
    );
  }
  const status = signatureStatus(trusted, proposal);
  if (!status.met) throw new KeyshareError(CeremonyCodes.THRESHOLD_NOT_MET, describeMissing(status), { details: status });
  return status;
}

/** Whether two root proposals have the same `signed` part (canonical JSON). */
export function sameSigned(a: Metadata<Root>, b: Metadata<Root>): boolean {
  return signedBytes(a).equals(signedBytes(b));
}

/** Human lines describing what root N+1 changes against root N. */
export function describeChanges(trusted: Root, proposal: Root): string[] {
  const out: string[] = [];
  const before = new Set(trusted.roles.root?.keyIDs ?? []);
  const after = new Set(proposal.roles.root?.keyIDs ?? []);
  for (const id of after) if (!before.has(id)) out.push(`adds root key ${id}`);
  for (const id of before) if (!after.has(id)) out.push(`removes root key ${id}`);
  if (trusted.roles.root?.threshold !== proposal.roles.root?.threshold) {
    out.push(`root threshold ${trusted.roles.root?.threshold} -> ${proposal.roles.root?.threshold}`);
  }
  for (const role of ['targets', 'snapshot', 'timestamp']) {
    const a = trusted.roles[role]?.keyIDs.join(',');
    const b = proposal.roles[role]?.keyIDs.join(',');
    if (a !== b) out.push(`new ${role} key ${b}`);
  }
  out.push(`expires ${proposal.expires}`);
  return out;
}

/**
 * Parses `--expires`: a duration (`90d`, `52w`, `12h`, `1y`) or an ISO 8601 time. Returns
 * seconds from `now`; the result must be in the future.
 */
export function parseExpiry(value: string, now: Date): number {
  const m = /^(\d+)\s*([smhdwy])$/i.exec(value.trim());
  let seconds: number;
  if (m) {
    const unit = { s: 1, m: 60, h: 3600, d: 86_400, w: 7 * 86_400, y: 365 * 86_400 }[m[2]!.toLowerCase() as 's']!;
    seconds = Number(m[1]) * unit;
  } else {
    const t = Date.parse(value);
    if (Number.isNaN(t) || !/^\d{4}-\d{2}-\d{2}/.test(value.trim())) {
      throw new KeyshareError(CeremonyCodes.BAD_EXPIRY, `--expires must be a duration (e.g. 365d, 52w, 1y) or an ISO 8601 time, not ${JSON.stringify(value)}`);
    }
    seconds = Math.floor((t - now.getTime()) / 1000);
  }
  if (!(seconds > 0)) throw new KeyshareError(CeremonyCodes.BAD_EXPIRY, '--expires must be in the future');
  return seconds;
}

/**
 * `<data>/root.json` after a root rotation that stopped before writing it: the newest root that
 * the stored root versions reach from the file's root, each step verified against the
 * thresholds of both roots (TUF spec 5.3.4), as a client would walk them. Null when the file
 * is current, or when any step does not verify: then the file is left as it is, so that a root
 * written into the database behind the ceremony's back never becomes the root people pin.
 */
export function verifiedNewerRoot(fileBytes: Uint8Array, stored: { version: number; bytes: Uint8Array }[]): Buffer | null {
  let trusted: Metadata<Root>;
  try {
    trusted = parseRootJson(JSON.parse(Buffer.from(fileBytes).toString('utf8')));
  } catch {
    return null;
  }
  let newest: Buffer | null = null;
  for (const rec of [...stored].filter((r) => r.version > trusted.signed.version).sort((a, b) => a.version - b.version)) {
    if (rec.version !== trusted.signed.version + 1) return null;
    let next: Metadata<Root>;
    try {
      next = parseRootJson(JSON.parse(Buffer.from(rec.bytes).toString('utf8')));
    } catch {
      return null;
    }
    if (next.signed.version !== rec.version || !signatureStatus(trusted.signed, next).met) return null;
    trusted = next;
    newest = Buffer.from(rec.bytes);
  }
  return newest;
}
