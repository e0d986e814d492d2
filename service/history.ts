/**
 * `keyshare diff` and the console's version history (issue 21): reads the trust history that
 * every publish records (service/store `trust_history`) and compares two versions with the pure
 * service/domain/history.ts, the same comparison a dry run's plan makes.
 */
import { KeyshareError } from './errors.js';
import { diffOf, HistoryCodes, trustStateOf, type VersionDiff } from './domain/history.js';
import type { ScopePlan } from './domain/plan.js';
import type { Store } from './store/index.js';

/** What the version history reads (RepositoryRecords and RolloutRecords of the store). */
export type HistoryRecords = Pick<Store, 'latestMetadata' | 'listTrustHistory' | 'trustHistoryAt'>;

export type { VersionDiff } from './domain/history.js';

/** The newest published timestamp version (0 before the first publish). */
export async function latestVersion(store: HistoryRecords): Promise<number> {
  return (await store.latestMetadata('timestamp'))?.version ?? 0;
}

/** What changed from `from` (default: the version before `to`) to `to` (default: the newest), for the scopes under `scope`. */
export async function diffVersions(store: HistoryRecords, q: { from?: number; to?: number; scope?: string | null }): Promise<VersionDiff> {
  const latest = await latestVersion(store);
  const to = q.to ?? latest;
  const from = q.from ?? Math.max(0, to - 1);
  for (const v of [from, to]) {
    if (!Number.isSafeInteger(v) || v < 0 || v > latest) throw new KeyshareError(HistoryCodes.VERSION_UNKNOWN, `version ${v} was never published (the newest is ${latest})`);
  }
  if (from > to) throw new KeyshareError(HistoryCodes.VERSION_UNKNOWN, `--from ${from} is after --to ${to}`);
  const [before, after] = await Promise.all([store.trustHistoryAt(from), store.trustHistoryAt(to)]);
  return { from, to, scope: q.scope ?? null, changes: diffOf(trustStateOf(before), trustStateOf(after), q.scope) };
}

export interface VersionEntry {
  version: number;
  publishedAt: string;
  changes: ScopePlan[];
}

/** The newest `limit` versions that changed trust, each with its diff from the one before it. */
export async function recentVersions(store: HistoryRecords, limit: number): Promise<VersionEntry[]> {
  const latest = await latestVersion(store);
  // A publish touches at most a few thousand documents in practice; the window bounds the read.
  const rows = await store.listTrustHistory({ after: Math.max(0, latest - 10 * limit), upTo: latest, limit: 20_000 });
  const versions = [...new Map(rows.map((r) => [r.version, r.publishedAt])).entries()].sort(([a], [b]) => b - a).slice(0, limit);
  const out: VersionEntry[] = [];
  for (const [version, publishedAt] of versions) out.push({ version, publishedAt, changes: (await diffVersions(store, { from: version - 1, to: version })).changes });
  return out;
}
