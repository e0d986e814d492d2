import { Command } from 'commander';
import { AdminClient } from '../client.js';
import { readInputFile } from '../files.js';
import { print, publishedNote } from '../output.js';
import { adminOptions } from './admin-options.js';
import { KeyshareError, Codes } from '../../service/errors.js';

export function applyCommand(): Command {
  return adminOptions(
    new Command('apply')
      .argument('<file>', 'YAML or JSON file: { scopes: [...], revoked: {...} }')
      .description('apply declarative trust: idempotent, one atomic change')
      .option('--prune', 'remove scopes and anchors that the file does not name (revocations are never removed)')
      .addHelpText('after', '\nExample file (YAML):\n  scopes:\n    - scope: registry.acme.io\n      level: strict\n      anchors:\n        - name: acme-root\n          type: ca\n          certificate: |\n            -----BEGIN CERTIFICATE-----\n            ...\n\nExample:\n  keyshare apply trust.yaml --prune'),
  ).action(async (file: string, o) => {
    let doc: unknown;
    // yaml is loaded on use: other commands start without it (bench B5).
    const { parse: parseYaml } = await import('../yaml.js');
    try {
      doc = parseYaml(readInputFile(file).toString('utf8'));
    } catch (e) {
      if (e instanceof KeyshareError) throw e;
      throw new KeyshareError(Codes.APPLY_INVALID, `${file} is not valid YAML or JSON: ${(e as Error).message.split('\n')[0]}`);
    }
    const r = await AdminClient.from(o).call<{ summary: Record<string, unknown> & { changed: boolean }; published: { timestampVersion: number } | null }>(
      'POST',
      `/apply${o.prune ? '?prune=true' : ''}`,
      doc,
    );
    print(o.json, r, () => {
      const s = r.summary as Record<string, number | string[]>;
      if (!r.summary.changed) return 'no changes';
      const n = (k: string) => (Array.isArray(s[k]) ? (s[k] as string[]).length : (s[k] as number));
      return `applied: ${n('scopesCreated')} scopes created, ${n('scopesUpdated')} updated, ${n('scopesRemoved')} removed; ${n('anchorsAdded')} anchors added, ${n('anchorsUpdated')} updated, ${n('anchorsRemoved')} removed; ${n('revocationsAdded')} revocations added${publishedNote(r)}`;
    });
  });
}
