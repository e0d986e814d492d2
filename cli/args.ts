/**
 * A command line of the plainest shape, read without commander (issue 25: building and running
 * commander's program was a tenth of `keyshare anchor add`'s own time; docs/BENCHMARKS.md, ninth
 * round). The shape: the command's positional arguments, each option at most once, as `--name
 * value` (a value not starting with "-", one of the choices where the option has them) or a
 * flag. Anything else (`--help`, `-x`, `--name=value`, `--`, an option given twice, an unknown or
 * variadic option, a value left out, the wrong number of arguments) is not read here: commander
 * reads it as before, with its help, errors and exit codes. What is read gives the values
 * commander would give the command's action (test/cli/args.test.ts runs both on the same lines).
 */

/** An option as the command declares it to commander: flags, description, and choices if any. */
export type OptionDecl = readonly [flags: string, description: string, choices?: readonly string[]];

export interface PlainArgs {
  positionals: string[];
  options: Record<string, string | boolean>;
}

/** commander's attribute name of a long option: `--crl-url` crlUrl, `--no-wait` wait. */
const attribute = (long: string) => long.replace(/^--(no-)?/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/**
 * `args` (what follows the command's name) as commander would read them for a command of
 * `positionals` arguments and the options `decls`; null when their shape is not the plainest.
 */
export function plainArgs(args: readonly string[], positionals: number, decls: readonly OptionDecl[]): PlainArgs | null {
  const byFlag = new Map<string, { name: string; value: 'one' | boolean; choices?: readonly string[] }>();
  const options: Record<string, string | boolean> = {};
  for (const [flags, , choices] of decls) {
    const m = /^(?:(-[a-zA-Z]), )?(--[a-z][a-z0-9-]*)(?: <([^>]+)>)?$/.exec(flags);
    if (!m || m[3]?.endsWith('...')) continue; // variadic, optional value or another form: commander's
    const negated = m[2]!.startsWith('--no-');
    const option = { name: attribute(m[2]!), value: m[3] ? ('one' as const) : !negated, choices };
    // Both `--x` and `--no-x`: commander's defaults differ then; not read here.
    if ([...byFlag.values()].some((o) => o.name === option.name)) return null;
    // commander's default of a `--no-x` option alone is true.
    if (negated) options[option.name] = true;
    for (const flag of [m[1], m[2]]) if (flag) byFlag.set(flag, option);
  }
  const found: string[] = [];
  const given = new Set<string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('-')) {
      found.push(arg);
      continue;
    }
    const option = byFlag.get(arg);
    if (!option || given.has(option.name)) return null;
    given.add(option.name);
    if (option.value !== 'one') {
      options[option.name] = option.value;
      continue;
    }
    const value = args[++i];
    if (value === undefined || value.startsWith('-') || (option.choices && !option.choices.includes(value))) return null;
    options[option.name] = value;
  }
  return found.length === positionals ? { positionals: found, options } : null;
}
