/**
 * Every command in the README and in every `--help` example runs as written (issue 15, "Done
 * when"): the commands are extracted from the files and the program themselves, so docs and
 * code cannot drift. Each runs in bash, as a user would type it, with `keyshare` on the PATH,
 * against one service started for this file (KEYSHARE_SERVER and KEYSHARE_DATA point to it),
 * in a directory holding the clone's `examples/` and `fixtures/`. The README's JavaScript
 * examples run too, with node, importing `keyshare/client` as a program depending on it would.
 *
 * A command that cannot run here (it needs another host, root keys kept offline, a PKCS#11
 * token, or the IDs of your own keys) is listed in CANNOT_RUN with the reason, and is then
 * checked through the real CLI parser: its command, options, arguments and choices exist.
 */
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { helpText } from '../../cli/help.js';
import { packageRoot } from '../../service/util/paths.js';
import { loadProgram } from '../support/cli-program.js';
import { cleanupTempDirs, startTestService, tempDir, type TestService } from '../support/service.js';

vi.setConfig({ testTimeout: 600_000 });

const ROOT = packageRoot();

/** Commands that cannot run against a local test service, by pattern, and why. */
const CANNOT_RUN: [RegExp, string][] = [
  [/--server https:\/\/keyshare\.acme\.io|--url https:\/\/|pki\.acme\.io|--crl-url-base/, 'names a host of the reader (keyshare.acme.io, pki.acme.io)'],
  [/^keyshare serve( |$)|^KEYSHARE_LOG_LEVEL=debug keyshare serve/, 'runs until stopped, on the port of the service under test or a file of the reader'],
  [/keyshare (init|restore|backup) /, 'writes a data dir or a file outside the test directory (/var/lib, /backups)'],
  [/> \/etc\/|"\$\{fpath\[1\]\}"/, 'writes into the system (/etc, the zsh fpath)'],
  [/root (propose|sign|publish|discard|status)/, 'a root ceremony needs root keys of your own, kept offline'],
  [/key rotate .*--pkcs11|pkcs11:/, 'needs a PKCS#11 token'],
  [/\.\.\.|sha256:51df999e985db5e71e4be9474f03ba5d4d9f9ba56cd7acb278cdb830309c96c0|0123456789ab|pgp:0123456789abcdef/, 'names the ID of a key, token or signature of the reader'],
  [/tenant (sign|rm|show) team-b|--public-key team-b|--generate-key team-c/, 'an offline tenant signs with a key of its own'],
  [/tenant (ls|show|rm) team-a|tenant show team-a/, 'names a tenant the reader made'],
  [/upstream (show|rm) hq|^keyshare sync( hq|$)/, 'needs an upstream service'],
  [/witness rm w1/, 'names a witness the reader added (test/service/tlog/witness.test.ts adds and removes one)'],
  [/tenant add acme /, 'a second tenant over the scopes of the example before it (a scope belongs to one tenant)'],
  [/bundle import .*--root central-root\.json/, "needs another site's bundle and root"],
  [/diff --bundle .*--root central-root\.json/, "needs another site's bundles and root"],
  [/oci:\/\/(registry\.acme\.io|mirror\.internal)\//, 'needs an OCI registry of the reader (test/e2e/bundle-oci.test.ts pushes and pulls through a real one)'],
  [/crl add (acme-intermediate|intermediate-ca)\.crl/, 'needs a CRL of your CA'],
  [/revoke cert --cert leaf\.pem/, 'needs a certificate of the reader'],
  [/check registry\.acme\.io\/team-a\/app/, 'needs a signer certificate of the reader'],
  [/token rotate-admin/, 'rewrites the admin token of the service under test'],
  [/revocations replay --since \/backups\//, 'needs a backup of the reader (/backups)'],
  [/ca import legacy /, 'needs a CA certificate and key of the reader (test/e2e/signing-authority.test.ts runs it with an openssl CA)'],
  [/--cert ci\.crt/, 'needs the certificate that `ca issue` made with a signer token of the reader (the line before)'],
];

/** A shell line's words up to the first operator (a small shell-words split: quotes, no expansion). */
function words(line: string): string[] {
  const out: string[] = [];
  for (const [w] of line.matchAll(/(?:"[^"]*"|'[^']*'|\$\([^)]*\)|[^\s"'])+/g)) {
    if (/^(\||>|<|;|&&|#)/.test(w)) break;
    out.push(w.replace(/"([^"]*)"|'([^']*)'/g, '$1$2'));
  }
  return out;
}

/** The keyshare command in a shell line (after any VAR=value and `source <(`), as words. */
function keyshareWords(line: string): string[] {
  const i = line.search(/(^|[\s(])keyshare /);
  const rest = line.slice(i).replace(/^[\s(]/, '').replace(/\)\s*$/, '');
  return words(rest);
}

/** Every shell line of the README's sh blocks that runs keyshare, continuations joined, comments cut. */
function readmeCommands(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const lines: string[] = [];
  for (const [, block] of readme.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const raw of block!.replace(/\\\n\s*/g, ' ').split('\n')) {
      const line = raw.replace(/\s+#.*$/, '').trim();
      if (/(^|[\s(])keyshare /.test(line) && !line.startsWith('#')) lines.push(line);
    }
  }
  return lines;
}

/**
 * The README's JavaScript examples (```js blocks), with the reader's server and pinned root
 * (https://keyshare.acme.io, /etc/keyshare/root.json) replaced by the service under test's.
 */
function readmeScripts(server: string, root: string): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  return [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map(([, block]) =>
    block!.replaceAll("'https://keyshare.acme.io'", JSON.stringify(server)).replaceAll("'/etc/keyshare/root.json'", JSON.stringify(root)),
  );
}

/** Every example line of every --help that runs keyshare. */
function helpCommands(program: Command): string[] {
  const out: string[] = [];
  const visit = (cmd: Command) => {
    const m = /\bExamples?:\n((?: {2}.*\n?)+)/.exec(helpText(cmd));
    for (const raw of m?.[1]?.replace(/\\\n\s*/g, ' ').split('\n') ?? []) {
      const line = raw.replace(/\s+#.*$/, '').trim();
      if (/(^|[\s(])keyshare /.test(line)) out.push(line);
    }
    cmd.commands.forEach(visit);
  };
  visit(program);
  return out;
}

let svc: TestService;
let dir: string;
let program: Command;
let readme: string[];
let help: string[];

beforeAll(async () => {
  expect(existsSync(join(ROOT, 'dist', 'cli', 'main.js')), 'dist/ is missing: run `npm run build`').toBe(true);
  program = await loadProgram();
  // Each distinct line once, in order of first appearance.
  readme = [...new Set(readmeCommands())];
  help = [...new Set(helpCommands(program))];
  svc = await startTestService();
  dir = tempDir('keyshare-docs-');
  // The clone's files that the examples name, and `keyshare` on the PATH (as after `npm link`).
  symlinkSync(join(ROOT, 'examples'), join(dir, 'examples'));
  symlinkSync(join(ROOT, 'fixtures'), join(dir, 'fixtures'));
  // ./keyshare-data, as `npm start` makes it in the clone (the service under test listens elsewhere: KEYSHARE_SERVER).
  symlinkSync(svc.dataDir, join(dir, 'keyshare-data'));
  // The reader's own files that the --help examples name.
  for (const [name, fixture] of [['acme-root.pem', 'certs/root-ca.pem'], ['cosign.pub', 'keys/ec-p256.pub.pem'], ['release.asc', 'pgp/release.pub.asc']]) {
    writeFileSync(join(dir, name), readFileSync(join(ROOT, 'fixtures', fixture!)));
  }
  mkdirSync(join(dir, 'bin'));
  writeFileSync(join(dir, 'bin', 'keyshare'), `#!/bin/sh\nexec "${process.execPath}" "${join(ROOT, 'bin', 'keyshare.js')}" "$@"\n`);
  chmodSync(join(dir, 'bin', 'keyshare'), 0o755);
});
afterAll(async () => {
  await svc?.close();
  cleanupTempDirs();
});

function bash(line: string): Promise<{ code: number; out: string }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KEYSHARE_')));
  return new Promise((done) => {
    execFile(
      'bash',
      ['-c', line],
      { cwd: dir, timeout: 120_000, env: { ...env, PATH: `${join(dir, 'bin')}:${process.env.PATH}`, KEYSHARE_SERVER: svc.url, HOME: dir } },
      (error, stdout, stderr) => done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, out: `${stdout}${stderr}` }),
    );
  });
}

function node(file: string): Promise<{ code: number; out: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [file], { cwd: dir, timeout: 120_000, env: { ...process.env, HOME: dir } }, (error, stdout, stderr) =>
      done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, out: `${stdout}${stderr}` }),
    );
  });
}

/** Parses a command with the real program, every action replaced by nothing. */
async function parses(argv: string[]): Promise<string | null> {
  const p = await loadProgram();
  const silence = (c: Command) => {
    c.configureOutput({ writeOut: () => {}, writeErr: () => {} });
    if (c.parent) c.action(() => {});
    c.commands.forEach(silence);
  };
  silence(p);
  try {
    await p.parseAsync(['node', ...argv]);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

const cannotRun = (line: string) => CANNOT_RUN.find(([re]) => re.test(line))?.[1] ?? null;

describe('the commands in the README and in every --help', () => {
  it('are found', () => {
    expect(readme.length).toBeGreaterThan(40);
    expect(help.length).toBeGreaterThan(60);
  });

  it('write the command in one form, `keyshare` (the README says how to get it on the PATH)', () => {
    const shell = [...readFileSync(join(ROOT, 'README.md'), 'utf8').matchAll(/```sh\n([\s\S]*?)```/g)].map(([, block]) => block!).join('\n');
    expect(shell.split('\n').filter((line) => /npx keyshare|bin\/keyshare(\.js)?\b/.test(line))).toEqual([]);
    expect(help.filter((line) => /npx keyshare|bin\/keyshare/.test(line))).toEqual([]);
  });

  it('run as written, in the order the README gives them, then the --help examples', async () => {
    const failures: string[] = [];
    const run = async (lines: string[]) => {
      for (const line of lines) {
        if (cannotRun(line)) continue;
        const r = await bash(line);
        if (r.code !== 0) failures.push(`${line}\n    exit ${r.code}: ${r.out.trim().split('\n').slice(-2).join(' | ')}`);
      }
    };
    await run(readme);
    // The --help examples start again from a service without scopes and tenants, and remove
    // things last (`scope rm` before `anchor add` to that scope fails only by the order of the texts).
    expect((await svc.api('POST', '/apply?prune=true', { scopes: [] })).status).toBe(200);
    for (const t of (await svc.api('GET', '/tenants')).body.tenants) await svc.api('DELETE', `/tenants/${t.name}`);
    await run([...help.filter((l) => !/ rm /.test(l)), ...help.filter((l) => / rm /.test(l))]);
    expect(failures).toEqual([]);
  });

  it("the README's JavaScript examples run as written, importing keyshare/client as a package", async () => {
    const scripts = readmeScripts(svc.url, join(svc.dataDir, 'root.json'));
    expect(scripts.length).toBeGreaterThan(0);
    // The scope the example's repository falls under, as the README's quick tour makes it (the
    // --help examples may have removed it since). 409: it is still there.
    expect([201, 409]).toContain((await svc.api('POST', '/scopes', { scope: 'registry.acme.io' })).status);
    // `import 'keyshare/client'` resolves as in a program that depends on keyshare.
    mkdirSync(join(dir, 'node_modules'), { recursive: true });
    if (!existsSync(join(dir, 'node_modules', 'keyshare'))) symlinkSync(ROOT, join(dir, 'node_modules', 'keyshare'));
    for (const [i, script] of scripts.entries()) {
      // Each ends by printing what it fetched, so that the test sees a real result.
      writeFileSync(join(dir, `readme-${i}.mjs`), `${script}\nconsole.log(JSON.stringify({ documents: documents.length, root: metadata.rootVersion, cache: metadata.cacheDir }));\n`);
      const r = await node(join(dir, `readme-${i}.mjs`));
      expect(r.code, `${script}\n${r.out}`).toBe(0);
      expect(JSON.parse(r.out.trim().split('\n').pop()!)).toMatchObject({ documents: 1, root: expect.any(Number), cache: expect.stringContaining(join(dir, '.cache', 'keyshare')) });
    }
  });

  it('that cannot run here are at least valid command lines for the real parser', async () => {
    const failures: string[] = [];
    for (const line of [...readme, ...help]) {
      if (!cannotRun(line)) continue;
      const error = await parses(keyshareWords(line));
      if (error) failures.push(`${line}: ${error}`);
    }
    expect(failures).toEqual([]);
  });
});
