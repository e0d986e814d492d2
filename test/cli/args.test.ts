/**
 * cli/args.ts (issue 25): a command line it reads gives `keyshare anchor add` the very scope and
 * options that commander gives it, and anything it does not read is left to commander. Each line
 * below, and a few hundred made at random from the same words, goes through both.
 */
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { plainArgs, type PlainArgs } from '../../cli/args.js';
import { ADMIN_OPTIONS } from '../../cli/commands/admin-options.js';
import { anchorCommand } from '../../cli/commands/anchor.js';
import { ANCHOR_ADD_OPTIONS } from '../../cli/commands/anchor-add.js';
import { programOf } from '../../cli/run.js';

const DECLS = [...ANCHOR_ADD_OPTIONS, ...ADMIN_OPTIONS];

/** What commander hands `anchor add`'s action for `args`, or 'refused' (its usage error, --help). */
async function viaCommander(args: string[]): Promise<PlainArgs | 'refused'> {
  const program = programOf([anchorCommand()]);
  const quiet = (cmd: Command) => {
    cmd.configureOutput({ writeOut: () => {}, writeErr: () => {} });
    cmd.commands.forEach(quiet);
  };
  quiet(program);
  let got: PlainArgs | 'refused' = 'refused';
  const add = program.commands[0]!.commands.find((c) => c.name() === 'add')!;
  add.action((scope: string, options: Record<string, string | boolean>) => {
    got = { positionals: [scope], options: { ...options } };
  });
  try {
    await program.parseAsync(['node', 'keyshare', 'anchor', 'add', ...args]);
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

describe('anchor add read without commander', () => {
  it.each(READ.map((args) => [args.join(' '), args]))('reads %s as commander does', async (_, args) => {
    const plain = plainArgs(args, 1, DECLS);
    expect(plain).not.toBeNull();
    expect(plain).toEqual(await viaCommander(args));
  });

  it.each(LEFT.map((args) => [args.join(' '), args]))('leaves %s to commander', (_, args) => {
    expect(plainArgs(args, 1, DECLS)).toBeNull();
  });

  it('agrees with commander on every line it reads, of 400 made from the same words', async () => {
    const words = ['reg.io', 'x', '', '--cert', 'c.pem', '--key', 'k.pem', '--type', 'ca', 'tsa', 'bad', '--name', '--identity', '--crl-url', '--dry-run', '--server', '--token', '--data', '--json', '--no-wait', '--wait', '-h', '--name=n', '--', '-k', '-'];
    let seed = 25;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    let read = 0;
    for (let i = 0; i < 400; i++) {
      const args = Array.from({ length: Math.floor(next() * 9) }, () => words[Math.floor(next() * words.length)]!);
      const plain = plainArgs(args, 1, DECLS);
      if (plain === null) continue;
      read++;
      expect(plain, args.join(' ')).toEqual(await viaCommander(args));
    }
    expect(read).toBeGreaterThan(20);
  });
});
