import { Command } from 'commander';
import { AdminClient } from '../client.js';
import { materialForApi, readInputFile } from '../files.js';
import { print, publishedNote } from '../output.js';
import { adminOptions } from './admin-options.js';
import { KeyshareError } from '../../service/errors.js';
import { CliCodes } from '../errors.js';

interface CrlInfo {
  issuer: string;
  /** Decimal, as openssl shows it (the API also gives crlNumberHex). */
  crlNumber: string;
  thisUpdate: string;
  nextUpdate: string;
  revoked?: number;
  target: string;
}

export function crlCommand(): Command {
  const cmd = new Command('crl').description('certificate revocation lists of CA anchors, published byte for byte as crl/{issuer-hex}.crl');
  adminOptions(
    cmd
      .command('add [file]')
      .description('add a CRL (DER or PEM) signed by one of the CA anchors, from a file or from the URL where its CA publishes it')
      .option('--url <url>', 'where the CA publishes its CRL (http or https): fetched now without FILE, and again on a schedule derived from nextUpdate')
      .option('--issuer <id>', 'the CA anchor ID the CRL must belong to')
      .addHelpText(
        'after',
        `
The CRL is checked in order: its issuer is a CA anchor (CRL_UNKNOWN_ISSUER), the signature
verifies with that CA's key (CRL_BAD_SIGNATURE), thisUpdate is not in the future
(CRL_NOT_YET_VALID), nextUpdate is present (CRL_NO_NEXT_UPDATE) and not passed (CRL_EXPIRED),
and its CRL number is greater than the stored one (ROLLBACK). Anything that is not one CRL is
CRL_INVALID; a CRL over 2 MiB is CRL_TOO_LARGE.

Once accepted it is published through TUF and served at /crl/{issuer-hex}.crl, a stable URL
for a certificate's CRL distribution point.

With --url the service fetches the CRL there again, a quarter of the time left to its
nextUpdate (between 5 minutes and 6 hours), with the same checks, at most 2 MiB and 15 s per
download; \`crl ls\` shows the last fetch and its error.

Examples:
  keyshare crl add acme-intermediate.crl
  keyshare crl add --url http://pki.acme.io/intermediate.crl`,
      ),
  ).action(async (file: string | undefined, o) => {
    if (!file && !o.url) throw new KeyshareError(CliCodes.USAGE, 'give a CRL FILE, --url URL, or both');
    const material = file ? materialForApi(readInputFile(file)) : null;
    const r = await AdminClient.from(o).call<{ crl: CrlInfo; published: { timestampVersion: number } | null }>('POST', '/crls', {
      ...(material ? { crl: material.value, encoding: material.encoding } : {}),
      ...(o.url ? { url: o.url } : {}),
      ...(o.issuer ? { issuer: o.issuer } : {}),
    });
    print(o.json, r, () => [
      `added CRL number ${r.crl.crlNumber} of ${r.crl.issuer} (${r.crl.revoked ?? 0} revoked, next update ${r.crl.nextUpdate})${publishedNote(r)}`,
      `published as ${r.crl.target}, also served at /${r.crl.target}`,
    ]);
  });
  adminOptions(cmd.command('ls').description('list the stored CRLs, the newest per CA anchor')).action(async (o) => {
    const r = await AdminClient.from(o).call<{ crls: (CrlInfo & { lastError: string | null; url: string | null })[] }>('GET', '/crls');
    print(o.json, r, () =>
      r.crls.length === 0
        ? 'no CRLs'
        : r.crls.map((c) => `${c.issuer}  number ${c.crlNumber}  next update ${c.nextUpdate}  /${c.target}${c.url ? `  from ${c.url}` : ''}${c.lastError ? `  last error: ${c.lastError}` : ''}`),
    );
  });
  return cmd;
}
