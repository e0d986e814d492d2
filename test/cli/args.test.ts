/**
 * cli/args.ts (issue 25): a command line it reads gives `keyshare anchor add` and `keyshare fetch`
 * the very arguments and options that commander gives them, and anything it does not read is left
 * to commander. Each line below, and a few hundred made at random from the same words, goes
 * through both.
 */
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { plainArgs, type OptionDecl, type PlainArgs } from '../../cli/args.js';
import { ADMIN_OPTIONS } from '../../cli/commands/admin-options.js';
import { anchorCommand } from '../../cli/commands/anchor.js';
import { ANCHOR_ADD_OPTIONS } from '../../cli/commands/anchor-add.js';
import { FETCH_OPTIONS } from '../../cli/commands/fetch.js';
import { fetchCommand } from '../../cli/commands/fetch-command.js';
import { programOf } from '../../cli/run.js';

const DECLS = [...ANCHOR_ADD_OPTIONS, ...ADMIN_OPTIONS];

/** What commander hands `anchor add`'s action for `args`, or 'refused' (its usage error, --help). */
function viaCommander(args: string[]): Promise<PlainArgs | 'refused'> {
  return commanderReads(programOf([anchorCommand()]), ['anchor', 'add'], args);
}

/** What commander hands the action of the (sub)command `path` of `program`, or 'refused'. */
async function commanderReads(program: Command, path: string[], args: string[]): Promise<PlainArgs | 'refused'> {
  const quiet = (cmd: Command) => {
    cmd.configureOutput({ writeOut: () => {}, writeErr: () => {} });
    cmd.commands.forEach(quiet);
  };
  quiet(program);
  let got: PlainArgs | 'refused' = 'refused';
  const command = path.reduce((cmd, name) => cmd.commands.find((c) => c.name() === name)!, program);
  command.action((...given: unknown[]) => {
    const positionals = given.slice(0, command.registeredArguments.length) as string[];
    got = { positionals, options: { ...(given[positionals.length] as PlainArgs['options']) } };
  });
  try {
    await program.parseAsync(['node', 'keyshare', ...path, ...args]);
  } catch {
    return 'refused';
  }
  return got;
}

const READ: string[][] = [
  ['reg.io', '--key', 'k.pem'],
  ['--key', 'k.pem', 'reg.io', '--server', 'http://127.0.0.1:8080', '--token', 't', '--json'],
  ['reg.io/team-a', '--cert', 'c.pem', '--type', 'tsa', '--name', '', '--crl-url', 'http://x/crl', '--dry-run', '--no-wait', '--data', 'd'],
  ['reg.io', '--cert', 'c.pem', '--key', 'k.pem'], // the action refuses it, as from commander
  ['reg.io'],
];

const LEFT: string[][] = [
  [],
  ['a', 'b', '--key', 'k'],
  ['reg.io', '--help'],
  ['reg.io', '-h'],
  ['reg.io', '--key=k.pem'],
  ['reg.io', '--key'],
  ['reg.io', '--key', '-k'],
  ['reg.io', '--key', 'a', '--key', 'b'],
  ['reg.io', '--type', 'bogus', '--key', 'k'],
  ['reg.io', '--identity', 'x509.subject: CN=ci', '--key', 'k'],
  ['reg.io', '--wait'],
  ['reg.io', '--', '--key'],
  ['-', '--key', 'k'],
  ['reg.io', '--no-wait', '--no-wait'],
];

/**
 * The tests of one command: the lines `read` are read, and as commander reads them; the lines
 * `left` are left to commander; and of 400 lines of `words` (each after `prefix` when a coin
 * says so), every one read is read as commander reads it.
 */
function readsAsCommander(name: string, t: { positionals: number; decls: readonly OptionDecl[]; via: (args: string[]) => Promise<PlainArgs | 'refused'>; read: string[][]; left: string[][]; words: string[]; prefix: string[] }) {
  describe(`${name} read without commander`, () => {
    it.each(t.read.map((args) => [args.join(' '), args]))('reads %s as commander does', async (_, args) => {
      const plain = plainArgs(args, t.positionals, t.decls);
      expect(plain).not.toBeNull();
      expect(plain).toEqual(await t.via(args));
    });

    it.each(t.left.map((args) => [args.join(' '), args]))('leaves %s to commander', (_, args) => {
      expect(plainArgs(args, t.positionals, t.decls)).toBeNull();
    });

    it('agrees with commander on every line it reads, of 400 made from the same words', async () => {
      let seed = 25;
      const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
      let read = 0;
      for (let i = 0; i < 400; i++) {
        const args = [...(next() < 0.8 ? t.prefix : []), ...Array.from({ length: Math.floor(next() * 8) }, () => t.words[Math.floor(next() * t.words.length)]!)];
        const plain = plainArgs(args, t.positionals, t.decls);
        if (plain === null) continue;
        read++;
        expect(plain, args.join(' ')).toEqual(await t.via(args));
      }
      expect(read).toBeGreaterThan(20);
    });
  });
}

readsAsCommander('anchor add', {
  positionals: 1,
  decls: DECLS,
  via: viaCommander,
  read: READ,
  left: LEFT,
  words: ['reg.io', 'x', '', '--cert', 'c.pem', '--key', 'k.pem', '--type', 'ca', 'tsa', 'bad', '--name', '--identity', '--crl-url', '--dry-run', '--server', '--token', '--data', '--json', '--no-wait', '--wait', '-h', '--name=n', '--', '-k', '-'],
  prefix: ['reg.io'],
});

const FETCH_READ: string[][] = [
  ['--server', 'http://127.0.0.1:8080', '--root', 'root.json', '--out', 'out', '--format', 'json', '--scope', 'r0.bench.example', '--cache', 'c'],
  ['--root', 'r', '--out', 'o', '--format', 'notation', '--scope', 'a', '--repository', 'reg.io/x', '--scope', 'b', '--offline', '--strict', '--json'],
  ['--format', 'containers', '--out', 'o', '--root', 'r', '--lookaside', 'https://sigs', '--watch', '--exec', 'true', '--interval', '1m', '--witness', 'w1', '--witness', 'w2', '--report', '--label', 'env=prod'],
];

const FETCH_LEFT: string[][] = [
  ['--root', 'r', '--out', 'o'],
  ['--root', 'r', '--out', 'o', '--format', 'yaml'],
  ['--root', 'r', '--out', 'o', '--format', 'json', 'extra'],
  ['--root', 'r', '--root', 'r2', '--out', 'o', '--format', 'json'],
  ['--root', 'r', '--out', 'o', '--format', 'json', '--help'],
  ['--root=r', '--out', 'o', '--format', 'json'],
];

readsAsCommander('fetch', {
  positionals: 0,
  decls: FETCH_OPTIONS,
  via: (args) => commanderReads(programOf([fetchCommand()]), ['fetch'], args),
  read: FETCH_READ,
  left: FETCH_LEFT,
  words: ['--root', 'r', '--out', 'o', '--format', 'json', 'pem', 'bad', '--scope', 'a', 'b', '--offline', '--cache', '--strict', '--watch', '--json', '--max-stale', '--', '-x', '--help'],
  // Most lines carry the three mandatory options, so that many are read.
  prefix: ['--root', 'r', '--out', 'o', '--format', 'json'],
});
