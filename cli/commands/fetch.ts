import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import type { FetchTrustResult } from '../../sync/client/index.js';
import { KeyshareError } from '../../service/errors.js';
import { FORMAT_NAMES, FormatCodes, type FormatName } from '../../sync/formats/types.js';
import type { UnenforcedItem } from '../../sync/formats/enforce.js';
import { print } from '../output.js';
import { serverUrl } from '../settings.js';
import { parseLabelArgs } from '../../service/domain/clients.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

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
  return new KeyshareError('USAGE', message);
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

export function fetchCommand(): Command {
  return new Command('fetch')
    .description('fetch the trust for registries over TUF, verify it against a pinned root, and write files for verifiers')
    .option('--server <url>', 'keyshare server (env KEYSHARE_SERVER, default http://127.0.0.1:8080)')
    .requiredOption('--root <file>', 'the pinned root.json, obtained out of band (never trusted on first use)')
    .requiredOption('--out <dir>', 'output directory: fetch replaces only the files it wrote there (listed in its .keyshare-fetch.json), and refuses one holding any other')
    .addOption(new Option('--format <format>', 'what to write').choices(FORMAT_NAMES as string[]).makeOptionMandatory())
    .option('--scope <scope>', 'a scope to fetch (repeatable)', collect)
    .option('--repository <repo>', 'a repository (host[:port]/path) to fetch the trust for, resolved to its most specific scope (repeatable)', collect)
    .option('--cache <dir>', 'cache dir (default $XDG_CACHE_HOME/keyshare/<server>, or ~/.cache/keyshare/<server>)')
    .option('--offline', 'use only the cache (no network), while its metadata has not expired')
    .option('--notation-crl-cache <dir>', "with --format notation: also write the CAs' CRLs into notation's CRL cache, <dir>/crl (dir: notation's cache dir, e.g. ~/.cache/notation; notation >= 1.3.0)")
    .option('--crl-url-base <url>', 'with --notation-crl-cache: another base URL of this service that certificates name in their CRL distribution point, as <url>/crl/<issuer-hex>.crl (repeatable)', collect)
    .option('--strict', 'refuse (UNENFORCEABLE, nothing written) when the format cannot enforce an item of the trust, instead of warning')
    .option('--lookaside <url>', 'with --format containers: where simple-signing (OpenPGP) signatures are read, written into registries.d/keyshare.yaml')
    .option('--lookaside-staging <url>', 'with --format containers: where simple-signing signatures are written (skopeo copy --sign-by), into registries.d/keyshare.yaml')
    .option('--report', 'after a successful fetch, report the verified version to the service (issue 21), with a client token (--token or KEYSHARE_TOKEN)')
    .option('--client-id <id>', 'with --report: this client\'s ID (default: a random ID kept in the cache dir)')
    .option('--label <name=value>', 'with --report: a label of this client, e.g. env=prod (repeatable)', collect)
    .option('--token <token>', 'with --report: a client token (env KEYSHARE_TOKEN)')
    .option('--json', 'print machine-readable JSON')
    .addHelpText(
      'after',
      `
With neither --scope nor --repository, every scope the server defines is fetched. Otherwise the
scopes named, plus the most specific scope of each --repository, plus the default scope * when
the server defines it (it governs every other repository). --out is written to a temporary sibling and
renamed into place; a refused fetch (ROLLBACK, EXPIRED_METADATA, BAD_SIGNATURE, HASH_MISMATCH,
DOWNLOAD_FAILED, UNKNOWN_SCOPE, ...) leaves it untouched and exits 1.

fetch lists the files it writes in --out/.keyshare-fetch.json and replaces or removes only
those. Any other file in --out, at any depth, or one of its files changed since, stops it with
OUT_INVALID naming the file, before anything changes. Keep your own files elsewhere: for
containers, --lookaside URL writes the registries.d lookaside entry for you.

A format may be unable to enforce part of the trust: a revoked certificate below a CA anchor
whose CRL does not list it (notation, pem), a revoked signature (every format but json), an
anchor of a type it cannot carry (OpenPGP and public keys in notation and pem, certificates in
containers). fetch warns once per item, --json lists them as unenforced: [{ scope, kind, id,
reason }], and --strict refuses them with UNENFORCEABLE, writing nothing.

--notation-crl-cache DIR pre-seeds notation's CRL file cache (notation v1.3.0 and later), so
that \`notation verify\` checks revocation offline: for each CA anchor with a CRL, the verified
CRL is written under every URL a certificate of that CA may name in its CRL distribution
point: {server}/crl/{issuer-hex}.crl for --server and each --crl-url-base, and the CA's own
--crl-url when the trust document carries it. Each entry is named the SHA-256 of its URL, as
notation names it; an entry holding a newer CRL stays. notation uses an entry until the CRL's
nextUpdate: fetch again before then. With --offline the CRLs come from the cache of an earlier
online fetch with this option.

Examples:
  keyshare fetch --server https://keyshare.acme.io --root root.json --out /etc/keyshare/notation \\
      --format notation --repository registry.acme.io/team-a/app
  keyshare fetch --server https://keyshare.acme.io --root root.json --out /etc/keyshare/containers --format containers \\
      --lookaside https://sigs.acme.io
  keyshare fetch --server https://keyshare.acme.io --root root.json --out /etc/keyshare/pem --format pem --offline
  keyshare fetch --server https://keyshare.acme.io --root root.json --out ~/.config/notation --format notation \\
      --repository registry.acme.io/team-a/app --notation-crl-cache ~/.cache/notation`,
    )
    .action(async (o) => {
      const reporting = reportOptions(o);
      const crlCache = crlCacheOptions(o);
      const lookaside = lookasideOptions(o);
      const out = resolve(o.out);
      // Refuse an unusable CRL cache dir before anything is written.
      if (crlCache) (await import('../../sync/client/notation-crl-cache.js')).notationCrlDir(crlCache.dir);
      // Loaded on use: tuf-js and the client are not needed for --help (bench B5).
      const { fetchTrust, writeOutDir } = await import('../../sync/client/index.js');
      const result = await fetchTrust({
        server: serverUrl(o.server),
        root: o.root,
        cache: o.cache ? resolve(o.cache) : undefined,
        scopes: o.scope,
        repositories: o.repository,
        offline: Boolean(o.offline),
        // pem writes {store}.crl.pem beside each bundle, and notation's CRL cache takes the CRLs: fetch the CRL targets too.
        // notation: the CRLs that tell whether a revoked certificate is enforced (sync/formats/enforce.ts).
        crls: o.format === 'pem' || crlCache !== null ? true : o.format === 'notation' ? 'revoked' : false,
      });
      // Loaded on use, after the fetch: the writers are not needed to start (bench B5).
      const { writeFormat } = await import('../../sync/formats/index.js');
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
      writeOutDir(out, written.files);
      const seeded = crlCache ? await seedCrlCache(result, crlCache) : null;
      for (const w of [...written.warnings, ...(seeded?.warnings ?? []), ...unenforced]) process.stderr.write(`keyshare: warning: ${w}\n`);
      const reported = reporting ? await report(reporting, result, o.format, serverUrl(o.server)) : null;
      print(
        o.json,
        {
          out,
          format: o.format,
          scopes: result.documents.map((d) => ({ scope: d.scope, version: d.version })),
          repositories: result.repositories,
          files: written.files.map((f) => f.path),
          warnings: [...written.warnings, ...(seeded?.warnings ?? [])],
          unenforced: written.unenforced,
          ...(seeded ? { notationCrlCache: { dir: seeded.dir, entries: seeded.entries } } : {}),
          metadata: result.metadata,
          ...(reported ? { reported } : {}),
        },
        () => [...summary(result, o.format, out, written.files.length), ...(seeded ? [seededLine(seeded)] : [])],
      );
    });
}
