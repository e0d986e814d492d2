/**
 * Issue 22 "typed error codes": every error code comes from a code table (an exported
 * `...Codes` object, e.g. service/errors.ts `Codes`), never from a string literal at the place
 * that throws, answers or compares it. A misspelt literal would silently be another code (and,
 * over HTTP, a 400); a constant fails to compile.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ROOT, sourceFiles } from '../support/source-files.js';

const TOPS = ['service', 'sync', 'shared', 'cli'];

/** A table entry `NAME: 'NAME',` (the one place a code is spelt out). */
const TABLE_ENTRY = /^\s*([A-Z][A-Z0-9_]*): '([A-Z][A-Z0-9_]*)',?\s*(\/\/.*)?$/;
const CODE_TABLE = /^export const (\w*Codes) = \{/m;

/** Every code of every table, by importing the modules that define one. */
async function allCodes(files: string[]): Promise<Set<string>> {
  const codes = new Set<string>();
  for (const file of files) {
    if (!CODE_TABLE.test(readFileSync(join(ROOT, file), 'utf8'))) continue;
    const mod = (await import(pathToFileURL(join(ROOT, file)).href)) as Record<string, unknown>;
    for (const [name, table] of Object.entries(mod)) {
      if (!name.endsWith('Codes') || typeof table !== 'object' || table === null) continue;
      for (const v of Object.values(table)) if (typeof v === 'string') codes.add(v);
    }
  }
  return codes;
}

/** The code literals of a file: quoted strings that are a known code, or the first argument of `new KeyshareError(`. */
function literalCodes(file: string, codes: ReadonlySet<string>): string[] {
  const found: string[] = [];
  readFileSync(join(ROOT, file), 'utf8')
    .split('\n')
    .forEach((line, i) => {
      const m = TABLE_ENTRY.exec(line);
      if (m && m[1] === m[2]) return;
      // Comments, and SQL statements (`exec('ROLLBACK')`), are not codes.
      const code = line
        .replace(/\/\/.*$/, '')
        .replace(/^\s*\*.*$/, '')
        .replace(/\b(exec|query)\((['"])[^'"]*\2/g, '');
      for (const q of code.matchAll(/(['"])([A-Z][A-Z0-9_]*)\1/g)) {
        if (codes.has(q[2]!)) found.push(`${file}:${i + 1}: ${q[0]}`);
      }
      for (const q of code.matchAll(/KeyshareError\(\s*(['"`])/g)) found.push(`${file}:${i + 1}: KeyshareError(${q[1]}...`);
    });
  return found;
}

describe('error codes', () => {
  it('are never string literals outside their code tables', async () => {
    const files = sourceFiles(TOPS);
    const codes = await allCodes(files);
    expect(codes.size).toBeGreaterThan(100);
    const literals = files.flatMap((f) => literalCodes(f, codes));
    expect(literals).toEqual([]);
  });
});
