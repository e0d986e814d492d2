/**
 * Issue 22's rules that are not import rules (docs/ARCHITECTURE.md): handlers take narrow
 * ports, the dirty-scope rule is written once in the domain, and one module extracts tars.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, sourceFiles } from '../support/source-files.js';

const text = (file: string) => readFileSync(join(ROOT, file), 'utf8');

/** `instance.store`, `c.get('instance').store`, or `{ store } = c.get('instance')` (or `c.var.instance`): the whole store reached from a handler. */
const WHOLE_STORE = /\binstance\??\.store\b|get\('instance'\)\.store\b|\{[^}=]*\bstore\b[^}=]*\}\s*=\s*(?:c\.get\('instance'\)|c\.var\.instance\b|(?:deps\.)?instance\b)/;

describe('narrow ports', () => {
  const http = sourceFiles(['service/http']);
  // app.ts builds the app (its error handler names the store's dialect); every other module serves requests.
  const handlers = http.filter((f) => f !== 'service/http/app.ts');

  it('is checked over the handlers, with a pattern that finds each way of reaching the whole store', () => {
    expect(handlers.length).toBeGreaterThan(20);
    expect(handlers).toContain('service/http/ui/console.tsx');
    const reaches = ["c.get('instance').store.listScopes()", 'instance.store.getMeta(k)', 'instance?.store', "const { store } = c.get('instance');", 'const { store, audit } = instance;', 'const { service, store } = deps.instance;', 'const { store } = c.var.instance;'];
    for (const line of reaches) expect(WHOLE_STORE.test(line), line).toBe(true);
    const narrow = ["c.get('instance').records.trust", 'instance.storeCheck', 'const { records, audit } = instance;', "res.headers.set('Cache-Control', 'no-store')"];
    for (const line of narrow) expect(WHOLE_STORE.test(line), line).toBe(false);
  });

  it('has handlers take the records they need (instance.records), never instance.store', () => {
    const bad = handlers.filter((f) => WHOLE_STORE.test(text(f)));
    expect(bad).toEqual([]);
  });
});

describe('the dirty-scope rule', () => {
  it('is the domain\'s (service/domain/dirty.ts): the dialects report changes, and mark no key themselves', () => {
    const dialects = sourceFiles(['service/store/sqlite', 'service/store/pg']);
    expect(dialects.filter((f) => /markChanged\(/.test(text(f))).length).toBeGreaterThan(3);
    const bad = dialects.filter((f) => /\bALL_SCOPES\b|\bCRL_DIRTY_PREFIX\b/.test(text(f)) || (!f.endsWith('/core.ts') && /markDirty\(/.test(text(f))));
    expect(bad).toEqual([]);
  });
});

describe('tar extraction', () => {
  it('happens in one module, shared/safe-tar.ts: no other source parses a tar to write its files', () => {
    const files = sourceFiles(['service', 'sync', 'cli', 'shared']);
    const parsers = files.filter((f) => /\bnew Parser\(|import\s*\{[^}]*\b(Parser|extract|x)\b[^}]*\}\s*from\s*'tar'/.test(text(f)));
    expect(parsers).toEqual(['shared/safe-tar.ts']);
  });
});
