/**
 * The keyshare CLI's program (commander), loaded by cli/main.ts for every command line that
 * its fast paths do not answer (exit codes: cli/run.ts).
 */
import type { Command } from 'commander';
import { programOf, runProgram } from './run.js';

/**
 * Every command in --help order, with the module that defines it. A command line that names a
 * command loads that module alone (and what it imports): loading all of them cost about 40 ms
 * of `keyshare fetch --offline`'s start (bench B5, docs/BENCHMARKS.md). --version loads none;
 * --help, completion and anything unknown load them all.
 */
const COMMANDS: [name: string, load: () => Promise<Command>][] = [
  ['init', async () => (await import('./commands/init.js')).initCommand()],
  ['serve', async () => (await import('./commands/serve.js')).serveCommand()],
  ['scope', async () => (await import('./commands/scope.js')).scopeCommand()],
  ['anchor', async () => (await import('./commands/anchor.js')).anchorCommand()],
  ['apply', async () => (await import('./commands/apply.js')).applyCommand()],
  ['revoke', async () => (await import('./commands/revoke.js')).revokeCommand()],
  ['root', async () => (await import('./commands/root.js')).rootCommand()],
  ['key', async () => (await import('./commands/key.js')).keyCommand()],
  ['fetch', async () => (await import('./commands/fetch-command.js')).fetchCommand()],
  ['token', async () => (await import('./commands/token.js')).tokenCommand()],
  ['audit', async () => (await import('./commands/audit.js')).auditCommand()],
  ['crl', async () => (await import('./commands/crl.js')).crlCommand()],
  ['ca', async () => (await import('./commands/ca.js')).caCommand()],
  ['bundle', async () => (await import('./commands/bundle.js')).bundleCommand()],
  ['upstream', async () => (await import('./commands/upstream.js')).upstreamCommand()],
  ['sync', async () => (await import('./commands/upstream.js')).syncCommand()],
  ['check', async () => (await import('./commands/check.js')).checkCommand()],
  ['log', async () => (await import('./commands/log.js')).logCommand()],
  ['witness', async () => (await import('./commands/witness.js')).witnessCommand()],
  ['tenant', async () => (await import('./commands/tenant.js')).tenantCommand()],
  ['backup', async () => (await import('./commands/backup.js')).backupCommand()],
  ['restore', async () => (await import('./commands/backup.js')).restoreCommand()],
  ['revocations', async () => (await import('./commands/revocations.js')).revocationsCommand()],
  ['diff', async () => (await import('./commands/diff.js')).diffCommand()],
  ['clients', async () => (await import('./commands/clients.js')).clientsCommand()],
  ['completion', async () => (await import('./commands/completion.js')).completionCommand()],
];

/** The commands a command line needs: none for --version, the one it names, else all. */
function commandsFor(command?: string): typeof COMMANDS {
  if (command === '--version' || command === '-V') return [];
  const named = COMMANDS.filter(([name]) => name === command && name !== 'completion');
  return named.length > 0 ? named : COMMANDS;
}

/**
 * The program: every command, or only `command` when it names one (whose --help, options and
 * behaviour are the same either way; completion needs them all, and loads them all).
 */
export async function buildProgram(command?: string): Promise<Command> {
  return programOf(await Promise.all(commandsFor(command).map(([, load]) => load())));
}

export async function main(argv: string[]): Promise<number> {
  // argv: node, script, then the command (if any).
  return runProgram(argv, () => buildProgram(argv[2]));
}
