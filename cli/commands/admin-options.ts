import type { Command } from 'commander';

/** The options every admin command takes (CONTRACT.md "Settings"). */
export function adminOptions(cmd: Command): Command {
  return cmd
    .option('--server <url>', 'keyshare service URL (env KEYSHARE_SERVER, default http://127.0.0.1:8080)')
    .option('--token <token>', 'admin token (env KEYSHARE_TOKEN, default <data>/admin.token)')
    .option('--data <dir>', 'data dir, to find admin.token (env KEYSHARE_DATA, default ./keyshare-data)')
    .option('--json', 'print machine-readable JSON')
    .option('--no-wait', 'a write: exit 0 once it is saved, without waiting until it is published');
}
