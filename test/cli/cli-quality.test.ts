/**
 * The CLI's own quality: --help with examples on every command (including those added later),
 * --json wherever a command prints data, shell completion generated from the command tree, and
 * progress bars only on a terminal.
 */
import { requireTool } from '../support/system-tools.js';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completionScript } from '../../cli/completion.js';
import { REFERENCE_POINTER, helpText } from '../../cli/help.js';
import { packageRoot } from '../../service/util/paths.js';
import { loadProgram } from '../support/cli-program.js';
import { progress } from '../../cli/progress.js';
import { FORMAT_NAMES } from '../../sync/formats/types.js';

/** Commands whose output is not data (a server's log, a shell script). */
const NOT_DATA = new Set(['serve', 'completion']);

let program: Command;
const dir = mkdtempSync(join(tmpdir(), 'keyshare-cli-'));

beforeAll(async () => {
  program = await loadProgram();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function commands(cmd: Command, path = ''): [string, Command][] {
  return [[path, cmd], ...cmd.commands.flatMap((c) => commands(c, path ? `${path} ${c.name()}` : c.name()))];
}

describe('keyshare --help', () => {
  it('ends every command with examples', () => {
    const all = commands(program);
    expect(all.length).toBeGreaterThan(15);
    const missing = all.filter(([, c]) => !/\bExamples?:\n {2}\S/.test(helpText(c))).map(([p]) => p || '(keyshare)');
    expect(missing).toEqual([]);
  });

  it('lists every command', () => {
    const help = helpText(program);
    for (const c of program.commands) expect(help).toContain(c.name());
  });

  it('points every --help to docs/REFERENCE.md, which documents every command', () => {
    const reference = readFileSync(join(packageRoot(), 'docs', 'REFERENCE.md'), 'utf8');
    const withoutPointer = commands(program).filter(([, c]) => !helpText(c).trimEnd().endsWith(REFERENCE_POINTER)).map(([p]) => p || '(keyshare)');
    expect(withoutPointer).toEqual([]);
    const undocumented = commands(program)
      .filter(([p, c]) => p && c.commands.length === 0)
      .filter(([p]) => !new RegExp(`\`keyshare ${p}(\`| )`).test(reference))
      .map(([p]) => p);
    expect(undocumented).toEqual([]);
  });

  it("documents every fetch --format in docs/REFERENCE.md's table of formats", () => {
    const reference = readFileSync(join(packageRoot(), 'docs', 'REFERENCE.md'), 'utf8');
    const table = reference.split('## Formats written by fetch\n')[1]!.trimStart().split('\n\n')[0]!;
    const rows = table.split('\n').map((l) => /^\| `([a-z]+)` \|/.exec(l)?.[1]).filter(Boolean);
    expect(rows).toEqual([...FORMAT_NAMES]);
  });

  it('offers --json on every command that prints data', () => {
    const leaves = commands(program).filter(([p, c]) => p && c.commands.length === 0 && !NOT_DATA.has(p));
    const without = leaves.filter(([, c]) => !c.options.some((o) => o.long === '--json')).map(([p]) => p);
    expect(without).toEqual([]);
  });
});

describe('shell completion', () => {
  describe('for bash', () => {
    let script: string;
    beforeAll(() => {
      script = join(dir, 'keyshare.bash');
      writeFileSync(script, completionScript(program, 'bash'));
    });

    /** The words bash would complete, for a command line whose last word is being typed. */
    const complete = (line: string) => {
      const words = line.split(' ');
      const out = execFileSync(
        'bash',
        ['-c', `source "$1"; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _keyshare; printf '%s\\n' "\${COMPREPLY[@]}"`, 'x', script],
        { encoding: 'utf8', cwd: dir },
      );
      return out.split('\n').filter(Boolean).sort();
    };

    it('completes commands, subcommands, options and option values from the program tree', () => {
      expect(complete('keyshare sc')).toEqual(['scope']);
      expect(complete('keyshare scope ')).toEqual(['add', 'ls', 'rm', 'show']);
      expect(complete('keyshare scope add --l')).toEqual(['--level']);
      expect(complete('keyshare scope add x --level ')).toEqual(['audit', 'permissive', 'skip', 'strict']);
      // Option values are skipped when finding the subcommand.
      expect(complete('keyshare --version')).toContain('--version');
      expect(complete('keyshare scope --help')).toContain('--help');
      expect(complete('keyshare revoke key --server http://x --re')).toEqual(['--reason']);
      expect(complete('keyshare completion ')).toEqual(['bash', 'zsh']);
      for (const c of program.commands) expect(complete(`keyshare ${c.name()}`)).toContain(c.name());
    });

    it('completes file arguments with file names', () => {
      writeFileSync(join(dir, 'acme-root.pem'), '');
      expect(complete('keyshare anchor add registry.acme.io --cert acme-')).toEqual(['acme-root.pem']);
    });
  });

  describe('for zsh', () => {
    const zsh = requireTool('zsh');
    // STYLE.md: a test that needs a system tool fails when it is missing and CI is set.
    it('is a valid zsh script that completes from the program tree', () => {
      expect(zsh, 'zsh is needed (apt-get install zsh)').toBeDefined();
      const script = join(dir, '_keyshare');
      writeFileSync(script, completionScript(program, 'zsh'));
      const syntax = spawnSync(zsh!, ['-n', script], { encoding: 'utf8' });
      expect(syntax.stderr).toBe('');
      expect(syntax.status).toBe(0);
      // Run the completion function with the completion system's builtins stubbed out to print what they are given.
      const run = (line: string) => {
        const words = line.split(' ');
        const out = execFileSync(
          zsh!,
          [
            '-fc',
            [
              'compdef() { : }',
              '_describe() { local arr=${@[-1]}; print -l -- ${(P)arr} }',
              'compadd() { [[ $1 == -- ]] && shift; print -l -- "$@" }',
              '_files() { print -- FILES "$@" }',
              '_message() { print -- MESSAGE "$@" }',
              'source "$1"',
              `words=(${words.map((w) => `'${w}'`).join(' ')}); CURRENT=${words.length}`,
              '_keyshare',
            ].join('\n'),
            'x',
            script,
          ],
          { encoding: 'utf8' },
        );
        return out.split('\n').filter(Boolean);
      };
      expect(run('keyshare ').map((l) => l.split(':')[0])).toEqual(expect.arrayContaining(['scope', 'anchor', 'serve', 'completion']));
      expect(run('keyshare scope ').map((l) => l.split(':')[0]).sort()).toEqual(['add', 'ls', 'rm', 'show']);
      expect(run('keyshare scope add x --level ')).toEqual(['strict', 'permissive', 'audit', 'skip']);
      expect(run('keyshare --data /tmp scope add --').map((l) => l.split(':')[0])).toContain('--no-inherit');
      expect(run('keyshare anchor add s --cert ')).toEqual(['FILES']);
    });
  });
});

describe('progress bars', () => {
  const stream = (isTTY: boolean) => {
    const out: string[] = [];
    return { out, isTTY, columns: 80, write: (s: string) => out.push(s) };
  };

  it('draw on a terminal, and clear when done', () => {
    const s = stream(true);
    let t = 0;
    const bar = progress({ label: 'exporting', total: 4, stream: s, clock: () => (t += 1000) });
    expect(bar.enabled).toBe(true);
    bar.tick();
    bar.tick(3);
    bar.done();
    expect(s.out[0]).toMatch(/^\r\x1b\[Kexporting \[#+\.+\] 1\/4 25%$/);
    expect(s.out[1]).toMatch(/4\/4 100%$/);
    expect(s.out.at(-1)).toBe('\r\x1b[K');
  });

  it('stay silent when not on a terminal, or with --json', () => {
    for (const bar of [progress({ label: 'x', total: 2, stream: stream(false) }), progress({ label: 'x', total: 2, json: true, stream: stream(true) })]) {
      bar.tick();
      bar.tick();
      bar.done();
      expect(bar.enabled).toBe(false);
    }
    const s = stream(false);
    const bar = progress({ label: 'x', total: 2, stream: s });
    bar.update(2);
    bar.done();
    expect(s.out).toEqual([]);
  });

  it('redraws at most every interval', () => {
    const s = stream(true);
    const bar = progress({ label: 'x', total: 1000, stream: s, intervalMs: 100, clock: () => 5 });
    for (let i = 0; i < 999; i++) bar.tick();
    expect(s.out.length).toBe(1);
    bar.tick();
    expect(s.out.at(-1)).toMatch(/1000\/1000 100%$/);
  });
});
