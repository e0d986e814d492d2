import { Command } from 'commander';
import { DATABASE_FLAG, DATABASE_HELP, storeSettings } from '../settings.js';
import { print } from '../output.js';

export function initCommand(): Command {
  return new Command('init')
    .description('create a new trust repository in the data dir: root and online keys, root.json, admin.token')
    .option('--data <dir>', 'data dir (env KEYSHARE_DATA, default ./keyshare-data)')
    .option(DATABASE_FLAG, DATABASE_HELP)
    .option('--root-keys <n>', 'number of root keys', (v) => Number(v), 1)
    .option('--root-threshold <m>', 'signatures needed on root metadata', (v) => Number(v), 1)
    .option('--pkcs11 <token-uri>', 'generate the online keys (targets, snapshot, timestamp) inside this PKCS#11 token (RFC 7512 URI with module-path; PIN as pin-value, pin-source or KEYSHARE_PKCS11_PIN)')
    .option('--json', 'print machine-readable JSON')
    .addHelpText('after', '\nWith PostgreSQL, init once; each further replica gets a copy of this data dir (keys/, root.json).\n\nExamples:\n  keyshare init --data /var/lib/keyshare\n  keyshare init --root-keys 3 --root-threshold 2\n  KEYSHARE_DATABASE_URL=postgres://keyshare@db/keyshare keyshare init --data /var/lib/keyshare')
    .action(async (o) => {
      // Loaded on use: the service modules cost most of the CLI's start-up, which admin commands do not need.
      const { initDataDir } = await import('../../service/instance.js');
      const { dataDir: dir, database } = await storeSettings(o);
      const r = await initDataDir({ dataDir: dir, database, rootKeys: o.rootKeys, rootThreshold: o.rootThreshold, pkcs11: o.pkcs11 });
      print(o.json, r, () => [
        `initialised a keyshare repository in ${dir}`,
        `  root.json:   ${r.rootPath}   (give this to clients, out of band, to pin)`,
        `  admin token: ${r.tokenPath}`,
        `  root keys:   ${r.rootKeyPaths.join(', ')}`,
        '',
        `Move the root keys offline: copy ${r.rootKeyPaths.length > 1 ? 'each of them to its own' : 'it to an'} offline medium and delete ${r.rootKeyPaths.length > 1 ? 'them' : 'it'} from this machine.`,
        'They are needed only to sign a new root (key rotation); the online keys stay in keys/.',
      ]);
    });
}
