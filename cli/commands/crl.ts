import { Command } from 'commander';
import { AdminClient } from '../client.js';
import { materialForApi, readInputFile } from '../files.js';
import { print, publishedNote } from '../output.js';
import { adminOptions } from './admin-options.js';

interface CrlInfo {
  issuer: string;
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
      .command('add <file>')
      .description('add a CRL (DER or PEM) signed by one of the CA anchors')
      .addHelpText(
        'after',
        `
The CRL is checked in order: its issuer is a CA anchor (CRL_UNKNOWN_ISSUER), the signature
verifies with that CA's key (CRL_BAD_SIGNATURE), thisUpdate is not in the future
(CRL_NOT_YET_VALID), nextUpdate is present (CRL_NO_NEXT_UPDATE) and not passed (CRL_EXPIRED),
and its CRL number is greater than the stored one (ROLLBACK). Anything that is not one CRL is
CRL_INVALID; a CRL over 2 MiB is CRL_TOO_LARGE.

Once accepted it is published through TUF and served at /crl/{issuer-hex}.crl, a stable URL
for a certificate's CRL distribution point.`,
      ),
  ).action(async (file: string, o) => {
    const material = materialForApi(readInputFile(file));
    const r = await AdminClient.from(o).call<{ crl: CrlInfo; published: { timestampVersion: number } | null }>('POST', '/crls', {
      crl: material.value,
      encoding: material.encoding,
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
