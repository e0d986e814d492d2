import { Command } from 'commander';
import { addDeclaredOptions } from '../declared-options.js';
import { AdminClient, scopePath } from '../client.js';
import { print, publishedNote } from '../output.js';
import { adminOptions } from './admin-options.js';
import { addBlockCommands } from './upstream.js';
import type { ScopePlan } from '../../service/domain/plan.js';
import { dryRunLines, withDryRun } from '../plan-output.js';
import { addAnchor, ANCHOR_ADD_OPTIONS } from './anchor-add.js';

export function anchorCommand(): Command {
  const cmd = new Command('anchor').description('add or remove trust anchors of a scope');
  const add = addDeclaredOptions(cmd.command('add <scope>').description('add a certificate (--cert) or a public key / OpenPGP key (--key) to a scope'), ANCHOR_ADD_OPTIONS);
  adminOptions(
    add.addHelpText('after', '\nExamples:\n  keyshare anchor add registry.acme.io --cert acme-root.pem --name acme-root\n  keyshare anchor add registry.acme.io/team-a --key cosign.pub --name ci\n  keyshare anchor add registry.acme.io/team-a --key release.asc'),
  ).action(addAnchor);
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
