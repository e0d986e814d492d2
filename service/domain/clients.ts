/**
 * Client rollout status (issue 21): which verified version each reporting client holds, who is
 * behind, and how far a revocation has reached. Pure: the store keeps the reports
 * (service/rollout.ts reads and writes them).
 */
import { KeyshareError } from '../errors.js';
import { parseScope, scopeContains } from './scope.js';

export const ClientCodes = {
  /** A report that is not a report (bad client ID, labels, version, scopes...). */
  REPORT_INVALID: 'REPORT_INVALID',
  /** The service keeps as many clients as it may: a new client's report is refused. */
  CLIENTS_FULL: 'CLIENTS_FULL',
} as const;

/** Bounds of one report (a misbehaving client cannot grow a row past them). */
export const REPORT_LIMITS = { labels: 8, scopes: 64, text: 64 } as const;

/** A client ID: `--client-id`, or the random one a client keeps in its cache dir. */
export const CLIENT_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
/** Prometheus label names (a label becomes a metric label), without the reserved `__` prefix. */
const LABEL_NAME = /^[a-z][a-z0-9_]{0,31}$/;
const PRINTABLE = /^[\x20-\x7e]*$/;

/** A federated downstream's summary of its own clients, in its upstream's versions (issue 21, federation). */
export interface ClientSummary {
  /** How many clients report to the downstream. */
  clients: number;
  /** For each upstream timestamp version, how many of them hold a downstream version carrying it (or a later one). */
  holding: Record<string, number>;
}

export interface ClientReport {
  clientId: string;
  version: number;
  labels: Record<string, string>;
  scopes: string[];
  format: string;
  keyshareVersion: string;
  summary: ClientSummary | null;
}

const bad = (message: string) => new KeyshareError(ClientCodes.REPORT_INVALID, message);

function text(v: unknown, field: string): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > REPORT_LIMITS.text || !PRINTABLE.test(v)) {
    throw bad(`${field} is printable text of 1 to ${REPORT_LIMITS.text} characters`);
  }
  return v;
}

/** Labels as `--label K=V` gives them: at most 8, lower-case names, short printable values. */
export function checkLabels(v: unknown): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw bad('labels is an object of names to values');
  const entries = Object.entries(v as Record<string, unknown>);
  if (entries.length > REPORT_LIMITS.labels) throw bad(`at most ${REPORT_LIMITS.labels} labels`);
  const out: Record<string, string> = {};
  for (const [k, value] of entries.sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!LABEL_NAME.test(k)) throw bad(`label name ${JSON.stringify(k.slice(0, 40))} must match ${LABEL_NAME.source}`);
    out[k] = text(value, `label ${k}`);
  }
  return out;
}

/** `K=V` strings (the CLI's --label) as labels. */
export function parseLabelArgs(args: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of args) {
    const i = a.indexOf('=');
    if (i <= 0) throw bad(`a label is NAME=VALUE, not ${JSON.stringify(a)}`);
    out[a.slice(0, i)] = a.slice(i + 1);
  }
  return checkLabels(out);
}

function checkSummary(v: unknown): ClientSummary | null {
  if (v === undefined || v === null) return null;
  const s = v as Partial<ClientSummary>;
  if (typeof s !== 'object' || !Number.isSafeInteger(s.clients) || s.clients! < 0 || typeof s.holding !== 'object' || s.holding === null) {
    throw bad('summary is { clients, holding: { VERSION: COUNT } }');
  }
  const holding = Object.entries(s.holding);
  if (holding.length > SUMMARY_VERSIONS) throw bad(`a summary holds at most ${SUMMARY_VERSIONS} versions`);
  for (const [version, n] of holding) {
    if (!/^[1-9][0-9]{0,15}$/.test(version) || !Number.isSafeInteger(n) || (n as number) < 0 || (n as number) > s.clients!) throw bad('summary.holding maps versions to counts');
  }
  return { clients: s.clients!, holding: Object.fromEntries(holding) as Record<string, number> };
}

/** Validates a report body (REPORT_INVALID naming the field). */
export function checkReport(body: unknown): ClientReport {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw bad('a report is a JSON object');
  const b = body as Record<string, unknown>;
  if (typeof b.clientId !== 'string' || !CLIENT_ID.test(b.clientId)) throw bad(`clientId must match ${CLIENT_ID.source}`);
  if (!Number.isSafeInteger(b.version) || (b.version as number) < 1) throw bad('version is the verified timestamp version, a positive integer');
  const scopes = b.scopes ?? [];
  if (!Array.isArray(scopes) || scopes.length > REPORT_LIMITS.scopes) throw bad(`scopes is a list of at most ${REPORT_LIMITS.scopes} scopes`);
  for (const s of scopes) {
    if (typeof s !== 'string') throw bad('a scope is a string');
    parseScope(s);
  }
  return {
    clientId: b.clientId,
    version: b.version as number,
    labels: checkLabels(b.labels),
    scopes: [...new Set(scopes as string[])].sort(),
    format: text(b.format, 'format'),
    keyshareVersion: text(b.keyshareVersion, 'keyshareVersion'),
    summary: checkSummary(b.summary),
  };
}

