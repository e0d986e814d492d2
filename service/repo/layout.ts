/**
 * The shape of keyshare's TUF repository.
 *
 *   root ─ targets (index.json)
 *            ├─ "shards" (paths index/*; terminating; index-bins.ts)
 *            │    └─ succinct hashed bins "shards-bin-0", "shards-bin-1", one per 16 shards: index/{prefix}.json
 *            └─ "trust" (path_hash_prefixes: every path; terminating)
 *                 └─ succinct hashed bins "bin-0".."bin-f", more as scopes grow (TAP 15, bins.ts):
 *                      trust/*.json, crl/*.crl
 *
 * Per-tenant roles go into targets' delegations before "trust". One change re-signs a bounded
 * set of roles: its document's bin, its index shard's bin, snapshot and timestamp (targets
 * only when index.json changes, that is when the bins grow).
 */
// @tufjs/models does not re-export the delegation classes from its index.
import { SuccinctRoles } from '@tufjs/models/dist/role.js';

export const TRUST_ROLE = 'trust';
export const BIN_PREFIX = 'bin';
export { INDEX_TARGET } from '../domain/trust-index.js';
/** A new repository's bins (they grow with the scopes: service/repo/bins.ts). */
export const DEFAULT_BIN_BITS = 4;
/** Every SHA-256 hex path hash starts with one of these: a delegation that matches all paths. */
export const ALL_HASH_PREFIXES = [...'0123456789abcdef'];

export interface ExpiryConfig {
  timestamp: number;
  snapshot: number;
  targets: number;
  root: number;
}

const DAY = 86_400;
/** Defaults (seconds): timestamp 1 day, snapshot 7 days, targets 30 days, root 1 year. */
export const DEFAULT_EXPIRY: ExpiryConfig = { timestamp: DAY, snapshot: 7 * DAY, targets: 30 * DAY, root: 365 * DAY };

export function binRoles(keyids: string[], bitLength: number): SuccinctRoles {
  return new SuccinctRoles({ keyIDs: keyids, threshold: 1, bitLength, namePrefix: BIN_PREFIX });
}

export function isBinRole(role: string): boolean {
  return /^bin-[0-9a-f]+$/.test(role);
}

/** The lifetime that applies to a role: delegated roles expire like targets. */
export function lifetimeOf(role: string, expiry: ExpiryConfig): number {
  if (role === 'timestamp') return expiry.timestamp;
  if (role === 'snapshot') return expiry.snapshot;
  if (role === 'root') return expiry.root;
  return expiry.targets;
}
