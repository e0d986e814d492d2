import { describe, expect, it } from 'vitest';
import { IndexSerializer, INDEX_MEDIA_TYPE } from '../../../service/repo/index-doc.js';
import { serializeJson } from '../../../service/domain/trust.js';
import { trustTargetPath } from '../../../service/domain/scope.js';

/** The definition: serializeJson of the whole index document, sorted by scope. */
function reference(index: Map<string, number>): Buffer {
  const scopes = [...index.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([scope, version]) => ({ scope, path: trustTargetPath(scope), version }));
  return Buffer.from(serializeJson({ mediaType: INDEX_MEDIA_TYPE, scopes }));
}

describe('IndexSerializer', () => {
  it('writes the bytes serializeJson writes, for an empty index', () => {
    expect(new IndexSerializer().bytes(new Map()).toString()).toBe(reference(new Map()).toString());
  });

  it('writes the same bytes as serializeJson through additions, new versions and removals', () => {
    const s = new IndexSerializer();
    const index = new Map<string, number>();
    let seed = 7;
    const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    const names = ['*', '*.acme.io', 'acme.io', 'acme.io/team', 'acme.io/team-a', 'localhost:5000', '10.0.0.1:5000/x', 'b.example', 'a.example/x/y'];
    for (let i = 0; i < 300; i++) names.push(`r${i}.bench.example`);
    for (let step = 0; step < 200; step++) {
      // Few changes (a single publish) or many (an apply), as publishes make them.
      const changes = rand(4) === 0 ? 100 : 1 + rand(3);
      for (let c = 0; c < changes; c++) {
        const name = names[rand(names.length)]!;
        if (index.has(name) && rand(3) === 0) index.delete(name);
        else index.set(name, (index.get(name) ?? 0) + 1);
      }
      expect(s.bytes(index).equals(reference(index))).toBe(true);
    }
  });
});
