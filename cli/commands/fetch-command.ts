/**
 * `keyshare fetch` declared to commander: its options (cli/commands/fetch.ts FETCH_OPTIONS), its
 * help, and its action (runFetch). cli/single/fetch.ts loads this only for a command line that
 * cli/args.ts does not read (issue 25).
 */
import { Command } from 'commander';
import { addDeclaredOptions } from '../declared-options.js';
import { FETCH_OPTIONS, runFetch } from './fetch.js';

export function fetchCommand(): Command {
  return addDeclaredOptions(new Command('fetch').description('fetch the trust for registries over TUF, verify it against a pinned root, and write files for verifiers'), FETCH_OPTIONS)
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

--watch keeps fetch running (a sidecar, a DaemonSet): after each verified fetch it waits on the
server's change feed (GET /tuf/feed, a long-poll) and fetches again, at least every --interval
(default 30s). When the files change it writes --out again (a new directory renamed into place:
a reader sees the old set or the new one, never a mix; --out must not be a mount point, so use a
directory inside a shared volume), prints a line (--json: one JSON object per line) and runs
--exec. A failed fetch leaves --out as it was and is tried again, with backoff. With --max-stale
DURATION it exits 1 with TRUST_STALE once no fetch has verified for longer than that; local
faults (OUT_INVALID, CACHE_UNUSABLE, ROOT_INVALID, UNENFORCEABLE) end it at once. SIGTERM or
SIGINT ends it with exit 0 (a running --exec command gets SIGTERM).

--notation-crl-cache DIR pre-seeds notation's CRL file cache (notation v1.3.0 and later), so
that \`notation verify\` checks revocation offline: for each CA anchor with a CRL, the verified
CRL is written under every URL a certificate of that CA may name in its CRL distribution
point: {server}/crl/{issuer-hex}.crl for --server and each --crl-url-base, and the CA's own
--crl-url when the trust document carries it. Each entry is named the SHA-256 of its URL, as
notation names it; an entry holding a newer CRL stays. notation uses an entry until the CRL's
nextUpdate: fetch again before then. With --offline the CRLs come from the cache of an earlier
online fetch with this option.

Transparency log (issue 23): online, a new timestamp is accepted only when the server's log
checkpoint, signed by the log key, extends the checkpoint this cache verified last (else
LOG_INCONSISTENT: a split view or a rollback of the log) and holds the timestamp's entry (else
NOT_LOGGED). The checkpoint and key are kept in <cache>/log/. With --witness, the checkpoint also
needs valid cosignatures (C2SP tlog-cosignature) by --witness-threshold of the witnesses given
(else NOT_WITNESSED): a log that shows this client a history its witnesses did not cosign is refused.

Examples:
  keyshare fetch --server https://keyshare.acme.io --root root.json --out /etc/keyshare/notation \\
      --format notation --repository registry.acme.io/team-a/app
  keyshare fetch --server https://keyshare.acme.io --root root.json --out /etc/keyshare/containers --format containers \\
      --lookaside https://sigs.acme.io
  keyshare fetch --server https://keyshare.acme.io --root root.json --out /etc/keyshare/pem --format pem --offline
  keyshare fetch --server https://keyshare.acme.io --root root.json --out ~/.config/notation --format notation \\
      --repository registry.acme.io/team-a/app --notation-crl-cache ~/.cache/notation
  keyshare fetch --server https://keyshare.acme.io --root root.json --out /etc/keyshare/sigstore --format sigstore \\
      --watch --max-stale 1h --exec 'pkill -HUP -x my-verifier'
  keyshare fetch --server https://keyshare.acme.io --root root.json --out /manifests/keyshare --format kubernetes \\
      --watch --interval 1m --exec 'kubectl apply -f /manifests/keyshare'`,
    )
    .action(runFetch);
}
