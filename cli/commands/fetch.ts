import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { fetchTrust, writeOutDir, type FetchTrustResult } from '../../sync/client/index.js';
import { FORMAT_NAMES, type FormatName } from '../../sync/formats/types.js';
import { print } from '../output.js';
import { serverUrl } from '../settings.js';

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

export function fetchCommand(): Command {
  return new Command('fetch')
    .description('fetch the trust for registries over TUF, verify it against a pinned root, and write files for verifiers')
    .option('--server <url>', 'keyshare server (env KEYSHARE_SERVER, default http://127.0.0.1:8080)')
    .requiredOption('--root <file>', 'the pinned root.json, obtained out of band (never trusted on first use)')
    .requiredOption('--out <dir>', 'output directory, replaced as a whole (use a directory of its own)')
    .addOption(new Option('--format <format>', 'what to write').choices(FORMAT_NAMES as string[]).makeOptionMandatory())
    .option('--scope <scope>', 'a scope to fetch (repeatable)', collect)
    .option('--repository <repo>', 'a repository (host[:port]/path) to fetch the trust for, resolved to its most specific scope (repeatable)', collect)
    .option('--cache <dir>', 'cache dir (default $XDG_CACHE_HOME/keyshare/<server>, or ~/.cache/keyshare/<server>)')
    .option('--offline', 'use only the cache (no network), while its metadata has not expired')
    .option('--json', 'print machine-readable JSON')
    .addHelpText(
      'after',
      `
With neither --scope nor --repository, every scope the server defines is fetched. Otherwise the
scopes named, plus the most specific scope of each --repository, plus the default scope * when
the server defines it (it governs every other repository). --out is written to a temporary sibling and
renamed into place; a refused fetch (ROLLBACK, EXPIRED_METADATA, BAD_SIGNATURE, HASH_MISMATCH,
DOWNLOAD_FAILED, UNKNOWN_SCOPE, ...) leaves it untouched and exits 1.

Examples:
  keyshare fetch --server https://keyshare.acme.io --root root.json --out /etc/keyshare/notation \\
      --format notation --repository registry.acme.io/team-a/app
  keyshare fetch --server https://keyshare.acme.io --root root.json --out /etc/keyshare/containers --format containers
  keyshare fetch --server https://keyshare.acme.io --root root.json --out /etc/keyshare/pem --format pem --offline`,
    )
    .action(async (o) => {
      const result = await fetchTrust({
        server: serverUrl(o.server),
        root: o.root,
        cache: o.cache ? resolve(o.cache) : undefined,
        scopes: o.scope,
        repositories: o.repository,
        offline: Boolean(o.offline),
        // pem writes {store}.crl.pem beside each bundle: fetch the CRL targets too.
        crls: o.format === 'pem',
      });
      const out = resolve(o.out);
      // Loaded on use, after the fetch: the writers are not needed to start (bench B5).
      const { writeFormat } = await import('../../sync/formats/index.js');
      const written = await writeFormat(o.format as FormatName, { documents: result.documents, repositories: result.repositories, outDir: out, crls: result.crls });
      writeOutDir(out, written.files);
      for (const w of written.warnings) process.stderr.write(`keyshare: warning: ${w}\n`);
      print(
        o.json,
        {
          out,
          format: o.format,
          scopes: result.documents.map((d) => ({ scope: d.scope, version: d.version })),
          repositories: result.repositories,
          files: written.files.map((f) => f.path),
          warnings: written.warnings,
          metadata: result.metadata,
        },
        () => summary(result, o.format, out, written.files.length),
      );
    });
}
