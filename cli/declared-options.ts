/** Options declared as a table (cli/args.ts `OptionDecl`, which cli/args.ts also reads without commander) added to a commander command. */
import { Option, type Command } from 'commander';
import type { OptionDecl } from './args.js';

/** A repeatable option's values, in the order given. */
export const collect = (value: string, previous: string[] = []) => [...previous, value];

export function addDeclaredOptions(cmd: Command, decls: readonly OptionDecl[]): Command {
  for (const [flags, description, read] of decls) {
    const option = new Option(flags, description);
    if (read?.choices) option.choices(read.choices);
    if (read?.mandatory) option.makeOptionMandatory();
    if (read?.repeatable) option.argParser(collect);
    cmd.addOption(option);
  }
  return cmd;
}
