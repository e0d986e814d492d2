/**
 * `keyshare anchor add`: its options and its action, apart from commander (cli/commands/anchor.ts
 * declares them to it), so that cli/single/anchor.ts can run a plain command line without
 * loading commander (cli/args.ts; issue 25).
 */
import { AdminClient, scopePath } from '../client.js';
import { materialForApi, readInputFile } from '../files.js';
import { print, publishedNote } from '../output.js';
import { KeyshareError } from '../../service/errors.js';
import type { ScopePlan } from '../../service/domain/plan.js';
import { dryRunLines, withDryRun } from '../plan-output.js';
import { CliCodes } from '../errors.js';
import type { OptionDecl } from '../args.js';
import type { AdminFlags } from '../client.js';

/** `anchor add`'s own options; the admin options (commands/admin-options.ts) follow them. */
export const ANCHOR_ADD_OPTIONS: readonly OptionDecl[] = [
  ['--cert <file>', 'X.509 certificate, PEM or DER'],
  ['--key <file>', 'PEM public key (e.g. cosign.pub) or OpenPGP public key (armored or binary)'],
  ['--type <type>', 'certificate anchor type', { choices: ['ca', 'signingAuthority', 'tsa'] }],
  ['--name <name>', 'a name for the anchor'],
  ['--identity <identity...>', 'trusted identity, e.g. "x509.subject: CN=ci,O=Acme" (repeatable)'],
  ['--crl-url <url>', "a CA's CRL URL: fetched now, checked, published, and kept fresh by the service"],
  ['--dry-run', 'print the plan per scope (every scope that inherits the anchor) and change nothing'],
];

export interface AnchorAddOptions extends AdminFlags {
  cert?: string;
  key?: string;
  type?: string;
  name?: string;
  identity?: string[];
  crlUrl?: string;
  dryRun?: boolean;
  json?: boolean;
}

export async function addAnchor(scope: string, o: AnchorAddOptions): Promise<void> {
  if (Boolean(o.cert) === Boolean(o.key)) throw new KeyshareError(CliCodes.USAGE, 'give exactly one of --cert FILE or --key FILE');
  const material = materialForApi(readInputFile((o.cert ?? o.key)!));
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
}
