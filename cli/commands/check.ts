import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { KeyshareError } from '../../service/errors.js';
import { readInputFile } from '../files.js';
import { print } from '../output.js';
import { serverUrl } from '../settings.js';
import { CliCodes } from '../errors.js';

const KEY_ID = /^(sha256:[0-9a-f]{64}|pgp:[0-9a-f]{40})$/i;
const DIGEST = /^sha256:[0-9a-f]{64}$/i;

export function checkCommand(): Command {
  return new Command('check')
    .description('is a key or certificate trusted for a repository, and neither it nor a signature revoked? (verified fetch over TUF, then a decision)')
    .argument('<repository>', 'the image repository, host[:port]/path (resolved to its most specific scope)')
    .option('--server <url>', 'keyshare server (env KEYSHARE_SERVER, default http://127.0.0.1:8080)')
    .requiredOption('--root <file>', 'the pinned root.json, obtained out of band (never trusted on first use)')
    .addOption(new Option('--key <id>', 'an anchor ID: sha256:<hex> (certificate or public key) or pgp:<fingerprint>').conflicts('cert'))
    .option('--cert <file>', 'the signing certificate (PEM or DER), followed by its intermediates in a PEM file')
    .option('--signature <digest>', 'a signature digest, sha256:<hex>, that must not be revoked')
    .option('--cache <dir>', 'cache dir (default $XDG_CACHE_HOME/keyshare/<server>, or ~/.cache/keyshare/<server>)')
    .option('--offline', 'use only the cache (no network), while its metadata has not expired')
    .option('--json', 'print the decision and its evidence as JSON')
    .addHelpText(
      'after',
      `
Exit 0 when trusted. stdout says "trusted:", "revoked:" or "untrusted:" and why (with --json:
trusted and code). Otherwise exit 1 with one line on stderr:
  keyshare: REVOKED: ...    the key, the certificate (by the trust document or its CA's CRL)
                            or the signature is revoked for the repository's scope
  keyshare: UNTRUSTED: ...  not an anchor of the scope, no valid path to one (CA flags,
                            pathLen, keyUsage, signatures, validity now), or a stale CRL
A failed fetch exits 1 with its own code (ROLLBACK, EXPIRED_METADATA, BAD_SIGNATURE, ...).
check applies these strict rules whatever the scope's level (strict, permissive, audit or
skip): a scope's level tells verifiers how to enforce, check answers whether the material is
trusted. With --json the decision is also printed on stdout: { trusted, code, reason,
evidence }, where evidence.level is the scope's level, for a caller that enforces it.

Examples:
  keyshare check registry.acme.io/team-a/app --server https://keyshare.acme.io --root root.json --cert signer-chain.pem
  keyshare check registry.acme.io/team-a/app --server https://keyshare.acme.io --root root.json \\
      --key sha256:3f1c... --signature sha256:9b2e...`,
    )
    .action(async (repository: string, o) => {
      if (!o.key && !o.cert) throw new KeyshareError(CliCodes.USAGE, 'give --key ID or --cert FILE');
      if (o.key && !KEY_ID.test(o.key)) throw new KeyshareError(CliCodes.USAGE, '--key is sha256:<64 hex> or pgp:<40 hex>');
      if (o.signature && !DIGEST.test(o.signature)) throw new KeyshareError(CliCodes.USAGE, '--signature is sha256:<64 hex>');
      // STYLE.md: one reference time for the whole operation.
      const now = new Date();
      const certificates = o.cert ? new Uint8Array(readInputFile(o.cert)) : undefined;
      // Loaded on use: tuf-js and the client are not needed for --help (bench B5).
      const { fetchTrust } = await import('../../sync/client/index.js');
      const fetched = await fetchTrust({
        server: serverUrl(o.server),
        root: o.root,
        cache: o.cache ? resolve(o.cache) : undefined,
        repositories: [repository],
        offline: Boolean(o.offline),
        crls: true,
        now,
      });
      const scope = fetched.repositories.find((r) => r.repository === repository)?.scope;
      const document = fetched.documents.find((d) => d.scope === scope);
      if (!document) throw new KeyshareError(CliCodes.UNTRUSTED, `no trust document for ${repository}`);
      // Loaded on use: it brings X.509 and CRL parsing, which other commands' start-up does not need.
      const { decideCheck } = await import('../../sync/check/index.js');
      const decision = decideCheck({ document, key: o.key, certificates, signature: o.signature, crls: fetched.crls, now });
      // The same verdict as --json's `trusted` and `code`.
      const verdict = decision.trusted ? 'trusted' : decision.code === CliCodes.REVOKED ? 'revoked' : 'untrusted';
      print(o.json, { repository, ...decision, metadata: fetched.metadata }, () => `${verdict}: ${decision.reason}`);
      if (!decision.trusted) throw new KeyshareError(decision.code!, decision.reason);
    });
}
