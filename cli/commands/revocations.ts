/**
 * `keyshare revocations replay --since BACKUP` (issue 24, row 1): after a restore, stores again
 * the revocations made after the backup, from the revocation journal (service/revocation-journal.ts).
 * It works on the data dir, like `bundle import`, so that it runs before `serve` accepts the restore.
 */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command } from 'commander';
import { KeyshareError, Codes } from '../../service/errors.js';
import { print } from '../output.js';
import { DATABASE_FLAG, DATABASE_HELP } from '../settings.js';

/** `--since`: a `keyshare backup` file, a `pg_dump --format=custom` file, or an ISO 8601 time. */
async function sinceOf(arg: string): Promise<Date> {
  if (!existsSync(arg)) {
    const t = Date.parse(arg);
    if (!/^\d{4}-\d{2}-\d{2}/.test(arg) || Number.isNaN(t)) throw new KeyshareError(Codes.BAD_REQUEST, `--since takes a backup file, a pg_dump file or a time (2026-11-27T03:00:00Z), not ${JSON.stringify(arg)}`);
    return new Date(t);
  }
  if (!statSync(arg).isFile()) throw new KeyshareError(Codes.BAD_REQUEST, `--since ${arg} is not a file`);
  const head = Buffer.alloc(64);
  const fd = openSync(arg, 'r');
  try {
    readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  const { pgDumpCreatedAt } = await import('../../service/restore-guard.js');
  if (head.subarray(0, 5).toString('latin1') === 'PGDMP') {
    const at = pgDumpCreatedAt(head);
    if (!at) throw new KeyshareError(Codes.BAD_REQUEST, `${arg}: cannot read the creation time of this pg_dump archive; give --since a time instead`);
    return at;
  }
  const { backupCreatedAt } = await import('../../service/backup.js');
  return new Date(await backupCreatedAt(arg));
}

export function revocationsCommand(): Command {
  const cmd = new Command('revocations').description('the revocation journal: re-apply revocations lost by a restore');
  cmd
    .command('replay')
    .description('store again every revocation of the journal made since a backup that the database lacks')
    .requiredOption('--since <backup|time>', 'the backup restored: a keyshare backup file, a pg_dump custom-format file, or an ISO 8601 time')
    .option('--journal <file...>', 'the journal(s) to replay (default: the revocation-journal setting, <data>/revocations.journal); one per replica')
    .option('--data <dir>', 'the restored data dir (env KEYSHARE_DATA, default ./keyshare-data)')
    .option(DATABASE_FLAG, DATABASE_HELP)
    .option('--dry-run', 'list what would be replayed, change nothing')
    .option('--json', 'print machine-readable JSON')
    .addHelpText(
      'after',
      [
        '',
        'The journal is an append-only file beside the database: every revocation the service stored, one JSON line',
        'each. A restore loses the revocations made after the backup; replay stores them again (same time and reason,',
        'one audit entry each), before `serve --accept-restore-loss` publishes the restored trust. Idempotent.',
        'Give the journal of the data dir that was lost (keep it, or set --revocation-journal outside the data dir).',
        '',
        'Examples:',
        '  keyshare revocations replay --since /backups/keyshare-2026-11-27.tar --journal /var/lib/keyshare.old/revocations.journal --data /var/lib/keyshare',
        '  keyshare revocations replay --since 2026-11-27T03:00:00Z --dry-run',
      ].join('\n'),
    )
    .action(async (o) => {
      const { loadConfig } = await import('../../service/config.js');
      const { journalPath } = await import('../../service/revocation-journal.js');
      const { replayRevocations } = await import('../../service/restore-guard.js');
      const config = loadConfig({ flags: { data: o.data, database: o.database } });
      const target = journalPath(config.data, config.revocationJournal);
      const since = await sinceOf(o.since);
      const journals: string[] = (o.journal ?? [target]).map((j: string) => resolve(j));
      const results: Awaited<ReturnType<typeof replayRevocations>>[] = [];
      for (const journal of journals) {
        results.push(await replayRevocations({ dataDir: config.data, database: config.database, journal, since, dryRun: Boolean(o.dryRun), target }));
      }
      print(o.json, { since: since.toISOString(), dryRun: Boolean(o.dryRun), journals: results }, () =>
        results.flatMap((r) => [
          `${o.dryRun ? 'would replay' : 'replayed'} ${r.replayed.length} revocation(s) from ${r.journal} (${r.considered} since ${r.since})`,
          ...r.replayed.map((e) => `  ${e.revocation.kind} ${e.revocation.id ?? e.revocation.digest ?? `${e.revocation.issuer}/${e.revocation.serial}`}${e.revocation.scope ? ` at ${e.revocation.scope}` : ''} (revoked ${e.revocation.revokedAt})`),
        ]),
      );
    });
  return cmd;
}
