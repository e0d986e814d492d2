/**
 * The library entry point `keyshare/client` (package.json "exports", issue 25): a long-running
 * client imports it and loads no service code. Checked twice: over the source import graph
 * (every import form: static, `import type`, re-exports and `import()`), and by loading the
 * built entry in a child Node with a resolve hook that lists every file it loads.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Codes } from '../../../service/errors.js';
import { SharedCodes } from '../../../shared/errors.js';
import { packageRoot } from '../../../service/util/paths.js';

const ROOT = packageRoot();
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, { default: string; types: string }> };

/** Every relative module specifier in a TypeScript source: `from '...'`, `import '...'`, `import('...')`. */
function specifiers(source: string): string[] {
  const found: string[] = [];
  for (const m of source.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"](\.{1,2}\/[^'"]+)['"]/g)) found.push(m[1]!);
  return found;
}

/** The source files reachable from `entry` through relative imports, as paths relative to the package. */
function sourceGraph(entry: string): Map<string, string> {
  const reached = new Map<string, string>([[relative(ROOT, entry), '(entry)']]);
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop()!;
    for (const spec of specifiers(readFileSync(file, 'utf8'))) {
      const target = resolve(dirname(file), spec).replace(/\.js$/, '.ts');
      expect(existsSync(target), `${relative(ROOT, file)} imports ${spec}, which has no source`).toBe(true);
      const rel = relative(ROOT, target);
      if (reached.has(rel)) continue;
      reached.set(rel, relative(ROOT, file));
      queue.push(target);
    }
  }
  return reached;
}

describe('the keyshare/client entry point', () => {
  const entry = pkg.exports['./client']!;

  it('is the client library, with its types', () => {
    expect(entry.default).toBe('./dist/sync/client/index.js');
    expect(entry.types).toBe('./dist/sync/client/index.d.ts');
  });

  it('has no import path into service/', () => {
    const graph = sourceGraph(join(ROOT, 'sync/client/index.ts'));
    const intoService = [...graph].filter(([file]) => file.startsWith('service/')).map(([file, from]) => `${from} → ${file}`);
    expect(intoService).toEqual([]);
    // The walk follows imports: it reaches the shared modules and the fetch itself.
    expect([...graph.keys()]).toEqual(expect.arrayContaining(['sync/client/fetch-trust.ts', 'sync/client/http.ts', 'shared/errors.ts', 'shared/scope.ts']));
  });

  it('codes thrown from shared/ mean what they mean in service/', () => {
    expect(Codes).toMatchObject(SharedCodes);
  });

  it('loads no service file when imported by its package name, and fetches', () => {
    expect(existsSync(join(ROOT, entry.default)), 'dist/ is missing: run `npm run build`').toBe(true);
    const hooks = 'export async function resolve(s, c, next) { const r = await next(s, c); if (r.url.startsWith("file:")) console.log("LOADED " + r.url); return r; }';
    const register = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hooks)}`)});`;
    // Offline with no cache: the library's own coded error, through its exported class.
    const script = `const { fetchTrust, isKeyshareError } = await import('keyshare/client');
      await fetchTrust({ server: 'http://127.0.0.1:9', root: new Uint8Array(), offline: true, cache: '/nonexistent/keyshare-cache' })
        .catch((e) => console.log('CODE ' + (isKeyshareError(e) ? e.code : 'none')));`;
    const r = spawnSync(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(register)}`, '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const loaded = r.stdout.split('\n').filter((l) => l.startsWith('LOADED file://')).map((l) => relative(ROOT, new URL(l.slice(7)).pathname));
    expect(loaded).toContain('dist/sync/client/fetch-trust.js');
    expect(loaded.filter((f) => f.startsWith('dist/service/') || f.startsWith('dist/cli/'))).toEqual([]);
    expect(r.stdout).toMatch(/^CODE ROOT_INVALID$/m);
  });
});
