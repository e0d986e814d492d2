/**
 * The layering rules of STYLE.md and issue 22, held over the import graph of shared/, service/,
 * sync/ and cli/ (a small script rather than a tool: every rule is a line below).
 */
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, sourceFiles } from '../support/source-files.js';

interface Edge {
  from: string;
  /** A repository-relative .ts/.tsx path, or the package name. */
  to: string;
  /** `import type` / `export type` / `import { type A, type B }`: erased at run time. */
  typeOnly: boolean;
}

const IMPORT = /^\s*(import|export)\s+(type\s+)?([^'";]*?)\s*from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm;

function importsOf(file: string, files: ReadonlySet<string>): Edge[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const edges: Edge[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[4] ?? m[5] ?? m[6]!;
    const clause = m[3] ?? '';
    const braces = /^\{([^}]*)\}$/.exec(clause.trim());
    const typeOnly = !!m[2] || (!!braces && braces[1]!.split(',').every((n) => n.trim() === '' || /^type\s/.test(n.trim())));
    let to = spec;
    if (spec.startsWith('.')) {
      const base = relative(ROOT, resolve(ROOT, dirname(file), spec)).replace(/\.js$/, '');
      to = [`${base}.ts`, `${base}.tsx`, `${base}/index.ts`].find((c) => files.has(c)) ?? `${base}.ts`;
    }
    edges.push({ from: file, to, typeOnly });
  }
  return edges;
}

const FILES = sourceFiles(['shared', 'service', 'sync', 'cli']);
const EDGES = FILES.flatMap((f) => importsOf(f, new Set(FILES)));

/** The one module of service/ that builds the rest (STYLE.md "One composition root"), and the one that imports sync/. */
const COMPOSITION_ROOT = 'service/composition.ts';
/** The server half of federation (upstreams, bundle export and import): it reads upstreams and bundles through its port (ports.ts), which the composition root fills from sync/. */
const FEDERATION = 'service/federation/';
/** What sync/ may take from service/: the pure domain, the crypto module and the error base (issue 22, "Break the cycle"). */
const SYNC_MAY_IMPORT = (to: string) => /^service\/(domain|crypto)\//.test(to) || to === 'service/errors.ts';

const show = (edges: Edge[]) => edges.map((e) => `${e.from} -> ${e.to}`);

describe('the import graph', () => {
  it('is read: it holds the composition root wiring the upstream manager with the client library, and federation reading the shared bundle format', () => {
    // Guards the rules below against a parser that finds nothing.
    expect(FILES.length).toBeGreaterThan(100);
    expect(EDGES.some((e) => e.from === COMPOSITION_ROOT && e.to === 'service/federation/upstream/manager.ts')).toBe(true);
    expect(EDGES.some((e) => e.from === COMPOSITION_ROOT && e.to.startsWith('sync/client/'))).toBe(true);
    expect(EDGES.some((e) => e.from.startsWith(FEDERATION) && e.to === 'shared/bundle/format.ts')).toBe(true);
  });

  it('has shared/ import neither service/, sync/ nor cli/', () => {
    // shared/ is below both the client library and the service: the formats and code tables both read.
    const bad = EDGES.filter((e) => e.from.startsWith('shared/') && /^(service|sync|cli)\//.test(e.to));
    expect(show(bad)).toEqual([]);
  });

  it('has sync/ take from service/ only the domain, crypto and the error base', () => {
    // service/errors.ts is the shared KeyshareError base until each area has its own errors.ts (issue 22, item 3).
    const bad = EDGES.filter((e) => e.from.startsWith('sync/') && e.to.startsWith('service/') && !SYNC_MAY_IMPORT(e.to));
    expect(show(bad)).toEqual([]);
  });

  it('has service/ import sync/ only at the composition root (type-only imports too), and cli/ never', () => {
    const bad = EDGES.filter((e) => e.from.startsWith('service/') && (e.to.startsWith('cli/') || (e.to.startsWith('sync/') && e.from !== COMPOSITION_ROOT)));
    expect(show(bad)).toEqual([]);
  });

  it('has service/federation/ imported in service/ only by the composition root (the rest of the service reaches federation through the port service/federation.ts)', () => {
    const bad = EDGES.filter((e) => e.from.startsWith('service/') && !e.from.startsWith(FEDERATION) && e.from !== COMPOSITION_ROOT && e.to.startsWith(FEDERATION));
    expect(show(bad)).toEqual([]);
  });

  it('has the composition root imported in service/ by the server alone (and in cli/ by the bundle commands, which run federation without a server)', () => {
    const bad = EDGES.filter((e) => e.to === COMPOSITION_ROOT && e.from !== 'service/server.ts' && e.from !== 'cli/commands/bundle.ts');
    expect(show(bad)).toEqual([]);
  });

  it('keeps the pure core (service/domain, sync/formats) free of I/O', () => {
    const io = /^(node:(fs|fs\/promises|http|https|net|child_process)|fs|http|https|net|hono|@hono\/|drizzle-orm|pg|better-sqlite3)($|\/)/;
    const bad = EDGES.filter((e) => /^(service\/domain|sync\/formats)\//.test(e.from) && io.test(e.to));
    expect(show(bad)).toEqual([]);
  });

  it('has service/crypto as the only importer of x509, webcrypto and OpenPGP', () => {
    const bad = EDGES.filter((e) => !e.from.startsWith('service/crypto/') && /^(@peculiar\/(x509|webcrypto)|openpgp)($|\/)/.test(e.to));
    expect(show(bad)).toEqual([]);
  });

  it('has no import cycle between modules (imports that remain at run time)', () => {
    const graph = new Map<string, string[]>(FILES.map((f) => [f, []]));
    for (const e of EDGES) if (!e.typeOnly && graph.has(e.to)) graph.get(e.from)!.push(e.to);
    // Tarjan's strongly connected components: any component of two or more files is a cycle.
    const index = new Map<string, number>();
    const low = new Map<string, number>();
    const stack: string[] = [];
    const onStack = new Set<string>();
    const cycles: string[][] = [];
    let next = 0;
    const visit = (v: string) => {
      index.set(v, next);
      low.set(v, next++);
      stack.push(v);
      onStack.add(v);
      for (const w of graph.get(v)!) {
        if (!index.has(w)) {
          visit(w);
          low.set(v, Math.min(low.get(v)!, low.get(w)!));
        } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
      if (low.get(v) === index.get(v)) {
        const component: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          component.push(w);
        } while (w !== v);
        if (component.length > 1) cycles.push(component.sort());
      }
    };
    for (const v of graph.keys()) if (!index.has(v)) visit(v);
    expect(cycles).toEqual([]);
  });
});
