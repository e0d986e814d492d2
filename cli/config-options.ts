/** The serve command's flags, one per setting of service/config.ts (SETTINGS is the single list). */
import type { Command } from 'commander';
import { SETTINGS } from '../service/settings.js';

export function configOptions(cmd: Command): Command {
  for (const s of SETTINGS) {
    if (!s.serve) continue;
    const [long, arg] = s.flag.split(' ');
    if (cmd.options.some((o) => o.long === long)) continue;
    const help = `${s.description} (env ${s.env}, default ${s.defaultText.replace(/`/g, '')})`;
    // A flag without an argument is a switch (true when given).
    cmd.option(arg ? `${long} <${arg.toLowerCase()}>` : long!, help);
  }
  return cmd;
}
