/** `keyshare backup` and `keyshare restore`: one tar file with the database, the keys and root.json (service/backup.ts). */
import { resolve } from 'node:path';
import { Command } from 'commander';
import { KeyshareError, Codes } from '../../service/errors.js';
import { print } from '../output.js';
import { DATABASE_FLAG, DATABASE_HELP, storeSettings } from '../settings.js';

export function backupCommand(): Command {
  return new Command('backup')
    .description('write a consistent online backup of the data dir (database, keys, root.json) to one tar file')
    .requiredOption('--out <file>', 'the backup to write (mode 0600: it holds private keys)')
    .option('--data <dir>', 'data dir (env KEYSHARE_DATA, default ./keyshare-data)')
    .option(DATABASE_FLAG, DATABASE_HELP)
    .option('--force', 'write the backup even if the source is damaged (backup.json marks it damaged)')
    .option('--json', 'print machine-readable JSON')
    .addHelpText(
      'after',
      [
        '',
        'Works while the service runs: the database is copied with SQLite\'s backup API, a consistent state.',
        'The copy is checked first (SQLite integrity check, the audit chain, the repository against its root):',
        'a damaged source is refused with SOURCE_DAMAGED, unless --force keeps a copy marked damaged.',
        'The embedded SQLite database only: with PostgreSQL, back up the database with pg_dump and keys/ and root.json as files (docs/DEPLOYMENT.md).',
        'Keep the file as safe as the keys: it holds the online keys (and the root keys while they are in the data dir).',
        '',
        'Example:',
        '  keyshare backup --out /backups/keyshare-$(date +%F).tar',
      ].join('\n'),
    )
    .action(async (o) => {
      const { createBackup } = await import('../../service/backup.js');
      const r = await createBackup({ ...(await storeSettings(o)), out: resolve(o.out), force: Boolean(o.force) });
      if (r.damaged) process.stderr.write(`keyshare: warning: the source is damaged; the backup is marked damaged: ${r.damaged.join('; ')}\n`);
      print(o.json, r, () => [`wrote ${r.out} (${r.files} files, ${r.bytes} bytes)`, `  timestamp version ${r.versions.timestamp}, root version ${r.versions.root}, at ${r.createdAt}`]);
    });
}

export function restoreCommand(): Command {
  return new Command('restore')
    .description('restore a backup into a new data dir, after verifying it whole')
    .argument('<file>', 'the backup (from keyshare backup)')
    .requiredOption('--data <dir>', 'the data dir to create (absent or empty)')
    .option(DATABASE_FLAG, DATABASE_HELP)
    .option('--same-versions', 'serve exactly the backed-up versions (clients that saw later ones refuse them: ROLLBACK)')
    .option('--version-jump <n>', 'how many versions above the backup the restored repository starts', '1000000')
    .option('--force', 'restore a backup whose audit log does not verify, or that is marked damaged (with a warning)')
    .option('--json', 'print machine-readable JSON')
    .addHelpText(
      'after',
      [
        '',
        'Verifies every digest, the database, the root chain, every signed role and target, and the keys, before the',
        'data dir appears. Changes made after the backup are lost. By default every role is re-signed --version-jump',
        'versions above the backup\'s, so that clients which saw versions published after the backup accept the restored',
        'repository; restore says so on stderr. The first `keyshare serve` then checks the restore against what was',
        'published since (the static dir, --peer, --min-version) and refuses with RESTORE_BEHIND if versions are lost:',
        'replay the revocations (keyshare revocations replay --since BACKUP), then serve --accept-restore-loss.',
        '',
        'Example:',
        '  keyshare restore /backups/keyshare-2026-11-27.tar --data /var/lib/keyshare',
      ].join('\n'),
    )
    .action(async (file: string, o) => {
      const jump = Number(o.versionJump);
      if (!Number.isSafeInteger(jump) || jump < 1) throw new KeyshareError(Codes.BAD_REQUEST, '--version-jump must be a whole number of versions, at least 1');
      const { restoreBackup } = await import('../../service/backup.js');
      const r = await restoreBackup({ file: resolve(file), ...(await storeSettings(o)), sameVersions: Boolean(o.sameVersions), versionJump: jump, force: Boolean(o.force) });
      for (const w of r.warnings) process.stderr.write(`keyshare: warning: ${w}\n`);
      print(o.json, r, () => [`restored ${r.dataDir} from the backup of ${r.createdAt}`, `  serving timestamp version ${r.serving.timestamp} (backed up: ${r.backedUp.timestamp})`]);
    });
}
