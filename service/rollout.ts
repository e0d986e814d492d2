/**
 * Client rollout status (issue 21): `fetch --report` posts here through a `client` token; the
 * store keeps each client's latest report, bounded by a cap and an expiry; `clients ls`, the
 * console's Rollout page, `revoke --wait-rollout` and /metrics read it. The decisions are in
 * service/domain/clients.ts.
 */
import { KeyshareError } from './errors.js';
import { checkReport, ClientCodes, clientMatches, rolloutOf, type ClientSummary, type Rollout } from './domain/clients.js';
import { firstVersionCarrying, type RevocationRef } from './domain/history.js';
import { scopeContains } from './domain/scope.js';
import { latestVersion, type HistoryRecords } from './history.js';
import type { ClientRecord, Store } from './store/index.js';

/** What client reports and rollouts read and write. */
export type RolloutStore = Pick<Store, 'listClients' | 'listRevocations' | 'listTrustDocs' | 'listTrustHistory' | 'putClientReport'> & HistoryRecords;

export interface ClientLimitsConfig {
  /** The most clients kept; a new client's report beyond it is refused with CLIENTS_FULL. */
  cap: number;
  /** A client that has not reported for this long is dropped. */
  ttlMs: number;
  /** /metrics names at most this many label sets (the rest are `other`). */
  metricLabelSets: number;
}

export const DEFAULT_CLIENT_LIMITS: ClientLimitsConfig = { cap: 10_000, ttlMs: 30 * 24 * 3600_000, metricLabelSets: 50 };

const since = (now: Date, limits: ClientLimitsConfig) => new Date(now.getTime() - limits.ttlMs).toISOString();

/** Stores a report made with client token `tokenId` (REPORT_INVALID, CLIENTS_FULL). */
export async function recordReport(store: RolloutStore, tokenId: string, body: unknown, now: Date, limits: ClientLimitsConfig): Promise<ClientRecord> {
  const report = checkReport(body);
  const latest = await latestVersion(store);
  if (report.version > latest) throw new KeyshareError(ClientCodes.REPORT_INVALID, `version ${report.version} was never published here (the newest is ${latest})`);
  const rec: ClientRecord = { ...report, summary: report.summary as Record<string, unknown> | null, tokenId, reportedAt: now.toISOString() };
  if (!(await store.putClientReport(rec, { cap: limits.cap, expireBefore: since(now, limits) }))) {
    throw new KeyshareError(ClientCodes.CLIENTS_FULL, `the service keeps at most ${limits.cap} clients; a new one is refused until others expire`);
  }
  return rec;
}

const stateOf = (c: ClientRecord) => ({ ...c, summary: c.summary as ClientSummary | null });

/** The clients that reported within the expiry, filtered as `clients ls` asks. */
export async function listClients(store: RolloutStore, now: Date, limits: ClientLimitsConfig, filter: { behind?: number | null; labels?: Record<string, string> } = {}): Promise<ClientRecord[]> {
  return (await store.listClients(since(now, limits))).filter((c) => clientMatches(stateOf(c), filter));
}

export interface RevocationRollout extends Rollout {
  kind: RevocationRef['kind'];
  id: string;
  scope: string | null;
  revokedAt: string;
}

/**
 * The version that first carries a revocation: the first published document listing it, in the
 * history of its scope's document (or of any scope under it; without a scope, of any scope: a
 * revocation without scope reaches every document in the same publish).
 */
async function carriedFrom(store: RolloutStore, ref: RevocationRef, scope: string | null, latest: number): Promise<number | null> {
  const docs = (await store.listTrustDocs()).map((d) => d.scope);
  const witness = scope !== null && docs.includes(scope) ? scope : docs.find((s) => scope === null || scopeContains(scope, s));
  if (witness === undefined) return null;
  return firstVersionCarrying(ref, await store.listTrustHistory({ after: 0, upTo: latest, limit: 100_000, scope: witness }));
}

/** For each revocation (or only those matching `id`): how many reporting clients hold it, and which do not. */
export async function revocationRollouts(store: RolloutStore, now: Date, limits: ClientLimitsConfig, id?: string): Promise<RevocationRollout[]> {
  const [revocations, clients, latest] = await Promise.all([store.listRevocations(), listClients(store, now, limits), latestVersion(store)]);
  const refs = [
    ...revocations.certificates.map((r) => ({ kind: 'certificate' as const, id: `${r.issuer}/${r.serial}`, scope: r.scope ?? null, revokedAt: r.revokedAt })),
    ...revocations.keys.map((r) => ({ kind: 'key' as const, id: r.id, scope: r.scope ?? null, revokedAt: r.revokedAt })),
    ...revocations.signatures.map((r) => ({ kind: 'signature' as const, id: r.digest, scope: r.scope ?? null, revokedAt: r.revokedAt })),
  ].filter((r) => id === undefined || r.id === id);
  const out: RevocationRollout[] = [];
  for (const r of refs) out.push({ ...r, ...rolloutOf(r.scope, await carriedFrom(store, r, r.scope, latest), clients.map(stateOf)) });
  return out;
}
