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
 * - `keyshare --help`, rendered once here by the bundle itself (commander, 80 columns), and
 *   `keyshare --version` are written next to it: bin/keyshare.js prints them without loading
 *   the bundle (cli/main.ts, which prints them otherwise, without commander or any command).
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

/**
 * Built-ins that the single-command bundles load on first use rather than at start (issue 25:
 * each one Node compiles costs the start; `fetch --offline` needs none of them): commander's
 * child_process (for executable subcommands, with dgram and net), tuf-js's fs/promises (its
 * BaseFetcher's temporary files, with readline), watch's timers/promises, the crypto worker
 * pool's worker_threads, and the streams and HTTP only some paths use. esbuild turns
 * `import { x } from 'node:y'` into `y.x` at each use, so the module is required on the first
 * property read; `__esModule`, which esbuild's and tsc's interop helpers read at import, is
 * answered without loading it (no built-in has it).
 */
const LAZY_BUILTINS = new Set(['child_process', 'fs/promises', 'timers/promises', 'worker_threads', 'stream', 'http', 'https', 'net', 'tty']);
/*
 * minimatch stays inside fetch.cjs (it was required from node_modules on first use until the
 * eighth round of issue 25): @tufjs/models matches delegated roles' `paths` with it, and the
 * `shards` role (issue 17) delegates by `paths`, so every full refresh (cold, offline) loaded its
 * 8 files through Node's resolver and compiled them without a cache. In the bundle it comes from
 * the code cache instead (docs/BENCHMARKS.md, eighth round).
 */
const lazyModules = {
  name: 'lazy-modules',
  setup(b) {
    b.onResolve({ filter: /^(node:)?[a-z_/]+$/ }, (args) => {
      if (args.namespace === 'lazy') return undefined;
      const name = args.path.replace(/^node:/, '');
      return LAZY_BUILTINS.has(name) ? { path: `node:${name}`, namespace: 'lazy' } : undefined;
    });
    b.onLoad({ filter: /.*/, namespace: 'lazy' }, (args) => ({
      loader: 'js',
      contents: `let m; const load = () => (m ??= require(${JSON.stringify(args.path)}));
module.exports = new Proxy({}, {
  get: (_, k) => (k === '__esModule' ? undefined : load()[k]),
  set: (_, k, v) => { load()[k] = v; return true; },
  has: (_, k) => k in load(),
  ownKeys: () => Reflect.ownKeys(load()),
  getOwnPropertyDescriptor: (_, k) => { const d = Reflect.getOwnPropertyDescriptor(load(), k); return d && { ...d, configurable: true }; },
});`,
    }));
  },
};

/**
 * tuf-js logs through the `debug` package, which at start reads the terminal (tty, with net)
 * and the colour support of stderr. Its logs are written only when DEBUG names them: without
 * DEBUG a no-op logger, with it the package itself (from node_modules, next to tuf-js).
 */
const quietDebug = {
  name: 'quiet-debug',
  setup(b) {
    b.onResolve({ filter: /^debug$/ }, (args) => (args.namespace === 'quiet-debug' ? undefined : { path: 'debug', namespace: 'quiet-debug', pluginData: args.resolveDir }));
    b.onLoad({ filter: /.*/, namespace: 'quiet-debug' }, () => ({
      loader: 'js',
      contents: `const off = () => { const log = () => {}; log.enabled = false; log.extend = off; return log; };
module.exports = process.env.DEBUG ? requireBeside('tuf-js', 'debug') : Object.assign(off, { default: off, enabled: () => false });`,
    }));
  },
};

/**
 * @tufjs/models (pinned, 4.1.1) imports each hex ed25519 key of the metadata as a DER SPKI,
 * which OpenSSL 3 parses through its decoder search: about 0.3 ms a key, ten keys a cold fetch
 * (issue 25). The same 32 bytes as a JWK take Node's raw-key import, a quarter of that; the
 * key and every signature check on it are unchanged. The build stops if the code changed.
 */
const ED25519_DER = `key = crypto_1.default.createPublicKey({
            key: ed25519.hexToDER(keyInfo.keyVal),
            format: 'der',
            type: 'spki',
        });`;
const ED25519_JWK = "key = crypto_1.default.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(keyInfo.keyVal, 'hex').toString('base64url') }, format: 'jwk' });";
const ed25519AsJwk = {
  name: 'ed25519-as-jwk',
  setup(b) {
    b.onLoad({ filter: /@tufjs[\\/]models[\\/]dist[\\/]utils[\\/]key\.js$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      if (!source.includes(ED25519_DER)) throw new Error(`${args.path}: the ed25519 key import changed; update scripts/bundle.mjs ed25519AsJwk`);
      return { contents: source.replace(ED25519_DER, ED25519_JWK), loader: 'js' };
    });
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
  plugins: [lazyModules, quietDebug, ed25519AsJwk, builtinsImportedByRequire],
  // requireBeside: a package left in node_modules, resolved as the package that uses it would.
  banner: {
    js: [
      "const __keyshareImportMetaUrl = require('node:url').pathToFileURL(__filename).href;",
      "const requireBeside = (user, name) => { const { createRequire } = require('node:module'); return createRequire(createRequire(__filename).resolve(user))(name); };",
    ].join('\n'),
  },
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
// And `keyshare --version`: bin/keyshare.js prints both files without loading the bundle.
const version = spawnSync(process.execPath, [join(outdir, 'keyshare.js'), '--version'], { encoding: 'utf8', timeout: 60_000 });
if (version.status !== 0 || !/^\d+\.\d+\.\d+/.test(version.stdout)) {
  console.error(`scripts/bundle.mjs: keyshare --version failed: ${version.stderr || version.error}`);
  process.exit(1);
}
writeFileSync(join(outdir, 'keyshare-version.txt'), version.stdout);
