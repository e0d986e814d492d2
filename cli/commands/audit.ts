import { Command } from 'commander';
import { AdminClient } from '../client.js';
import { print } from '../output.js';
import { adminOptions } from './admin-options.js';
import { KeyshareError } from '../../service/errors.js';
import type { AuditRecord } from '../../service/store/types.js';
import { CliCodes } from '../errors.js';

/** An entry as GET /api/v1/audit gives it: the stored record (service/store/types.ts). */
type Entry = Omit<AuditRecord, 'prevHash'>;
interface Verify {
  ok: boolean;
  entries: number;
  head: { seq: number; hash: string } | null;
  firstBadSeq?: number;
  problem?: string;
}

const short = (d: string | null) => (d ? d.replace(/^sha256:/, '').slice(0, 12) : '-');

export function auditCommand(): Command {
  const cmd = new Command('audit').description('the hash-chained audit log: every change and every denied attempt');
  adminOptions(
    cmd
      .command('ls')
      .description('list audit entries, oldest first')
      .option('--since <time>', 'only entries at or after an ISO 8601 time, or a duration back from now (24h, 7d)')
      .addHelpText('after', '\nExamples:\n  keyshare audit ls --since 24h\n  keyshare audit ls --since 2026-01-01T00:00:00Z --json'),
  ).action(async (o) => {
    const client = AdminClient.from(o);
    const entries: Entry[] = [];
    let after: number | null = null;
    do {
      const q = new URLSearchParams({ limit: '1000' });
      if (o.since) q.set('since', o.since);
      if (after !== null) q.set('after', String(after));
      const page: { entries: Entry[]; next: number | null } = await client.call('GET', `/audit?${q}`);
      entries.push(...page.entries);
      after = page.next;
    } while (after !== null);
    print(o.json, { entries }, () =>
      entries.map((e) =>
        [e.seq, e.at, e.tokenId ?? '-', e.outcome, e.action, e.scope ?? '-', e.target ?? '-', `${short(e.before)}→${short(e.after)}`].join('\t'),
      ),
    );
  });
  adminOptions(
    cmd
      .command('verify')
      .description('check the hash chain; exits 1 with AUDIT_TAMPERED naming the first edited or missing entry')
      .addHelpText('after', '\nRecord the head it prints somewhere else: a rewrite of the whole log is only caught against it.'),
  ).action(async (o) => {
    const r = await AdminClient.from(o).call<Verify>('GET', '/audit/verify');
    if (!r.ok) {
      if (o.json) print(true, r, () => '');
      throw new KeyshareError(CliCodes.AUDIT_TAMPERED, `the audit log fails verification at entry ${r.firstBadSeq}: ${r.problem}`);
    }
    print(o.json, r, () => `audit log intact: ${r.entries} entries${r.head ? `, head ${r.head.seq} ${r.head.hash}` : ''}`);
  });
  return cmd;
}
