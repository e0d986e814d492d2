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
 */
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
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
