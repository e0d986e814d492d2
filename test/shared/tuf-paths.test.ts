/**
 * shared/tuf-paths.ts against @tufjs/models' own matching (DelegatedRole.isDelegatedPath, minimatch
 * per component): wherever it decides, it decides the same.
 */
import { DelegatedRole } from '@tufjs/models/dist/role.js';
import { describe, expect, it } from 'vitest';
import { inLiteralPathPattern } from '../../shared/tuf-paths.js';

const patterns = ['index/*', 'trust/*', '*', 'trust/acme.io/*/*.json', 'trust/acme.io.json', 'a/b', 'a/*/c', 'index/*.json', '#index/*', 'index/[ab]', 'trust/*/x'];
const paths = ['index/0a.json', 'index/.hidden', 'index/', 'index', 'index/a/b', 'trust/x.json', 'trust/acme.io.json', 'trust/acme.io/t/x.json', 'a/b', 'a/x/c', 'a//c', 'x', '.x', '', '#index/a', 'index/a'];

describe('inLiteralPathPattern', () => {
  it('answers as @tufjs/models for literal and `*` components, and leaves every other glob undecided', () => {
    let decided = 0;
    for (const pattern of patterns) {
      const role = new DelegatedRole({ name: 'r', keyIDs: [], threshold: 1, terminating: false, paths: [pattern] });
      for (const path of paths) {
        const m = inLiteralPathPattern(path.split('/'), pattern);
        if (m === undefined) {
          expect(/[?[\]{}()!+@\\#]|[^/]\*|\*[^/]/.test(pattern), `${pattern} undecided`).toBe(true);
          continue;
        }
        decided++;
        expect(m, `${pattern} ~ ${JSON.stringify(path)}`).toBe(role.isDelegatedPath(path));
      }
    }
    expect(decided).toBeGreaterThan(80);
  });
});
