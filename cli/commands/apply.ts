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

/** JSON is read with JSON.parse (a 100k-scope JSON file parses in a fraction of yaml's time), anything else as YAML. */
async function parseTrustFile(text: string): Promise<unknown> {
  if (/^\s*\{/.test(text)) {
    try {
      return JSON.parse(text);
    } catch {
      // not JSON after all: YAML (a flow mapping) or an error message from the YAML parser
    }
  }
  // yaml is loaded on use: other commands start without it (bench B5).
  const { parse: parseYaml } = await import('../yaml.js');
  return parseYaml(text);
}

/** A line of the streamed apply holds scopes up to about this many bytes: far below any sensible body limit, which each line must keep to. */
const LINE_BYTES = 32 * 1024;

/**
 * The file as the lines of a streamed apply (service/http/apply-stream.ts), in order: its scopes,
 * packed into lines of about LINE_BYTES, then everything else (revocations, and any field apply
 * refuses, kept for it to name). The service joins them into this same file and applies it as one
 * atomic change, whatever its size.
 */
function* fileParts(doc: Record<string, unknown>): Iterable<string> {
  const { scopes, ...rest } = doc;
  if (Array.isArray(scopes)) {
    let line: string[] = [];
    let size = 0;
    for (const entry of scopes) {
      const text = JSON.stringify(entry) ?? 'null';
      if (line.length > 0 && size + text.length > LINE_BYTES) {
        yield `{"scopes":[${line.join(',')}]}`;
        line = [];
        size = 0;
      }
      line.push(text);
      size += text.length + 1;
    }
    if (line.length > 0) yield `{"scopes":[${line.join(',')}]}`;
  } else if (scopes !== undefined) rest.scopes = scopes;
  if (Object.keys(rest).length > 0 || !Array.isArray(scopes) || scopes.length === 0) yield JSON.stringify(rest);
}

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
    try {
      doc = await parseTrustFile(readInputFile(file).toString('utf8'));
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
    }>('POST', `/apply${query ? `?${query}` : ''}`, undefined, { lines: fileParts(doc as Record<string, unknown>) });
    print(o.json, r, () => {
      if (r.plan) return dryRunLines(r.plan);
      const s = r.summary as Record<string, number | string[]>;
      if (!r.summary.changed) return 'no changes';
      const n = (k: string) => (Array.isArray(s[k]) ? (s[k] as string[]).length : (s[k] as number));
      return `applied: ${n('scopesCreated')} scopes created, ${n('scopesUpdated')} updated, ${n('scopesRemoved')} removed; ${n('anchorsAdded')} anchors added, ${n('anchorsUpdated')} updated, ${n('anchorsRemoved')} removed; ${n('revocationsAdded')} revocations added${publishedNote(r)}`;
    });
  });
}
