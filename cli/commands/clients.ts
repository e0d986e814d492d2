import { Command } from 'commander';
import { AdminClient } from '../client.js';
import { print } from '../output.js';
import { adminOptions } from './admin-options.js';
import type { ClientRecord } from '../../service/store/types.js';
import type { RevocationRollout } from '../../service/rollout.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function clientsCommand(): Command {
  const cmd = new Command('clients').description('the clients that report what they verified (keyshare fetch --report), and the rollout of revocations');
  adminOptions(
    cmd
      .command('ls')
      .description('the reporting clients, with the version each verified')
      .option('--behind <version>', 'only clients holding a version older than this')
      .option('--label <name=value>', 'only clients with this label (repeatable: all must match)', collect)
      .addHelpText('after', '\nExamples:\n  keyshare clients ls\n  keyshare clients ls --behind 12 --label env=prod --json'),
  ).action(async (o) => {
    const q = new URLSearchParams();
    if (o.behind) q.set('behind', o.behind);
    for (const l of o.label ?? []) q.append('label', l);
    const r = await AdminClient.from(o).call<{ latest: number; clients: ClientRecord[] }>('GET', `/clients${q.size ? `?${q}` : ''}`);
    print(o.json, r, () => [
      `${r.clients.length} client(s); the newest version is ${r.latest}`,
      ...r.clients.map((c) => {
        const labels = Object.entries(c.labels).map(([k, v]) => `${k}=${v}`).join(',');
        const summary = c.summary ? `\tdownstream of ${(c.summary as { clients: number }).clients} clients` : '';
        return `  ${c.clientId}\tversion ${c.version}${c.version < r.latest ? ` (behind by ${r.latest - c.version})` : ''}\t${c.format}\t${labels || '-'}\t${c.reportedAt}${summary}`;
      }),
    ]);
  });
  adminOptions(
    cmd
      .command('rollout [id]')
      .description('for each revocation (or one, by key ID, signature digest or issuer/serial): how many reporting clients hold a version that carries it, and which do not')
      .addHelpText('after', '\nExamples:\n  keyshare clients rollout\n  keyshare clients rollout sha256:9b2e0000000000000000000000000000000000000000000000000000000000aa --json'),
  ).action(async (id: string | undefined, o) => {
    const r = await AdminClient.from(o).call<{ revocations: RevocationRollout[] }>('GET', `/rollout${id ? `?id=${encodeURIComponent(id)}` : ''}`);
    print(o.json, r, () =>
      r.revocations.length === 0
        ? 'no revocations'
        : r.revocations.map(
            (x) =>
              `${x.kind} ${x.id}${x.scope ? ` at ${x.scope}` : ''}: ${x.carriedFrom === null ? 'not published yet' : `from version ${x.carriedFrom}`}; ${x.holding} of ${x.clients} clients (${x.percent}%)${x.behind.length ? `; behind: ${x.behind.slice(0, 20).join(', ')}${x.behind.length > 20 ? ', ...' : ''}` : ''}`,
          ),
    );
  });
  return cmd;
}
