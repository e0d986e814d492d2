import { Argument, Command } from 'commander';
import { SHELLS, completionScript, type Shell } from '../completion.js';
import { writeStdout } from '../output.js';

export function completionCommand(): Command {
  return new Command('completion')
    .description('print a shell completion script for bash or zsh (generated from the commands themselves)')
    .addArgument(new Argument('<shell>', 'the shell').choices(SHELLS as unknown as string[]))
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  source <(keyshare completion bash)                           # this shell only',
        '  keyshare completion bash > /etc/bash_completion.d/keyshare   # every bash',
        '  keyshare completion zsh > "${fpath[1]}/_keyshare"            # zsh, then restart it',
        '',
      ].join('\n'),
    )
    .action((shell: Shell, _opts: unknown, cmd: Command) => {
      let root = cmd;
      while (root.parent) root = root.parent;
      writeStdout(completionScript(root, shell));
    });
}
