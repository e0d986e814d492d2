/** Row helpers shared by the dialects (service/store/rows.ts). */
import { describe, expect, it } from 'vitest';
import { byScopeAndId } from '../../../service/store/rows.js';
import type { AnchorRecord } from '../../../service/domain/types.js';

const anchor = (scope: string, id: string) => ({ scope, id }) as AnchorRecord;

describe('byScopeAndId', () => {
  it('orders as the concatenation of scope and id, which it does not build', () => {
    const words = ['', 'a', 'ab', 'abc', 'b', 'bz', 'a/b', 'a.b', '*.a', 'é', 'z', 'sha256:00', 'sha256:0'];
    const anchors = words.flatMap((scope) => words.map((id) => anchor(scope, id)));
    for (const a of anchors) {
      for (const b of anchors) expect([a, b, byScopeAndId(a, b)]).toEqual([a, b, a.scope + a.id < b.scope + b.id ? -1 : 1]);
    }
  });
});
