import { resolve } from 'node:path';
import type { FetchTrustResult } from '../../sync/client/index.js';
import { KeyshareError } from '../../service/errors.js';
import { FORMAT_NAMES, FormatCodes, type FormatName } from '../../sync/formats/types.js';
import type { UnenforcedItem } from '../../sync/formats/enforce.js';
import { print, writeStdout } from '../output.js';
import { readInputFile } from '../files.js';
import { serverUrl } from '../settings.js';
import { parseDuration } from '../../service/util/duration.js';
import { parseLabelArgs } from '../../service/domain/clients.js';
import { CliCodes } from '../errors.js';
import type { OptionDecl } from '../args.js';

function age(seconds: number): string {
  const d = Math.floor(seconds / 86_400);
  const h = Math.floor((seconds % 86_400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const parts = [d && `${d}d`, h && `${h}h`, m && `${m}m`].filter(Boolean);
  return parts.length ? parts.join(' ') : `${seconds}s`;
}

function summary(r: FetchTrustResult, format: string, out: string, files: number): string[] {
  const m = r.metadata;
  const lines = [
    `wrote ${files} ${format} file(s) to ${out} for ${r.documents.length} scope(s): ${r.documents.map((d) => `${d.scope} (v${d.version})`).join(', ') || 'none'}`,
  ];
  for (const rep of r.repositories) lines.push(`  ${rep.repository} -> ${rep.scope}`);
  lines.push(
    m.offline
      ? `offline: from the cache ${m.cacheDir}, fetched ${m.fetchedAt} (age ${age(m.ageSeconds)}); timestamp version ${m.timestampVersion} expires ${m.expires.timestamp}`
      : `verified timestamp version ${m.timestampVersion} (expires ${m.expires.timestamp}) against root version ${m.rootVersion}`,
  );
  return lines;
}

interface CrlCacheOptions {
  dir: string;
  bases: string[];
}

function usage(message: string): KeyshareError {
  return new KeyshareError(CliCodes.USAGE, message);
}

/** --notation-crl-cache and --crl-url-base, checked; null without --notation-crl-cache. */
function crlCacheOptions(o: { format: string; notationCrlCache?: string; crlUrlBase?: string[] }): CrlCacheOptions | null {
  if (o.notationCrlCache === undefined) {
    if (o.crlUrlBase) throw usage('--crl-url-base goes with --notation-crl-cache');
    return null;
  }
  if (o.format !== 'notation') throw usage('--notation-crl-cache goes with --format notation');
  const bases = (o.crlUrlBase ?? []).map((b) => {
    let u: URL;
    try {
      u = new URL(b);
    } catch {
      throw usage(`--crl-url-base must be an http(s) URL, not ${JSON.stringify(b)}`);
    }
    if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.search || u.hash) throw usage(`--crl-url-base must be an http(s) URL without query, not ${b}`);
    return b.replace(/\/+$/, '');
  });
  return { dir: resolve(o.notationCrlCache), bases };
}

/** Loaded on use: CRL parsing brings X.509, which other fetches do not need at start-up. */
async function seedCrlCache(result: FetchTrustResult, options: CrlCacheOptions) {
  const { notationCrlCacheEntries } = await import('../../sync/formats/notation-crl-cache.js');
  const { seedNotationCrlCache } = await import('../../sync/client/notation-crl-cache.js');
  const { entries, warnings } = notationCrlCacheEntries({
    documents: result.documents,
    crls: result.crls,
    bases: [result.metadata.server, ...options.bases],
  });
  return { ...seedNotationCrlCache(options.dir, entries), warnings };
}

/** --lookaside and --lookaside-staging, checked; only with --format containers. */
function lookasideOptions(o: { format: string; lookaside?: string; lookasideStaging?: string }): { url?: string; staging?: string } | undefined {
  if (o.lookaside === undefined && o.lookasideStaging === undefined) return undefined;
  if (o.format !== 'containers') throw usage('--lookaside and --lookaside-staging go with --format containers');
  // containers-registries.d(5): lookaside and lookaside-staging are http(s) or file URLs.
  const check = (flag: string, value: string | undefined) => {
    if (value === undefined) return undefined;
    let u: URL | undefined;
    try {
      u = new URL(value);
    } catch {
      u = undefined;
    }
    if (!u || !['http:', 'https:', 'file:'].includes(u.protocol)) throw usage(`${flag} must be an http(s) or file URL, such as https://sigs.acme.io or file:///var/lib/containers/sigstore, not ${JSON.stringify(value)}`);
    return value;
  };
  return { url: check('--lookaside', o.lookaside), staging: check('--lookaside-staging', o.lookasideStaging) };
}

/** One warning per unenforced item; an item of several scopes (a global revocation) is one line. */
function unenforcedWarnings(format: string, items: UnenforcedItem[]): string[] {
  const byItem = new Map<string, { item: UnenforcedItem; scopes: string[] }>();
  for (const item of items) {
    const key = JSON.stringify([item.kind, item.id, item.reason]);
    const seen = byItem.get(key);
    if (seen) seen.scopes.push(item.scope);
    else byItem.set(key, { item, scopes: [item.scope] });
  }
  return [...byItem.values()].map(({ item, scopes }) => `not enforced by --format ${format}: ${item.kind} ${item.id} (scope ${scopes.join(', ')}): ${item.reason}`);
}

/** --watch and the options that go with it, checked; null without --watch. */
function watchOptions(o: { watch?: boolean; exec?: string; maxStale?: string; interval?: string; offline?: boolean }): { maxStaleMs: number | null; intervalMs: number } | null {
  const duration = (flag: string, value: string) => {
    try {
      return parseDuration(value);
    } catch (e) {
      throw usage(`${flag}: ${(e as Error).message}`);
    }
  };
  if (!o.watch) {
    if (o.exec !== undefined || o.maxStale !== undefined || o.interval !== undefined) throw usage('--exec, --max-stale and --interval go with --watch');
    return null;
  }
  const intervalMs = duration('--interval', o.interval ?? '30s');
  if (o.offline) throw usage('--watch follows the server: it does not go with --offline');
  return { maxStaleMs: o.maxStale === undefined ? null : duration('--max-stale', o.maxStale), intervalMs };
}

function seededLine(s: { dir: string; entries: { action: string }[] }): string {
  const count = (action: string) => s.entries.filter((e) => e.action === action).length;
  return `notation CRL cache ${s.dir}: ${count('written')} written, ${count('unchanged')} unchanged, ${count('kept-newer')} kept (newer)`;
}

/** --report and its options, checked before anything is fetched; null without --report. */
function reportOptions(o: Record<string, any>): { token: string; clientId?: string; labels: Record<string, string> } | null {
  if (!o.report) {
    if (o.clientId || o.label) throw usage('--client-id and --label go with --report');
    return null;
  }
  if (o.offline) throw usage('--report goes with an online fetch (an offline one verified nothing new)');
  const token = (o.token ?? process.env.KEYSHARE_TOKEN ?? '').trim();
  if (!token) throw usage('--report needs a client token: --token or KEYSHARE_TOKEN (keyshare token create --role client)');
  return { token, clientId: o.clientId, labels: parseLabelArgs(o.label ?? []) };
}

/** Reports the verified version (sync/client/report.ts); a refused report is a warning, the fetch stands. */
async function report(r: NonNullable<ReturnType<typeof reportOptions>>, result: FetchTrustResult, format: string, server: string) {
  const { KEYSHARE_VERSION, cachedClientId, sendReport } = await import('../../sync/client/report.js');
  const body = {
    clientId: r.clientId ?? cachedClientId(result.metadata.cacheDir),
    version: result.metadata.timestampVersion,
    labels: r.labels,
    scopes: result.documents.map((d) => d.scope),
    format,
    keyshareVersion: KEYSHARE_VERSION,
  };
  try {
    await sendReport(server, r.token, body);
    return { clientId: body.clientId, version: body.version };
  } catch (e) {
    process.stderr.write(`keyshare: warning: ${(e as Error).message}\n`);
    return null;
  }
}

/** `fetch`'s options, as cli/commands/fetch-command.ts declares them to commander (and cli/args.ts reads them). */
export const FETCH_OPTIONS: readonly OptionDecl[] = [
  ['--server <url>', 'keyshare server (env KEYSHARE_SERVER, default http://127.0.0.1:8080)'],
  ['--root <file>', 'the pinned root.json, obtained out of band (never trusted on first use)', { mandatory: true }],
  ['--out <dir>', 'output directory: fetch replaces only the files it wrote there (listed in its .keyshare-fetch.json), and refuses one holding any other', { mandatory: true }],
  ['--format <format>', 'what to write', { choices: FORMAT_NAMES, mandatory: true }],
  ['--scope <scope>', 'a scope to fetch (repeatable)', { repeatable: true }],
  ['--repository <repo>', 'a repository (host[:port]/path) to fetch the trust for, resolved to its most specific scope (repeatable)', { repeatable: true }],
  ['--cache <dir>', 'cache dir (default $XDG_CACHE_HOME/keyshare/<server>, or ~/.cache/keyshare/<server>)'],
  ['--offline', 'use only the cache (no network), while its metadata has not expired'],
  ['--notation-crl-cache <dir>', "with --format notation: also write the CAs' CRLs into notation's CRL cache, <dir>/crl (dir: notation's cache dir, e.g. ~/.cache/notation; notation >= 1.3.0)"],
  ['--crl-url-base <url>', 'with --notation-crl-cache: another base URL of this service that certificates name in their CRL distribution point, as <url>/crl/<issuer-hex>.crl (repeatable)', { repeatable: true }],
  ['--strict', 'refuse (UNENFORCEABLE, nothing written) when the format cannot enforce an item of the trust, instead of warning'],
  ['--lookaside <url>', 'with --format containers: where simple-signing (OpenPGP) signatures are read, written into registries.d/keyshare.yaml'],
  ['--lookaside-staging <url>', 'with --format containers: where simple-signing signatures are written (skopeo copy --sign-by), into registries.d/keyshare.yaml'],
  ['--watch', 'keep running: follow the server\'s change feed and rewrite --out (atomically) after each new verified version'],
  ['--exec <cmd>', 'with --watch: run CMD (sh -c) after each write of --out, with KEYSHARE_OUT and KEYSHARE_TIMESTAMP_VERSION set'],
  ['--max-stale <duration>', 'with --watch: exit 1 (TRUST_STALE) once no fetch has verified for longer than this (e.g. 10m); default: keep trying'],
  ['--interval <duration>', 'with --watch: the longest time between two verified fetches, and the poll period of a server without a change feed (default 30s)'],
  ['--require-log', "refuse (NOT_LOGGED) a server without a transparency log; without it the log is checked whenever the signed targets state a log key, the server announces a log, or this cache saw one"],
  ['--log-key <file>', "the log's signed-note verifier key (the text of the server's /log/key, obtained out of band); default: the key the verified TUF targets state (from a service that states none: learnt on first contact), pinned in the cache"],
  ['--witness <file>', "a witness's cosignature/v1 verifier key (its /witness/key): the log checkpoint needs its cosignature (repeatable; NOT_WITNESSED)", { repeatable: true }],
  ['--witness-threshold <n>', 'with --witness: how many of the witnesses given must have cosigned the checkpoint (default: all)'],
  ['--report', 'after a successful fetch, report the verified version to the service (issue 21), with a client token (--token or KEYSHARE_TOKEN)'],
  ['--client-id <id>', 'with --report: this client\'s ID (default: a random ID kept in the cache dir)'],
  ['--label <name=value>', 'with --report: a label of this client, e.g. env=prod (repeatable)', { repeatable: true }],
  ['--token <token>', 'with --report: a client token (env KEYSHARE_TOKEN)'],
  ['--json', 'print machine-readable JSON (with --watch: one line per write)'],
];

/** What `fetch`'s options give runFetch, by commander's attribute names. */
export interface FetchOptions {
  server?: string;
  root: string;
  out: string;
  format: string;
  scope?: string[];
  repository?: string[];
  cache?: string;
  offline?: boolean;
  notationCrlCache?: string;
  crlUrlBase?: string[];
  strict?: boolean;
  lookaside?: string;
  lookasideStaging?: string;
  watch?: boolean;
  exec?: string;
  maxStale?: string;
  interval?: string;
  requireLog?: boolean;
  logKey?: string;
  witness?: string[];
  witnessThreshold?: string;
  report?: boolean;
  clientId?: string;
  label?: string[];
  token?: string;
  json?: boolean;
}

/** `keyshare fetch` with its options read (cli/commands/fetch-command.ts, or cli/args.ts for a plain command line). */
export async function runFetch(o: FetchOptions): Promise<void> {
    const reporting = reportOptions(o);
    const crlCache = crlCacheOptions(o);
    const lookaside = lookasideOptions(o);
    const watching = watchOptions(o);
    const out = resolve(o.out);
    // Refuse an unusable CRL cache dir before anything is written.
    if (crlCache) (await import('../../sync/client/notation-crl-cache.js')).notationCrlDir(crlCache.dir);
    // Loaded on use: tuf-js and the client are not needed for --help (bench B5).
    const [{ fetchTrust }, { writeOutDir, outManifest }] = await Promise.all([import('../../sync/client/fetch-trust.js'), import('../../sync/client/out-dir.js')]);
    // Loaded on use: the writers are not needed to start (bench B5).
    const { writeFormat } = await import('../../sync/formats/index.js');
    const server = serverUrl(o.server);
    /** One verified fetch; writes --out unless its files are those `previous` (a manifest) names. */
    const fetchOnce = async (previous: string | null) => {
      const result = await fetchTrust({
        server,
        root: o.root,
        cache: o.cache ? resolve(o.cache) : undefined,
        scopes: o.scope,
        repositories: o.repository,
        offline: Boolean(o.offline),
        requireLog: Boolean(o.requireLog),
        logKey: o.logKey ? readInputFile(resolve(o.logKey)).toString('utf8') : undefined,
        witnesses: (o.witness ?? []).map((f: string) => ({ text: readInputFile(resolve(f)).toString('utf8'), where: f })),
        witnessThreshold: o.witnessThreshold === undefined ? undefined : Number(o.witnessThreshold),
        // pem writes {store}.crl.pem beside each bundle, and notation's CRL cache takes the CRLs: fetch the CRL targets too.
        // notation: the CRLs that tell whether a revoked certificate is enforced (sync/formats/enforce.ts).
        crls: o.format === 'pem' || crlCache !== null ? true : o.format === 'notation' ? 'revoked' : false,
      });
      const written = await writeFormat(o.format as FormatName, {
        documents: result.documents,
        repositories: result.repositories,
        outDir: out,
        crls: result.crls,
        ...(lookaside ? { lookaside } : {}),
      });
      const unenforced = unenforcedWarnings(o.format, written.unenforced);
      if (o.strict && unenforced.length > 0) {
        for (const w of unenforced) process.stderr.write(`keyshare: warning: ${w}\n`);
        throw new KeyshareError(
          FormatCodes.UNENFORCEABLE,
          `--format ${o.format} cannot enforce ${written.unenforced.length} item(s) of the trust (above); --strict: nothing was written to ${out}`,
        );
      }
      const manifest = JSON.stringify(outManifest(written.files));
      const changed = manifest !== previous;
      if (changed) writeOutDir(out, written.files);
      const seeded = crlCache ? await seedCrlCache(result, crlCache) : null;
      const reported = reporting ? await report(reporting, result, o.format, server) : null;
      if (!changed) return { result, manifest, changed };
      for (const w of [...written.warnings, ...(seeded?.warnings ?? []), ...unenforced]) process.stderr.write(`keyshare: warning: ${w}\n`);
      const json = {
        out,
        format: o.format,
        scopes: result.documents.map((d) => ({ scope: d.scope, version: d.version })),
        repositories: result.repositories,
        files: written.files.map((f) => f.path),
        warnings: [...written.warnings, ...(seeded?.warnings ?? [])],
        unenforced: written.unenforced,
        ...(seeded ? { notationCrlCache: { dir: seeded.dir, entries: seeded.entries } } : {}),
        metadata: result.metadata,
        ...(result.log ? { log: result.log } : {}),
        ...(reported ? { reported } : {}),
      };
      const lines = () => [...summary(result, o.format, out, written.files.length), ...(seeded ? [seededLine(seeded)] : [])];
      // --watch --json: one object per line (JSON Lines), so that a reader can follow the stream.
      if (watching && o.json) writeStdout(JSON.stringify(json) + '\n');
      else print(o.json, json, lines);
      return { result, manifest, changed };
    };
    if (!watching) {
      await fetchOnce(null);
      return;
    }
    const { watch, readFeed, runExec } = await import('../../sync/client/watch.js');
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
    const warn = (m: string) => process.stderr.write(`keyshare: warning: ${m}\n`);
    let manifest: string | null = null;
    let version = 0;
    try {
      await watch(
        {
          sync: async () => {
            const r = await fetchOnce(manifest);
            manifest = r.manifest;
            version = r.result.metadata.timestampVersion;
            return { timestampVersion: version, changed: r.changed };
          },
          afterChange: async () => {
            if (o.exec === undefined) return;
            await runExec(o.exec, { KEYSHARE_OUT: out, KEYSHARE_TIMESTAMP_VERSION: String(version) }, { signal: stop.signal, stdoutToStderr: Boolean(o.json), warn });
          },
          feed: (after, waitMs, signal) => readFeed(server, after, waitMs, signal),
          warn,
        },
        { ...watching, signal: stop.signal },
      );
    } finally {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    }
}
