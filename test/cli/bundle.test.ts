/**
 * The bundled CLI (dist/bundle/, built by `npm run build` through scripts/bundle.mjs, and what
 * bin/keyshare.js runs) behaves like the sources: the same command tree, the same --help for
 * every command and subcommand, the same completion scripts (issue 25). The end-to-end tests
 * run the bundle through bin/keyshare.js.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import { beforeAll, describe, expect, it } from 'vitest';
import { completionScript } from '../../cli/completion.js';
import { helpText } from '../../cli/help.js';
import { packageRoot } from '../../service/util/paths.js';

const ROOT = packageRoot();
const BUNDLE = join(ROOT, 'dist/bundle/keyshare.js');

/** cli/main.ts and the bundle run the CLI when loaded: give them a harmless command line (it prints the version). */
async function programFrom(load: () => Promise<{ buildProgram(): Promise<Command> }>): Promise<Command> {
  const argv = process.argv;
  process.argv = [argv[0]!, 'keyshare', '--version'];
  try {
    return await (await load()).buildProgram();
  } finally {
    process.argv = argv;
  }
}

function commands(cmd: Command, path = ''): [string, Command][] {
  return [[path, cmd], ...cmd.commands.flatMap((c) => commands(c, path ? `${path} ${c.name()}` : c.name()))];
}

let sources: Command;
let bundled: Command;

beforeAll(async () => {
  expect(existsSync(BUNDLE), 'dist/bundle/ is missing: run `npm run build`').toBe(true);
  sources = await programFrom(() => import('../../cli/main.js'));
  bundled = await programFrom(() => import(/* @vite-ignore */ pathToFileURL(BUNDLE).href));
});

describe('the bundled CLI', () => {
  it('has the command tree of the sources', () => {
    const paths = (p: Command) => commands(p).map(([path, c]) => `${path}: ${c.options.map((o) => o.flags).join(' ')}`);
    expect(paths(bundled)).toEqual(paths(sources));
    expect(commands(sources).length).toBeGreaterThan(15);
  });

  it('prints the same --help for every command and subcommand', () => {
    const bundledByPath = new Map(commands(bundled));
    const differ = commands(sources).filter(([path, c]) => helpText(bundledByPath.get(path)!) !== helpText(c));
    expect(differ.map(([path]) => path || '(keyshare)')).toEqual([]);
  });

  it('writes the same completion scripts', () => {
    for (const shell of ['bash', 'zsh'] as const) expect(completionScript(bundled, shell)).toBe(completionScript(sources, shell));
  });

  it('answers the same through bin/keyshare.js', () => {
    const run = (...args: string[]) => spawnSync(process.execPath, [join(ROOT, 'bin/keyshare.js'), ...args], { encoding: 'utf8', timeout: 30_000 });
    const help = run('anchor', 'add', '--help');
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toBe(helpText(commands(sources).find(([p]) => p === 'anchor add')![1]));
    const version = run('--version');
    expect(version.stdout.trim()).toBe(sources.version());
    // Answered from the text scripts/bundle.mjs rendered at build time (cli/main.ts), without commander.
    for (const flag of ['--help', '-h']) {
      const top = run(flag);
      expect(top.status, top.stderr).toBe(0);
      expect(top.stdout).toBe(helpText(sources));
    }
  });

  it('runs fetch and anchor from their own CommonJS files, with the same --help (cli/single/)', () => {
    for (const name of ['fetch', 'anchor']) {
      expect(existsSync(join(ROOT, `dist/bundle/${name}.cjs`)), `${name}.cjs`).toBe(true);
      for (const [path, c] of commands(sources).filter(([p]) => p === name || p.startsWith(`${name} `))) {
        const r = spawnSync(process.execPath, [join(ROOT, 'bin/keyshare.js'), ...path.split(' '), '--help'], { encoding: 'utf8', timeout: 30_000 });
        expect(r.status, r.stderr).toBe(0);
        expect(r.stdout, path).toBe(helpText(c));
      }
    }
    // A usage error keeps its exit code and commander's message.
    const bad = spawnSync(process.execPath, [join(ROOT, 'bin/keyshare.js'), 'fetch', '--no-such-option'], { encoding: 'utf8', timeout: 30_000 });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("required option '--root <file>' not specified");
  });

  it('compiles fetch and anchor with a V8 code cache this Node accepts (bin/keyshare.js)', () => {
    for (const name of ['fetch', 'anchor']) {
      const file = join(ROOT, `dist/bundle/${name}.cjs`);
      const check = `const vm = require('node:vm'); const fs = require('node:fs'); const { wrap } = require('node:module');
        const s = new vm.Script(wrap(fs.readFileSync(${JSON.stringify(file)}, 'utf8')), { filename: ${JSON.stringify(file)}, cachedData: fs.readFileSync(${JSON.stringify(file + '.v8cache')}) });
        process.stdout.write(String(s.cachedDataRejected));`;
      const r = spawnSync(process.execPath, ['-e', check], { encoding: 'utf8', timeout: 30_000 });
      expect(r.stdout, `${name}: ${r.stderr}`).toBe('false');
    }
  });
});

describe('a reader that closes stdout early (`keyshare ... | head`)', () => {
  // Node ignores SIGPIPE, so a write to a closed pipe is an EPIPE error: it must end output quietly.
  const closedEarly = (args: string[]) =>
    new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [join(ROOT, 'bin/keyshare.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.destroy(); // closed before the CLI writes anything
      let stderr = '';
      child.stderr.on('data', (b: Buffer) => (stderr += b));
      child.on('close', (code) => resolve({ code, stderr }));
    });

  it.each([['--help'], ['--version'], ['scope', '--help'], ['fetch', '--help'], ['completion', 'bash']])('%s exits 0 with nothing on stderr', async (...args: string[]) => {
    const r = await closedEarly(args);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});
