#!/usr/bin/env node
// The CLI as built by `npm run build` (run by `npm ci` through the prepare script): the esbuild
// bundle (scripts/bundle.mjs) when it is at least as new as tsc's dist/, else tsc's output, so
// that a `tsc -p tsconfig.build.json` alone never leaves a stale bundle running.
import { statSync } from 'node:fs';

const mtime = (path) => statSync(new URL(path, import.meta.url), { throwIfNoEntry: false })?.mtimeMs ?? -1;
const bundled = mtime('../dist/bundle/keyshare.js');
await import(bundled >= 0 && bundled >= mtime('../dist/cli/main.js') ? '../dist/bundle/keyshare.js' : '../dist/cli/main.js');
