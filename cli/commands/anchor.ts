import { Command, Option } from 'commander';
import { AdminClient, scopePath } from '../client.js';
import { materialForApi, readInputFile } from '../files.js';
import { print, publishedNote } from '../output.js';
import { adminOptions } from './admin-options.js';
import { addBlockCommands } from './upstream.js';
import { KeyshareError } from '../../service/errors.js';
import type { ScopePlan } from '../../service/domain/plan.js';
import { dryRunLines, withDryRun } from '../plan-output.js';
import { CliCodes } from '../errors.js';

export function anchorCommand(): Command {
  const cmd = new Command('anchor').description('add or remove trust anchors of a scope');
  adminOptions(
    cmd
      .command('add <scope>')
      .description('add a certificate (--cert) or a public key / OpenPGP key (--key) to a scope')
      .option('--cert <file>', 'X.509 certificate, PEM or DER')
      .option('--key <file>', 'PEM public key (e.g. cosign.pub) or OpenPGP public key (armored or binary)')
      .addOption(new Option('--type <type>', 'certificate anchor type').choices(['ca', 'signingAuthority', 'tsa']))
      .option('--name <name>', 'a name for the anchor')
      .option('--identity <identity...>', 'trusted identity, e.g. "x509.subject: CN=ci,O=Acme" (repeatable)')
      .option('--crl-url <url>', "a CA's CRL URL: fetched now, checked, published, and kept fresh by the service")
      .option('--dry-run', 'print the plan per scope (every scope that inherits the anchor) and change nothing')
      .addHelpText('after', '\nExamples:\n  keyshare anchor add registry.acme.io --cert acme-root.pem --name acme-root\n  keyshare anchor add registry.acme.io/team-a --key cosign.pub --name ci\n  keyshare anchor add registry.acme.io/team-a --key release.asc'),
  ).action(async (scope: string, o) => {
    if (Boolean(o.cert) === Boolean(o.key)) throw new KeyshareError(CliCodes.USAGE, 'give exactly one of --cert FILE or --key FILE');
    const material = materialForApi(readInputFile(o.cert ?? o.key));
    const body = {
      ...(o.cert ? { certificate: material.value } : { publicKey: material.value }),
      encoding: material.encoding,
      type: o.type,
      name: o.name,
      trustedIdentities: o.identity,
    };
    const r = await AdminClient.from(o).call<{ anchor: { id: string; type: string; name: string }; published: { timestampVersion: number } | null; plan?: ScopePlan[] }>(
      'POST',
      withDryRun(`${scopePath(scope)}/anchors`, o.dryRun),
      body,
    );
    if (r.plan) {
      print(o.json, r, () => dryRunLines(r.plan!));
      return;
    }
    if (!o.crlUrl) {
      print(o.json, r, () => `added ${r.anchor.type} anchor ${r.anchor.id} (${r.anchor.name}) to ${scope}${publishedNote(r)}`);
      return;
    }
    // The anchor is in place; its CRL comes from the URL, with every check of `crl add`.
    const crl = await AdminClient.from(o).call<{ crl: { crlNumber: string; nextUpdate: string; target: string }; published: { timestampVersion: number } | null }>(
      'POST',
      '/crls',
      { url: o.crlUrl, issuer: r.anchor.id },
    );
    print(o.json, { ...r, crl: crl.crl }, () => [
      `added ${r.anchor.type} anchor ${r.anchor.id} (${r.anchor.name}) to ${scope}${publishedNote(r)}`,
      `added its CRL number ${crl.crl.crlNumber} from ${o.crlUrl} (next update ${crl.crl.nextUpdate}), kept fresh from there${publishedNote(crl)}`,
    ]);
  });
  adminOptions(cmd.command('rm <scope> <id>').description('remove an anchor from a scope').option('--dry-run', 'print the plan per scope and change nothing')).action(async (scope: string, id: string, o) => {
    const r = await AdminClient.from(o).call<{ published: { timestampVersion: number } | null; plan?: ScopePlan[] }>(
      'DELETE',
      withDryRun(`${scopePath(scope)}/anchors/${encodeURIComponent(id)}`, o.dryRun),
    );
    print(o.json, r, () => (r.plan ? dryRunLines(r.plan) : `removed anchor ${id} from ${scope}${publishedNote(r)}`));
  });
  // Federation: hide an upstream's anchor here (cli/commands/upstream.ts).
  addBlockCommands(cmd);
  return cmd;
}
