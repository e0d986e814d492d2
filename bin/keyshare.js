#!/usr/bin/env node
// The CLI as built by `npm run build` (run by `npm ci` through the prepare script): the esbuild
// bundle (scripts/bundle.mjs) when it is at least as new as tsc's dist/, else tsc's output, so
// that a `tsc -p tsconfig.build.json` alone never leaves a stale bundle running.
//
// CommonJS (bin/package.json), so that a command the bundle holds as one CommonJS file of its own
// (dist/bundle/<command>.cjs: fetch, anchor) starts without Node's ES module loader at all
// (start-up, issue 25, docs/BENCHMARKS.md); every other command line imports the ES module entry.
'use strict';
const { readFileSync, statSync } = require('node:fs');
const { dirname, join } = require('node:path');

const mtime = (path) => statSync(join(__dirname, path), { throwIfNoEntry: false })?.mtimeMs ?? -1;
const bundled = mtime('../dist/bundle/keyshare.js');
const useBundle = bundled >= 0 && bundled >= mtime('../dist/cli/main.js');
const command = process.argv[2];
const single = useBundle && command && /^[a-z]+$/.test(command) ? `../dist/bundle/${command}.cjs` : null;

/**
 * Loads the CommonJS file (which runs the command line), compiled with the V8 code cache that
 * scripts/bundle.mjs wrote next to it (`<file>.v8cache`): compiling the bundle was about a third
 * of fetch's start. V8 rejects a cache made by another V8 or for another source, and then
 * compiles as require() would.
 */
function requireCached(file) {
  const vm = require('node:vm');
  const { createRequire, wrap } = require('node:module');
  const dynamicImport = vm.constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER;
  if (dynamicImport === undefined) return void require(file); // Node < 20.12
  let cachedData;
  try {
    cachedData = readFileSync(`${file}.v8cache`);
  } catch {
    cachedData = undefined; // not built with one: compile
  }
  const script = new vm.Script(wrap(readFileSync(file, 'utf8')), { filename: file, cachedData, importModuleDynamically: dynamicImport });
  const module = { exports: {}, filename: file };
  script.runInThisContext().call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
}

/**
 * `--version` and the top-level `--help`: the texts scripts/bundle.mjs wrote next to the bundle
 * (what cli/main.ts prints for them), here without starting Node's ES module loader (issue 15:
 * within 1.3× of `node -e 0`). The help was rendered at 80 columns, as commander renders it off a
 * terminal; on a terminal of another width commander renders it (cli/main.ts). Null: not answered.
 */
function builtAnswer(args) {
  if (!useBundle || args.length !== 1) return null;
  const version = args[0] === '--version' || args[0] === '-V';
  const help = (args[0] === '--help' || args[0] === '-h') && (process.stdout.isTTY ? process.stdout.columns : 80) === 80;
  if (!version && !help) return null;
  try {
    return readFileSync(join(__dirname, '../dist/bundle', version ? 'keyshare-version.txt' : 'keyshare-help.txt'), 'utf8');
  } catch {
    return null; // an older build without the texts
  }
}

/** Writes the answer with write(2), as cli/output.ts does; a reader that closed early (EPIPE) ends it quietly. */
function printAnswer(text) {
  const { writeSync } = require('node:fs');
  const bytes = Buffer.from(text);
  let at = 0;
  try {
    while (at < bytes.length) at += writeSync(1, bytes, at);
  } catch (e) {
    if (e.code === 'EAGAIN') process.stdout.write(bytes.subarray(at)); // a non-blocking pipe: the stream waits for it
    else if (e.code !== 'EPIPE') throw e;
  }
}

const answer = builtAnswer(process.argv.slice(2));
if (answer !== null) {
  printAnswer(answer);
} else if (single && mtime(single) >= 0) {
  requireCached(join(__dirname, single)); // runs the command line, as cli/main.ts does
} else {
  import(useBundle ? '../dist/bundle/keyshare.js' : '../dist/cli/main.js');
}
