import type { Command } from 'commander';
import type { OptionDecl } from '../args.js';

/** The options every admin command takes (CONTRACT.md "Settings"). */
export const ADMIN_OPTIONS: readonly OptionDecl[] = [
  ['--server <url>', 'keyshare service URL (env KEYSHARE_SERVER, default http://127.0.0.1:8080)'],
  ['--token <token>', 'admin token (env KEYSHARE_TOKEN, default <data>/admin.token)'],
  ['--data <dir>', 'data dir, to find admin.token (env KEYSHARE_DATA, default ./keyshare-data)'],
  ['--json', 'print machine-readable JSON'],
  ['--no-wait', 'a write: exit 0 once it is saved, without waiting until it is published'],
];

export function adminOptions(cmd: Command): Command {
  for (const [flags, description] of ADMIN_OPTIONS) cmd.option(flags, description);
  return cmd;
}