/** What the rollout needs of a stored client. */
export interface ClientState {
  clientId: string;
  version: number;
  labels: Record<string, string>;
  scopes: string[];
  summary: ClientSummary | null;
}

/** `clients ls` filters: `--behind V` (holds an older version) and `--label K=V` (all must match). */
export function clientMatches(c: ClientState, filter: { behind?: number | null; labels?: Record<string, string> }): boolean {
  if (filter.behind != null && !(c.version < filter.behind)) return false;
  return Object.entries(filter.labels ?? {}).every(([k, v]) => c.labels[k] === v);
}

/** Whether a revocation at `scope` (null: everywhere) concerns a client fetching `scopes` (none listed: every scope). */
export function concerns(scope: string | null, c: ClientState): boolean {
  return scope === null || c.scopes.length === 0 || c.scopes.some((s) => scopeContains(scope, s));
}

export interface Rollout {
  /** The first published version that carries the revocation (null: not published yet). */
  carriedFrom: number | null;
  /** Reporting machines it concerns: plain clients, plus the clients a downstream summarises. */
  clients: number;
  holding: number;
  /** holding / clients, in percent (100 when no client is concerned). */
  percent: number;
  /** The directly reporting clients that do not hold it yet. */
  behind: string[];
}

/**
 * How far a revocation has reached. A plain client holds it when its verified version is at or
 * past `carriedFrom`; a downstream counts its summarised clients holding that upstream version.
 */
export function rolloutOf(scope: string | null, carriedFrom: number | null, clients: readonly ClientState[]): Rollout {
  let total = 0;
  let holding = 0;
  const behind: string[] = [];
  for (const c of clients) {
    if (!concerns(scope, c)) continue;
    if (c.summary) {
      total += c.summary.clients;
      if (carriedFrom !== null) holding += Math.max(0, ...Object.entries(c.summary.holding).filter(([v]) => Number(v) >= carriedFrom).map(([, n]) => n));
      continue;
    }
    total++;
    if (carriedFrom !== null && c.version >= carriedFrom) holding++;
    else behind.push(c.clientId);
  }
  return { carriedFrom, clients: total, holding, percent: total === 0 ? 100 : Math.floor((holding * 10000) / total) / 100, behind };
}

/**
 * `/metrics` per label set: clients and clients behind `latest`. At most `maxSets` label sets
 * are named (the most populous); the rest are counted under `other="true"` (bounded cardinality).
 */
export function clientMetrics(clients: readonly ClientState[], latest: number, maxSets: number): { labels: Record<string, string>; total: number; behind: number }[] {
  const sets = new Map<string, { labels: Record<string, string>; total: number; behind: number }>();
  for (const c of clients) {
    const key = JSON.stringify(c.labels);
    const s = sets.get(key) ?? { labels: c.labels, total: 0, behind: 0 };
    s.total++;
    if (c.version < latest) s.behind++;
    sets.set(key, s);
  }
  const sorted = [...sets.values()].sort((a, b) => b.total - a.total || (JSON.stringify(a.labels) < JSON.stringify(b.labels) ? -1 : 1));
  const named = sorted.slice(0, maxSets);
  const rest = sorted.slice(maxSets);
  if (rest.length) named.push({ labels: { other: 'true' }, total: rest.reduce((n, s) => n + s.total, 0), behind: rest.reduce((n, s) => n + s.behind, 0) });
  return named;
}

/**
 * A downstream keyshare's summary of its own clients for its upstream (issue 21, federation).
 * `carried` maps each upstream timestamp version accepted to the first version of this service
 * that carries it (ascending). A plain client holds upstream version U when its version is at or
 * past U's; a client that is itself a downstream counts its summarised clients the same way.
 */
export function summarizeClients(clients: readonly ClientState[], carried: readonly (readonly [upstream: number, from: number])[]): ClientSummary {
  const holdingOf = (c: ClientState, from: number): number =>
    c.summary ? Math.max(0, ...Object.entries(c.summary.holding).filter(([v]) => Number(v) >= from).map(([, n]) => n)) : c.version >= from ? 1 : 0;
  const holding: Record<string, number> = {};
  for (const [upstream, from] of carried.slice(-SUMMARY_VERSIONS)) {
    const n = clients.reduce((sum, c) => sum + holdingOf(c, from), 0);
    if (n > 0) holding[String(upstream)] = n;
  }
  return { clients: clients.reduce((sum, c) => sum + (c.summary ? c.summary.clients : 1), 0), holding };
}

/** A summary names at most this many upstream versions (checkSummary refuses more). */
export const SUMMARY_VERSIONS = 1000;
