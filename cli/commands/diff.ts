import { Command } from 'commander';
import { AdminClient } from '../client.js';
import { print } from '../output.js';
import { adminOptions } from './admin-options.js';
import { planLines } from '../plan-output.js';
import type { VersionDiff } from '../../service/history.js';

const version = (v: string) => {
  if (!/^[0-9]{1,15}$/.test(v)) throw new Error(`a version is a timestamp version number, not ${JSON.stringify(v)}`);
  return v;
};

export function diffCommand(): Command {
  return adminOptions(
    new Command('diff')
      .description('what changed between two published timestamp versions, per scope: anchors added and removed (inherited ones too), revocations, level changes')
      .option('--from <version>', 'the older version (default: the one before --to)', version)
      .option('--to <version>', 'the newer version (default: the newest)', version)
      .option('--scope <pattern>', 'only this scope and the scopes under it')
      .addHelpText('after', '\nExamples:\n  keyshare diff\n  keyshare diff --from 1 --scope registry.acme.io --json'),
  ).action(async (o) => {
    const q = new URLSearchParams();
    if (o.from) q.set('from', o.from);
    if (o.to) q.set('to', o.to);
    if (o.scope) q.set('scope', o.scope);
    const r = await AdminClient.from(o).call<VersionDiff>('GET', `/diff${q.size ? `?${q}` : ''}`);
    print(o.json, r, () => [`from version ${r.from} to ${r.to}${r.scope ? ` (scopes under ${r.scope})` : ''}:${r.changes.length ? '' : ' no changes'}`, ...r.changes.flatMap(planLines)]);
  });
}
