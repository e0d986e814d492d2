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

/** An option as the command declares it to commander (cli/declared-options.ts): flags, description, and how it is read. */
export type OptionDecl = readonly [flags: string, description: string, read?: OptionRead];

export interface OptionRead {
  /** The values it takes (commander's `choices`). */
  choices?: readonly string[];
  /** A command line without it is refused (commander's `makeOptionMandatory`). */
  mandatory?: boolean;
  /** Given again, its values are collected in order (commander's `argParser`, cli/declared-options.ts `collect`). */
  repeatable?: boolean;
}

export interface PlainArgs {
  positionals: string[];
  options: Record<string, string | string[] | boolean>;
}

/** commander's attribute name of a long option: `--crl-url` crlUrl, `--no-wait` wait. */
const attribute = (long: string) => long.replace(/^--(no-)?/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/**
 * `args` (what follows the command's name) as commander would read them for a command of
 * `positionals` arguments and the options `decls`; null when their shape is not the plainest.
 */
export function plainArgs(args: readonly string[], positionals: number, decls: readonly OptionDecl[]): PlainArgs | null {
  const byFlag = new Map<string, { name: string; value: 'one' | boolean; read: OptionRead }>();
  const options: PlainArgs['options'] = {};
  for (const [flags, , read = {}] of decls) {
    const m = /^(?:(-[a-zA-Z]), )?(--[a-z][a-z0-9-]*)(?: <([^>]+)>)?$/.exec(flags);
    if (!m || m[3]?.endsWith('...')) {
      if (read.mandatory) return null;
      continue; // variadic, optional value or another form: commander's
    }
    const negated = m[2]!.startsWith('--no-');
    const option = { name: attribute(m[2]!), value: m[3] ? ('one' as const) : !negated, read };
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
    if (!option || (given.has(option.name) && !option.read.repeatable)) return null;
    given.add(option.name);
    if (option.value !== 'one') {
      options[option.name] = option.value;
      continue;
    }
    const value = args[++i];
    if (value === undefined || value.startsWith('-') || (option.read.choices && !option.read.choices.includes(value))) return null;
    options[option.name] = option.read.repeatable ? [...((options[option.name] as string[] | undefined) ?? []), value] : value;
  }
  const missing = [...byFlag.values()].some((o) => o.read.mandatory && !given.has(o.name));
  return found.length === positionals && !missing ? { positionals: found, options } : null;
}
