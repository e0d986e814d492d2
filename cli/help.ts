/**
 * Examples at the end of every command's --help. Commands define their own with
 * `addHelpText('after', '\nExamples:\n  ...')`; for any that does not, `addMissingExamples`
 * adds the ones below, a group lists its subcommands' first examples, and as a last resort an
 * example is made from the command's usage so that no --help ends without one. Every --help
 * then ends with a pointer to docs/REFERENCE.md.
 */
import type { EventEmitter } from 'node:events';
import type { Command } from 'commander';

/** Examples by command path, for commands that do not define their own. */
export const EXAMPLES: Record<string, string[]> = {
  '': [
    'keyshare serve                                   # the service on 127.0.0.1:8080 (initialises ./keyshare-data)',
    'keyshare scope add registry.acme.io',
    'keyshare anchor add registry.acme.io --cert acme-root.pem --name acme-root',
    'keyshare fetch --root keyshare-data/root.json --out ./trust --format notation   # from the server of KEYSHARE_SERVER, or 127.0.0.1:8080',
    'keyshare completion bash > /etc/bash_completion.d/keyshare',
  ],
  'scope ls': ['keyshare scope ls', 'keyshare scope ls --json'],
  'scope show': ['keyshare scope show registry.acme.io', 'keyshare scope show registry.acme.io --json'],
  'scope rm': ['keyshare scope rm registry.acme.io/team-a'],
  'anchor rm': ['keyshare anchor rm registry.acme.io sha256:51df999e985db5e71e4be9474f03ba5d4d9f9ba56cd7acb278cdb830309c96c0'],
  'revoke cert': [
    'keyshare revoke cert --cert leaf.pem --reason keyCompromise',
    'keyshare revoke cert --issuer sha256:51df...96c0 --serial 8badf00d --scope registry.acme.io',
  ],
  'revoke key': ['keyshare revoke key sha256:51df...96c0 --reason keyCompromise', 'keyshare revoke key pgp:0123456789abcdef0123456789abcdef01234567 --scope registry.acme.io/team-a'],
  'revoke signature': ['keyshare revoke signature sha256:3b6a...e1f0 --reason superseded'],
  'root propose': ['keyshare root propose --add-key new-root.pub.pem --threshold 2', 'keyshare root propose --remove-key 4e8f...a1c2 --expires 1y'],
  'root status': ['keyshare root status', 'keyshare root status --out root-next.json      # to sign offline'],
  'root sign': [
    'keyshare root sign --key keys/root-0.pem',
    'keyshare root sign --key "pkcs11:token=root;object=root-1"',
    'keyshare root sign --key root-1.pem --in root-next.json --out root-next.signed.json   # offline',
  ],
  'root publish': ['keyshare root publish', 'keyshare root publish --json'],
  'root discard': ['keyshare root discard'],
  'key rotate': ['keyshare key rotate timestamp', 'keyshare key rotate targets --pkcs11 "pkcs11:token=keyshare"'],
  'crl add': ['keyshare crl add intermediate-ca.crl', 'keyshare crl add intermediate-ca.crl.pem --json'],
  'crl ls': ['keyshare crl ls', 'keyshare crl ls --json'],
  'token ls': ['keyshare token ls', 'keyshare token ls --json'],
  'token revoke': ['keyshare token revoke 0123456789ab'],
  'token rotate': ['keyshare token rotate 0123456789ab --json'],
  'token rotate-admin': ['keyshare token rotate-admin                    # rewrites <data>/admin.token'],
  'audit verify': ['keyshare audit verify', 'keyshare audit verify --json > audit-head.json   # keep the head elsewhere'],
  'upstream ls': ['keyshare upstream ls', 'keyshare upstream ls --json       # name, url, mode, lastSuccessAt, lastError, version'],
  'upstream show': ['keyshare upstream show hq', 'keyshare upstream show hq --json'],
  'upstream rm': ['keyshare upstream rm hq'],
  'tenant ls': ['keyshare tenant ls', 'keyshare tenant ls --json'],
  'tenant show': ['keyshare tenant show team-a', 'keyshare tenant show team-a --json'],
  'tenant rm': ['keyshare tenant rm team-a', 'keyshare tenant rm team-a --json'],
  completion: ['source <(keyshare completion bash)', 'keyshare completion zsh > "${fpath[1]}/_keyshare"'],
};

/** The full --help text of a command, including text added with addHelpText. */
export function helpText(cmd: Command): string {
  let text = '';
  const saved = (cmd as unknown as { _outputConfiguration: object })._outputConfiguration;
  cmd.configureOutput({ writeOut: (s) => (text += s), writeErr: (s) => (text += s) });
  try {
    cmd.outputHelp();
  } finally {
    (cmd as unknown as { _outputConfiguration: object })._outputConfiguration = saved;
  }
  return text;
}


/** The text a command's own addHelpText adds to its help, without rendering the help itself. */
function addedHelpText(cmd: Command): string {
  let text = '';
  const context = { error: false, command: cmd, write: (s: string) => (text += s) };
  // commander writes addHelpText's text from these events (a Command is an EventEmitter).
  for (const event of ['beforeHelp', 'afterHelp']) (cmd as unknown as EventEmitter).emit(event, context);
  return text;
}

function pathOf(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** A runnable-looking example from the usage: required arguments as placeholders. */
function fromUsage(cmd: Command): string {
  const args = cmd.registeredArguments.filter((a) => a.required).map((a) => a.name().toUpperCase());
  const required = cmd.options.filter((o) => o.mandatory).map((o) => `${o.long} ${o.flags.match(/<([^>]+)>/)?.[1]?.toUpperCase() ?? ''}`.trim());
  return ['keyshare', pathOf(cmd), ...args, ...required].filter(Boolean).join(' ');
}

function firstExample(cmd: Command): string | null {
  const m = /\bExamples?:\n\s*(.+)/.exec(helpText(cmd));
  return m ? m[1]!.trim() : null;
}

/** The last line of every --help: where the long form is (issue 15). */
export const REFERENCE_POINTER = 'Reference: docs/REFERENCE.md (settings, every command, the trust document, formats, error codes)';

/**
 * Adds the examples a command lacks, and the pointer to the reference, when its help is first
 * shown (commander emits beforeAllHelp on the program for any command's help, before writing
 * it): finding them renders the help, which a start that shows none should not pay for (bench B5).
 */
export function addMissingExamples(program: Command): void {
  const done = new WeakSet<Command>();
  program.on('beforeAllHelp', ({ command: cmd }: { command: Command }) => {
    if (done.has(cmd)) return;
    done.add(cmd); // first: rendering a subcommand's help below emits this event again
    if (!/\bExamples?:/.test(addedHelpText(cmd))) {
      const path = pathOf(cmd);
      const lines =
        EXAMPLES[path] ??
        (cmd.commands.length > 0 ? cmd.commands.map(firstExample).filter((e): e is string => e !== null) : [fromUsage(cmd)]);
      cmd.addHelpText('after', `\nExamples:\n${lines.map((l) => `  ${l}`).join('\n')}\n`);
    }
    // After the examples, whichever way they came: every --help points to the reference.
    cmd.addHelpText('after', `\n${REFERENCE_POINTER}\n`);
  });
}
