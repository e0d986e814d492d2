import { Command } from 'commander';
import { AdminClient } from '../client.js';
import { readInputFile } from '../files.js';
import { print, publishedNote } from '../output.js';
import { adminOptions } from './admin-options.js';
import { KeyshareError, Codes } from '../../service/errors.js';
import type { ScopePlan } from '../../service/domain/plan.js';
import { dryRunLines } from '../plan-output.js';

/** A complete file in short (examples/trust.yaml is the same with real material, and applies). */
const EXAMPLE_FILE = `
Example file (YAML; examples/trust.yaml in the repository is this file with real keys):
  scopes:
    - scope: registry.acme.io              # a registry
      level: strict                        # strict | permissive | audit | skip
      anchors:
        - name: acme-root                  # a CA certificate
          type: ca                         # ca | signingAuthority | tsa
          trustedIdentities: ["x509.subject: CN=Keyshare Test Signer, O=Keyshare Fixtures, ST=WA, C=US"]
          certificate: |
            -----BEGIN CERTIFICATE-----
            ...
    - scope: registry.acme.io/team-a       # a namespace: inherits acme-root
      level: audit
      anchors:
        - name: team-a-ci                  # a public key (cosign.pub)
          publicKey: |
            -----BEGIN PUBLIC KEY-----
            ...
    - scope: registry.acme.io/team-a/release   # a repository
      inherit: false                       # as scope add --no-inherit
      anchors:
        - name: release                    # an OpenPGP public key
          publicKey: |
            -----BEGIN PGP PUBLIC KEY BLOCK-----
            ...
  revoked:                                 # never removed by apply, not even with --prune
    certificates: [{ issuer: "sha256:51df...96c0", serial: "0b", reason: keyCompromise }]
    keys: [{ id: "sha256:9b2e...", reason: keyCompromise }]
    signatures: [{ digest: "sha256:3b6a...da29", reason: superseded, scope: registry.acme.io/team-a }]
An unknown field is refused with its path, e.g. scopes[1].anchors[0].key: unknown field; did you mean publicKey?

Examples:
  keyshare apply examples/trust.yaml --dry-run
  keyshare apply examples/trust.yaml
  keyshare apply examples/trust.yaml --prune --json
`;

export function applyCommand(): Command {
  return adminOptions(
    new Command('apply')
      .argument('<file>', 'YAML or JSON file: { scopes: [...], revoked: {...} }')
      .description('apply declarative trust: idempotent, one atomic change')
      .option('--prune', 'remove scopes and anchors that the file does not name (revocations are never removed)')
      .option('--dry-run', 'print the plan, per scope (anchors added, removed and changed, revocations, level changes), and change nothing')
      .addHelpText('after', EXAMPLE_FILE),
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
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
      throw new KeyshareError(Codes.APPLY_INVALID, `${file} is not a trust file: it must be a mapping with scopes: and revoked: (see examples/trust.yaml)`);
    }
    const query = [o.prune ? 'prune=true' : '', o.dryRun ? 'dryRun=true' : ''].filter(Boolean).join('&');
    const r = await AdminClient.from(o).call<{
      summary: Record<string, unknown> & { changed: boolean };
      plan?: ScopePlan[];
      published: { timestampVersion: number } | null;
    }>('POST', `/apply${query ? `?${query}` : ''}`, doc);
    print(o.json, r, () => {
      if (r.plan) return dryRunLines(r.plan);
      const s = r.summary as Record<string, number | string[]>;
      if (!r.summary.changed) return 'no changes';
      const n = (k: string) => (Array.isArray(s[k]) ? (s[k] as string[]).length : (s[k] as number));
      return `applied: ${n('scopesCreated')} scopes created, ${n('scopesUpdated')} updated, ${n('scopesRemoved')} removed; ${n('anchorsAdded')} anchors added, ${n('anchorsUpdated')} updated, ${n('anchorsRemoved')} removed; ${n('revocationsAdded')} revocations added${publishedNote(r)}`;
    });
  });
}
