import { Command, Option } from 'commander';
import { AdminClient } from '../client.js';
import { materialForApi, readInputFile } from '../files.js';
import { print, publishedNote } from '../output.js';
import { adminOptions } from './admin-options.js';
import { REVOCATION_REASONS } from '../../service/domain/types.js';
import { KeyshareError } from '../../service/errors.js';

const reason = () => new Option('--reason <reason>', 'RFC 5280 reason').choices(REVOCATION_REASONS as unknown as string[]).default('unspecified');
const scope = () => new Option('--scope <scope>', 'limit the revocation to a scope (default: everywhere)');

type Result = { added: boolean; published: { timestampVersion: number } | null };
const report = (what: string, r: Result) => (r.added ? `revoked ${what}${publishedNote(r)}` : `${what} was already revoked`);

export function revokeCommand(): Command {
  const cmd = new Command('revoke').description('distrust a certificate, a key or a signature (signed and published through TUF)');
  adminOptions(
    cmd
      .command('cert')
      .description('revoke a certificate, given as a file or as issuer anchor ID and serial')
      .option('--cert <file>', 'the certificate (PEM or DER); its issuer is found among the CA anchors, or give the issuing CA after it in a PEM file')
      .option('--issuer <id>', 'the issuing CA anchor ID (sha256:...)')
      .option('--serial <hex>', 'the serial number in hex')
      .addOption(reason())
      .addOption(scope()),
  ).action(async (o) => {
    if (!o.cert && !(o.issuer && o.serial)) throw new KeyshareError('USAGE', 'give --cert FILE, or --issuer ID and --serial HEX');
    // PEM as text, DER as base64 (materialForApi); a PEM file may add the issuing CA after the certificate.
    const material = o.cert ? materialForApi(readInputFile(o.cert)) : null;
    const body = material
      ? { kind: 'certificate', certificate: material.value, encoding: material.encoding, reason: o.reason, scope: o.scope ?? null }
      : { kind: 'certificate', issuer: o.issuer, serial: o.serial, reason: o.reason, scope: o.scope ?? null };
    const r = await AdminClient.from(o).call<Result>('POST', '/revocations', body);
    print(o.json, r, () => report('the certificate', r));
  });
  adminOptions(cmd.command('key <id>').description('revoke a key by ID: sha256:<hex> (X.509 or SPKI) or pgp:<fingerprint>').addOption(reason()).addOption(scope())).action(
    async (id: string, o) => {
      const r = await AdminClient.from(o).call<Result>('POST', '/revocations', { kind: 'key', id, reason: o.reason, scope: o.scope ?? null });
      print(o.json, r, () => report(`key ${id}`, r));
    },
  );
  adminOptions(cmd.command('signature <digest>').description('revoke one signature by digest (sha256:<hex>)').addOption(reason()).addOption(scope())).action(
    async (digest: string, o) => {
      const r = await AdminClient.from(o).call<Result>('POST', '/revocations', { kind: 'signature', digest, reason: o.reason, scope: o.scope ?? null });
      print(o.json, r, () => report(`signature ${digest}`, r));
    },
  );
  return cmd;
}
