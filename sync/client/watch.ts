/**
 * `keyshare fetch --watch` (issue 19): the verified fetch, kept running, as a sidecar or a
 * DaemonSet runs it.
 *
 * - After each verified fetch it waits on the server's change feed (`GET /tuf/feed?after=N`,
 *   a long-poll: README "Freshness"), then fetches again. The feed is only a hint: what is
 *   written is always what the verified fetch returns, never what the feed says. A server
 *   without a feed (a static copy behind nginx or a CDN: 404) is polled every `intervalMs`.
 * - A failed fetch (server down, a refused signature, expired metadata, ...) leaves --out as it
 *   was, and is tried again with backoff (1 s doubling, at most `intervalMs`).
 * - Trust is as old as the last verified fetch. Once that is older than `maxStaleMs`, the watch
 *   ends with TRUST_STALE, naming the last failure; without `maxStaleMs` it keeps trying.
 * - Local faults that trying again cannot mend (an --out holding files fetch did not write, an
 *   unusable cache or pinned root, --strict refusing the trust) end it at once.
 * - `signal` (SIGTERM, SIGINT) ends it between steps; a running --exec command gets SIGTERM.
 */
import { spawn } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import { KeyshareError, SharedCodes } from '../../shared/errors.js';
import { FetchCodes, toFetchError } from './errors.js';
import { FormatCodes } from '../formats/types.js';

/** What trying again cannot mend: the watch ends at once with these (local set-up, not the server). */
const FATAL = new Set<string>([FetchCodes.OUT_INVALID, FetchCodes.CACHE_UNUSABLE, FetchCodes.ROOT_INVALID, FetchCodes.CRL_CACHE_INVALID, FormatCodes.UNENFORCEABLE, FormatCodes.FORMAT_UNSUPPORTED, SharedCodes.USAGE]);

/** The longest long-poll asked of the server (its own limit is 60 s). */
const MAX_FEED_WAIT_MS = 25_000;
/** A feed answer is `{ "timestampVersion", "rootVersion" }`: far below this. */
const MAX_FEED_BYTES = 4096;
const FIRST_BACKOFF_MS = 1000;

export interface WatchPorts {
  /** One verified fetch, writing --out when its files changed. */
  sync(): Promise<{ timestampVersion: number; changed: boolean }>;
  /** After each change of --out (the first write included): `--exec`. */
  afterChange(): Promise<void>;
  /** Resolves when the feed announces a version above `after` ('changed'), its wait ended ('unchanged'), or the server has no feed ('no-feed'); rejects otherwise. */
  feed(after: number, waitMs: number, signal: AbortSignal): Promise<'changed' | 'unchanged' | 'no-feed'>;
  warn(message: string): void;
  now?: () => number;
}

export interface WatchOptions {
  /** `--max-stale`: end with TRUST_STALE when the last verified fetch is older (null: never). */
  maxStaleMs: number | null;
  /** `--interval`: the longest time between two verified fetches while the server is reachable. */
  intervalMs: number;
  signal: AbortSignal;
}

const seconds = (ms: number) => `${Math.round(ms / 100) / 10}s`;

async function pause(ms: number, signal: AbortSignal): Promise<void> {
  await delay(Math.max(0, ms), undefined, { signal }).catch(() => {});
}

