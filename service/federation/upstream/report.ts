/**
 * A downstream's rollout report to its upstream (issue 21, federation): this service reports to
 * an upstream it federates as one client, with its own clients' rollout summarised in the
 * upstream's versions, so that the upstream sees how far its revocations reached through this
 * hub without seeing the hub's machines (service/domain/clients.ts summarizeClients).
 *
 * - The upstream's `client` token is given at `upstream add --report-token-file` and kept in the
 *   store's meta table (a client token can only report: service/auth/authorize.ts).
 * - Which version of this service first carries an upstream version is recorded after each sync
 *   that accepted a newer one, once this service has published (the version published then
 *   carries it; a later publish only makes the count conservative).
 * - The report follows every successful sync (polls and the change feed), so it is at most one
 *   poll interval old.
 */
import { UpstreamCodes, upstreamError } from './errors.js';
import { summarizeClients, SUMMARY_VERSIONS, type ClientState, type ClientSummary } from '../../domain/clients.js';
import { guardFor, type AddressPolicy } from '../../net/outbound.js';
import type { Store, UpstreamRecord } from '../../store/index.js';
import type { FederationClient } from '../ports.js';
import { selfIdentity } from '../identity.js';
import { upstreamState } from './sync.js';

const tokenKey = (name: string) => `upstream.report-token.${name}`;
/** A client token as `token create` prints it (ks_<id>_<secret>). */
const TOKEN = /^ks_[A-Za-z0-9_-]{8,200}$/;

export async function setReportToken(store: Store, name: string, token: string | null): Promise<void> {
  if (token !== null && !TOKEN.test(token)) throw upstreamError(UpstreamCodes.UPSTREAM_INVALID, 'the report token is a client token of the upstream, as `keyshare token create --role client` prints it');
  await store.setMeta(tokenKey(name), token ?? '');
}

export async function reportToken(store: Store, name: string): Promise<string | null> {
  return (await store.getMeta(tokenKey(name))) || null;
}

/** The pairs [upstream version, first version here carrying it], ascending, bounded. */
export type Carried = [number, number][];

export const carriedOf = (row: UpstreamRecord): Carried => (upstreamState(row)?.carried ?? []).slice();

/** Adds [upstreamVersion, ours] when the upstream version is newer than the last one recorded. */
export function nextCarried(prev: Carried, upstreamVersion: number, ours: number): Carried {
  const last = prev[prev.length - 1];
  if (last && last[0] >= upstreamVersion) return prev;
  return [...prev, [upstreamVersion, Math.max(ours, last?.[1] ?? 0)] as [number, number]].slice(-SUMMARY_VERSIONS);
}

/** This service's summary for `row`'s upstream, over the clients reporting here now. */
export function summaryFor(row: UpstreamRecord, clients: readonly ClientState[]): ClientSummary {
  return summarizeClients(clients, carriedOf(row));
}

export interface ReportDeps {
  store: Store;
  client: Pick<FederationClient, 'sendReport' | 'clientVersion'>;
  outbound: AddressPolicy;
  /** The clients reporting here, within their expiry (service/rollout.ts listClients). */
  clients: () => Promise<ClientState[]>;
}

/** Sends this service's report to the upstream of `row` when it has a report token; REPORT_FAILED when refused. */
export async function reportUpstream(deps: ReportDeps, row: UpstreamRecord): Promise<boolean> {
  const token = await reportToken(deps.store, row.name);
  const version = row.timestampVersion;
  const self = await selfIdentity(deps.store);
  if (!token || version === null || row.mode !== 'federate' || !self) return false;
  await deps.client.sendReport(
    row.url,
    token,
    {
      clientId: `keyshare-${self}`,
      version,
      labels: { keyshare: 'downstream' },
      // Every revocation of the upstream concerns a downstream: it republishes what it follows.
      scopes: [],
      format: 'keyshare',
      keyshareVersion: deps.client.clientVersion,
      summary: summaryFor(row, await deps.clients()),
    },
    guardFor(deps.outbound),
  );
  return true;
}
