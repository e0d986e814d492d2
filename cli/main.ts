/**
 * The keyshare CLI. Exit 0 on success; 1 with `keyshare: CODE: message` on failure; 2 on a
 * usage error (CONTRACT.md "CLI"). Only cli/ calls process.exit.
 */
import { Command, CommanderError } from 'commander';
import { isKeyshareError } from '../service/errors.js';
import { initCommand } from './commands/init.js';
import { serveCommand } from './commands/serve.js';
import { tokenCommand } from './commands/token.js';
import { auditCommand } from './commands/audit.js';
import { scopeCommand } from './commands/scope.js';
import { anchorCommand } from './commands/anchor.js';
import { applyCommand } from './commands/apply.js';
import { revokeCommand } from './commands/revoke.js';
import { crlCommand } from './commands/crl.js';
import { checkCommand } from './commands/check.js';
import { fetchCommand } from './commands/fetch.js';
import { rootCommand } from './commands/root.js';
import { keyCommand } from './commands/key.js';
import { bundleCommand } from './commands/bundle.js';
import { syncCommand, upstreamCommand } from './commands/upstream.js';
import { completionCommand } from './commands/completion.js';
import { tenantCommand } from './commands/tenant.js';
import { backupCommand, restoreCommand } from './commands/backup.js';
import { addMissingExamples } from './help.js';

export function buildProgram(): Command {
  const program = new Command('keyshare')
    .description('keyshare: trust distribution for signed container images, published as a TUF repository')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)');
  for (const cmd of [initCommand(), serveCommand(), scopeCommand(), anchorCommand(), applyCommand(), revokeCommand(), rootCommand(), keyCommand(), fetchCommand()]) {
    program.addCommand(cmd);
  }
  program.addCommand(tokenCommand());
  program.addCommand(auditCommand());
  program.addCommand(crlCommand());
  program.addCommand(bundleCommand());
  program.addCommand(upstreamCommand());
  program.addCommand(syncCommand());
  program.addCommand(checkCommand());
  program.addCommand(tenantCommand());
  program.addCommand(backupCommand());
  program.addCommand(restoreCommand());
  program.addCommand(completionCommand());
  // Every command's --help ends with examples (cli/help.ts fills in any a command lacks).
  addMissingExamples(program);
  const exitOverride = (cmd: Command) => {
    cmd.exitOverride();
    cmd.commands.forEach(exitOverride);
  };
  exitOverride(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version exit 0; anything else commander refuses is a usage error.
      return e.exitCode === 0 ? 0 : 2;
    }
    if (isKeyshareError(e)) {
      if (e.code === 'USAGE') {
        process.stderr.write(`keyshare: ${e.message}\n`);
        return 2;
      }
      process.stderr.write(`keyshare: ${e.code}: ${e.message.replace(/\s*\n\s*/g, ' ')}\n`);
      return 1;
    }
    process.stderr.write(`keyshare: INTERNAL: ${(e as Error)?.message ?? String(e)}\n`);
    return 1;
  }
}

main(process.argv).then((code) => {
  if (code !== 0) process.exit(code);
  process.exitCode = 0;
});
