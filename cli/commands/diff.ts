import { resolve } from 'node:path';
import { Command } from 'commander';
import { KeyshareError } from '../../service/errors.js';
import { readInputFile } from '../files.js';
import { CliCodes } from '../errors.js';
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
      .option('--bundle <file>', 'offline: the trust of this bundle (verified against --root, as bundle import does) instead of a server')
      .option('--from-bundle <file>', 'with --bundle: compared with this older bundle of the same origin (default: with an empty repository)')
      .option('--root <file>', "with --bundle: the origin's root.json, obtained out of band")
      .addHelpText(
        'after',
        '\nExamples:\n  keyshare diff\n  keyshare diff --from 1 --scope registry.acme.io --json\n  keyshare diff --bundle trust-2026-12.tar.gz --from-bundle trust-2026-11.tar.gz --root central-root.json',
      ),
  ).action(async (o) => {
    const lines = (r: VersionDiff) => [`from version ${r.from} to ${r.to}${r.scope ? ` (scopes under ${r.scope})` : ''}:${r.changes.length ? '' : ' no changes'}`, ...r.changes.flatMap(planLines)];
    if (o.bundle || o.fromBundle) {
      if (!o.bundle || !o.root) throw new KeyshareError(CliCodes.USAGE, 'a diff on bundles takes --bundle FILE and --root FILE (and --from-bundle FILE for the older one)');
      if (o.from || o.to) throw new KeyshareError(CliCodes.USAGE, 'a bundle holds one version: compare two bundles with --bundle and --from-bundle, not --from/--to');
      // Loaded on use: tar and tuf-js are not needed by the server diff.
      const { diffBundles } = await import('../../sync/bundle/diff.js');
      const r = await diffBundles({ bundle: resolve(o.bundle), from: o.fromBundle ? resolve(o.fromBundle) : undefined, root: readInputFile(o.root), scope: o.scope ?? null });
      print(o.json, r, () => lines(r));
      return;
    }
    const q = new URLSearchParams();
    if (o.from) q.set('from', o.from);
    if (o.to) q.set('to', o.to);
    if (o.scope) q.set('scope', o.scope);
    const r = await AdminClient.from(o).call<VersionDiff>('GET', `/diff${q.size ? `?${q}` : ''}`);
    print(o.json, r, () => lines(r));
  });
}