/** Runs until `signal` aborts (resolves) or trust goes stale or a fatal fault (rejects with a KeyshareError). */
export async function watch(ports: WatchPorts, options: WatchOptions): Promise<void> {
  const now = ports.now ?? Date.now;
  const { signal, maxStaleMs, intervalMs } = options;
  let lastGood = now();
  let failures = 0;
  let version = 0;
  while (!signal.aborted) {
    try {
      const r = await ports.sync();
      lastGood = now();
      failures = 0;
      version = r.timestampVersion;
      if (r.changed && !signal.aborted) await ports.afterChange();
    } catch (caught) {
      const e = toFetchError(caught);
      if (FATAL.has(e.code)) throw e;
      if (signal.aborted) break;
      failures++;
      const age = now() - lastGood;
      if (maxStaleMs !== null && age >= maxStaleMs) {
        throw new KeyshareError(FetchCodes.TRUST_STALE, `no verified fetch for ${seconds(age)}, longer than --max-stale ${seconds(maxStaleMs)}; --out still holds the trust verified then. Last failure: ${e.code}: ${e.message}`, { cause: e });
      }
      // Backoff, but never past the moment trust turns stale (that is checked then).
      const backoff = Math.min(FIRST_BACKOFF_MS * 2 ** (failures - 1), intervalMs, maxStaleMs === null ? Infinity : maxStaleMs - age);
      ports.warn(`${e.code}: ${e.message}; --out is unchanged (verified ${seconds(age)} ago), trying again in ${seconds(backoff)}`);
      await pause(backoff, signal);
      continue;
    }
    if (signal.aborted) break;
    // Wait for a change; a verified fetch at least every intervalMs (and well within --max-stale).
    const waitMs = Math.min(MAX_FEED_WAIT_MS, intervalMs, maxStaleMs === null ? Infinity : maxStaleMs / 2);
    const started = now();
    const answer = await ports.feed(version, waitMs, signal).catch(() => 'failed' as const);
    if (signal.aborted) break;
    // A server without a feed is polled; a feed that failed is followed by a fetch, which says why (and backs off).
    if (answer === 'no-feed') await pause(waitMs - (now() - started), signal);
    else if (answer === 'failed') await pause(Math.min(FIRST_BACKOFF_MS, waitMs), signal);
  }
}

/** The change feed's long-poll (service/http/routes/feed.ts), bounded in time and size. */
export async function readFeed(server: string, after: number, waitMs: number, signal: AbortSignal): Promise<'changed' | 'unchanged' | 'no-feed'> {
  const wait = Math.max(1, Math.floor(waitMs / 1000));
  const res = await fetch(`${server}/tuf/feed?after=${after}&wait=${wait}`, {
    signal: AbortSignal.any([signal, AbortSignal.timeout(waitMs + 10_000)]),
    headers: { 'user-agent': 'keyshare-fetch-watch' },
  });
  const body = Buffer.from(await res.arrayBuffer().catch(() => new ArrayBuffer(0)));
  if (res.status === 404) return 'no-feed';
  if (!res.ok || body.length > MAX_FEED_BYTES) throw new Error(`feed: HTTP ${res.status}`);
  const version = (JSON.parse(body.toString('utf8')) as { timestampVersion?: unknown }).timestampVersion;
  if (!Number.isSafeInteger(version)) throw new Error('feed: not a feed answer');
  return (version as number) > after ? 'changed' : 'unchanged';
}

/**
 * `--exec CMD`: runs CMD with `sh -c` after a change, with KEYSHARE_OUT and
 * KEYSHARE_TIMESTAMP_VERSION set. Its output goes to this process's stderr when stdout is
 * machine-readable (--json). A failure is a warning: --out is written either way.
 */
export async function runExec(command: string, env: Record<string, string>, options: { signal: AbortSignal; stdoutToStderr: boolean; warn: (m: string) => void }): Promise<void> {
  const code = await new Promise<number | string>((done) => {
    const child = spawn('sh', ['-c', command], {
      stdio: ['ignore', options.stdoutToStderr ? 2 : 'inherit', 'inherit'],
      env: { ...process.env, ...env },
      signal: options.signal,
    });
    child.on('error', (e) => done(e.name === 'AbortError' ? 'stopped' : e.message));
    child.on('exit', (status, sig) => done(status ?? sig ?? 'unknown'));
  });
  if (code !== 0 && code !== 'stopped') options.warn(`--exec ${JSON.stringify(command)} ended with ${typeof code === 'number' ? `exit code ${code}` : code}; --out was written`);
}
