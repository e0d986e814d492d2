/**
 * `npm run build`, second step: bundles the CLI with esbuild into dist/bundle/, the code that
 * bin/keyshare.js runs (issues 15 and 25: start-up time, bench B5).
 *
 * - One entry file, dist/bundle/keyshare.js, with every module of the project and of its
 *   dependencies inside: Node resolves and reads a handful of files instead of hundreds.
 * - Code splitting: each `import()` that cli/main.ts makes per command (and the lazy ones
 *   inside the commands) becomes a chunk of its own under dist/bundle/chunks/, so a command
 *   line parses and runs only the code that it uses. A single 5 MB file made every start
 *   parse all of it (slower than the unbundled tree).
 * - Native addons stay outside (better-sqlite3, pkcs11js; pg-native is optional for pg):
 *   they load from node_modules as before.
 * - `keyshare fetch` and `keyshare anchor` also get one CommonJS file each (below).
 * - `keyshare --help`, rendered once here by the bundle itself (commander, 80 columns), is
 *   written next to it: cli/main.ts prints it without loading commander or any command.
 */
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import Module from 'node:module';
import v8 from 'node:v8';
import vm from 'node:vm';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist/bundle');

rmSync(outdir, { recursive: true, force: true });
const { metafile } = await build({
  absWorkingDir: root,
  // The parse workers (service/crypto/worker-pool.ts workerModule finds them next to the chunks).
  entryPoints: { keyshare: 'cli/main.ts', 'parse-worker': 'service/crypto/parse-worker.ts', 'pgp-worker': 'service/crypto/pgp-worker.ts' },
  outdir,
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['better-sqlite3', 'pkcs11js', 'pg-native'],
  // CommonJS dependencies call require() for Node's built-ins: give the ES module chunks one.
  banner: { js: "import { createRequire as __keyshareCreateRequire } from 'node:module'; const require = __keyshareCreateRequire(import.meta.url);" },
  // Class and function names as in the sources (error names, stack traces).
  keepNames: true,
  sourcemap: 'linked',
  legalComments: 'linked',
  logLevel: 'warning',
  metafile: true,
});

// esbuild gives an import() of a CommonJS package only its default export (`module.exports`),
// where Node gives its named exports too: such an import would break once bundled. Import the
// package statically from a small module of ours, and import() that (cli/yaml.ts).
const broken = Object.values(metafile.outputs)
  .map((o) => o.entryPoint)
  .filter((entry) => entry && entry.includes('node_modules/') && metafile.inputs[entry]?.format === 'cjs');
if (broken.length > 0) {
  console.error(`scripts/bundle.mjs: import() of CommonJS packages, which the bundle cannot serve by name: ${broken.join(', ')}`);
  process.exit(1);
}

/**
 * An import() of a Node built-in in the CommonJS bundles becomes a lazy require(): V8 loses the
 * dynamic-import callback of code it takes from a code cache on Node 20 ("A dynamic import
 * callback was not specified"). The built-ins' named exports are own properties of theirs.
 */
const builtinsImportedByRequire = {
  name: 'builtins-imported-by-require',
  setup(b) {
    b.onResolve({ filter: /^node:/ }, (args) => (args.kind === 'dynamic-import' ? { path: args.path, namespace: 'builtin-require' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'builtin-require' }, (args) => ({ contents: `module.exports = require(${JSON.stringify(args.path)});`, loader: 'js' }));
  },
};

/** The commands bundled on their own (cli/single/<command>.ts → <command>.cjs). */
const SINGLE = ['fetch', 'anchor'];

// `fetch` and `anchor` (cli/single/), each one CommonJS file with what it imports, required by
// bin/keyshare.js (itself CommonJS, so no ES module loader starts): Node 20's ES module loader costs more per chunk (resolve, read, compile, link)
// than CommonJS does per file, and a fetch took some 40 chunks (docs/BENCHMARKS.md, issue 25).
// Lazy import()s stay lazy (esbuild wraps them), but their code is still parsed at start: the
// big packages only they reach (the writers' and the CRL checks' X.509, OpenPGP and YAML: 1.6 of
// fetch's 2.1 MB) are left to node_modules, loaded by require() when used, as the native addons
// are. import.meta.url is the bundle file's URL, as it is a chunk's in the ES module bundle.
await build({
  absWorkingDir: root,
  entryPoints: Object.fromEntries(SINGLE.map((command) => [command, `cli/single/${command}.ts`])),
  outdir,
  outExtension: { '.js': '.cjs' },
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  external: ['better-sqlite3', 'pkcs11js', 'pg-native', 'openpgp', 'yaml', '@peculiar/*', 'asn1js', 'reflect-metadata', 'tsyringe'],
  define: { 'import.meta.url': '__keyshareImportMetaUrl' },
  plugins: [builtinsImportedByRequire],
  banner: { js: "const __keyshareImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  keepNames: true,
  sourcemap: 'linked',
  legalComments: 'linked',
  logLevel: 'warning',
});

// V8's code cache for each of them (bin/keyshare.js compiles them with it), with every function
// compiled (--no-lazy while compiling only: V8 takes a cache made under other flags for stale):
// what a run compiles is then read from the cache, not parsed.
for (const command of SINGLE) {
  const file = join(outdir, `${command}.cjs`);
  v8.setFlagsFromString('--no-lazy');
  const script = new vm.Script(Module.wrap(readFileSync(file, 'utf8')), { filename: file });
  v8.setFlagsFromString('--lazy');
  writeFileSync(`${file}.v8cache`, script.createCachedData());
}

// The top-level help, as the program renders it when stdout is not a terminal (80 columns).
const help = spawnSync(process.execPath, [join(outdir, 'keyshare.js'), '--help'], { encoding: 'utf8', timeout: 60_000 });
if (help.status !== 0 || !help.stdout.startsWith('Usage: keyshare')) {
  console.error(`scripts/bundle.mjs: keyshare --help failed: ${help.stderr || help.error}`);
  process.exit(1);
}
writeFileSync(join(outdir, 'keyshare-help.txt'), help.stdout);
