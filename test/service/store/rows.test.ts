/** Row helpers shared by the dialects (service/store/rows.ts). */
import { describe, expect, it } from 'vitest';
import { byScopeAndId, isTrustPathOf, publishRows } from '../../../service/store/rows.js';
import type { AnchorRecord } from '../../../service/domain/types.js';
import type { PublishCommit, TargetRecord, TrustDocRecord } from '../../../service/store/types.js';
import { DEFAULT_SCOPE, trustTargetPath } from '../../../shared/scope.js';

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

describe('publishRows', () => {
  /** What publishRows returns, by a map of paths (its ninth round's form). */
  const byMap = (c: PublishCommit) => {
    const byPath = new Map(c.targets.map((tg) => [tg.path, tg]));
    const history = c.docs.map((d) => {
      const target = d.deleted ? undefined : byPath.get(trustTargetPath(d.scope));
      if (target) byPath.delete(target.path);
      return { version: 7, scope: d.scope, sha256: target?.sha256 ?? null, document: target?.bytes ?? null, publishedAt: c.publishedAt };
    });
    return { targets: [...byPath.values()], history };
  };
  const target = (path: string): TargetRecord => ({ path, sha256: `sha-${path}`, bytes: Buffer.from(path) });
  const doc = (scope: string, deleted = false): TrustDocRecord => ({ scope, version: 1, issuedAt: 'now', digest: 'd', deleted });
  const commit = (docs: TrustDocRecord[], targets: TargetRecord[]): PublishCommit => ({
    upToSeq: 0,
    docs,
    targets,
    metadata: [{ role: 'timestamp', version: 7, bytes: Buffer.from('{}'), expires: 'later' }],
    publishedAt: 'now',
    baseTimestampVersion: 6,
  });

  it('pairs each document with its target file, in order or not, and leaves the other files', () => {
    const scopes = [DEFAULT_SCOPE, 'a.example', 'a.example/x', '*.b.example', 'registry.io/team', '_x'];
    const others = [target('index.json'), target('index/0a.json'), target('crl/abc.crl'), target('trusted_root.json')];
    let seed = 1;
    const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    for (let round = 0; round < 200; round++) {
      const docs = scopes.filter(() => random() < 0.8).map((s) => doc(s, random() < 0.2));
      const docTargets = docs.filter((d) => !d.deleted || random() < 0.3).map((d) => target(trustTargetPath(d.scope)));
      // Mostly in the documents' order, as the publisher lists them; sometimes shuffled, with other files among them.
      const targets = [...docTargets, ...others.filter(() => random() < 0.5)];
      if (round % 3 === 0) targets.sort(() => random() - 0.5);
      const c = commit(docs, targets);
      const rows = publishRows(c);
      const expected = byMap(c);
      expect(rows.history).toEqual(expected.history);
      expect(rows.targets).toEqual(expected.targets);
    }
  });

  it('writes no history without a timestamp', () => {
    const c = { ...commit([doc('a.example')], [target('trust/a.example.json')]), metadata: [] };
    expect(publishRows(c)).toEqual({ targets: c.targets, history: [] });
  });

  it('isTrustPathOf is trustTargetPath without building it', () => {
    for (const scope of [DEFAULT_SCOPE, 'a', 'a.example', '_default', 'x/y'])
      for (const path of ['trust/_default.json', 'trust/a.json', 'trust/a.example.json', 'trust/x/y.json', 'trust/a.jsonx', 'index/a.json', 'trust/a.example.json.json'])
        expect([scope, path, isTrustPathOf(path, scope)]).toEqual([scope, path, path === trustTargetPath(scope)]);
  });
});
