import { Command, Option } from 'commander';
import { AdminClient } from '../client.js';
import { materialForApi, readInputFile } from '../files.js';
import { print, publishedNote, writeStdout } from '../output.js';
import { adminOptions } from './admin-options.js';
import { REVOCATION_REASONS } from '../../service/domain/types.js';
import { KeyshareError } from '../../service/errors.js';
import type { ScopePlan } from '../../service/domain/plan.js';
import { dryRunLines, withDryRun } from '../plan-output.js';
import { parsePercent, waitRollout } from '../rollout-wait.js';
import { CliCodes } from '../errors.js';

const reason = () => new Option('--reason <reason>', 'RFC 5280 reason').choices(REVOCATION_REASONS as unknown as string[]).default('unspecified');
const scope = () => new Option('--scope <scope>', 'limit the revocation to a scope (default: everywhere)');

type Result = { added: boolean; revocation: { kind: string; id?: string; digest?: string; issuer?: string; serial?: string }; published: { timestampVersion: number } | null; plan?: ScopePlan[] };
const report = (what: string, r: Result) => (r.added ? `revoked ${what}${publishedNote(r)}` : `${what} was already revoked`);

/** --dry-run, --wait-rollout and --timeout, on every revoke command (issue 21). */
function planOptions(cmd: Command): Command {
  return cmd
    .option('--dry-run', 'print the plan per scope (anchors that stop being trusted, revocations) and change nothing')
    .option('--wait-rollout <percent>', 'then wait until this share of the reporting clients (fetch --report) hold a version that carries it, e.g. 95%')
    .option('--timeout <duration>', 'with --wait-rollout: give up (ROLLOUT_TIMEOUT) after this long', '10m');
}

/** Posts the revocation (or its plan), prints it, and waits for the rollout when asked. */
async function revokeWith(o: Record<string, any>, body: Record<string, unknown>, what: string): Promise<void> {
  const percent = o.waitRollout === undefined ? null : parsePercent(o.waitRollout);
  const client = AdminClient.from(o);
  const r = await client.call<Result>('POST', withDryRun('/revocations', o.dryRun), body);
  if (r.plan || percent === null) {
    print(o.json, r, () => (r.plan ? dryRunLines(r.plan) : report(what, r)));
    return;
  }
  if (!o.json) writeStdout(`${report(what, r)}\n`);
  const v = r.revocation;
  const rollout = await waitRollout(client, v.kind === 'certificate' ? `${v.issuer}/${v.serial}` : (v.id ?? v.digest)!, percent, o.timeout);
  print(o.json, { ...r, rollout }, () => `rollout: ${rollout.holding} of ${rollout.clients} reporting clients (${rollout.percent}%) hold version ${rollout.carriedFrom} or later`);
}

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
  );
  planOptions(cmd.commands[cmd.commands.length - 1]!).action(async (o) => {
    if (!o.cert && !(o.issuer && o.serial)) throw new KeyshareError(CliCodes.USAGE, 'give --cert FILE, or --issuer ID and --serial HEX');
    // PEM as text, DER as base64 (materialForApi); a PEM file may add the issuing CA after the certificate.
    const material = o.cert ? materialForApi(readInputFile(o.cert)) : null;
    const body = material
      ? { kind: 'certificate', certificate: material.value, encoding: material.encoding, reason: o.reason, scope: o.scope ?? null }
      : { kind: 'certificate', issuer: o.issuer, serial: o.serial, reason: o.reason, scope: o.scope ?? null };
    await revokeWith(o, body, 'the certificate');
  });
  planOptions(adminOptions(cmd.command('key <id>').description('revoke a key by ID: sha256:<hex> (X.509 or SPKI) or pgp:<fingerprint>').addOption(reason()).addOption(scope()))).action(
    async (id: string, o) => {
      await revokeWith(o, { kind: 'key', id, reason: o.reason, scope: o.scope ?? null }, `key ${id}`);
    },
  );
  planOptions(adminOptions(cmd.command('signature <digest>').description('revoke one signature by digest (sha256:<hex>)').addOption(reason()).addOption(scope()))).action(
    async (digest: string, o) => {
      await revokeWith(o, { kind: 'signature', digest, reason: o.reason, scope: o.scope ?? null }, `signature ${digest}`);
    },
  );
  return cmd;
}
