/**
 * addMany (bench B4: an apply's new scopes and anchors in batches) keeps the rules of
 * createScope and addAnchor, in each dialect: the same errors, nothing half-written, the same
 * dirty marks, each with its own change seq.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readFixtureText } from '../../../fixtures/index.js';
import { buildAnchor } from '../../../service/domain/anchor.js';
import type { Store } from '../../../service/store/index.js';
import { storeDialects } from '../../support/store.js';

const { dialects: DIALECTS, stop } = storeDialects();
afterAll(stop);

const NOW = new Date('2026-01-01T00:00:00Z');
const scope = (name: string) => ({ scope: name, inherit: true, level: null, source: null });
const key = readFixtureText('keys/ed25519.pub.pem');
const anchorAt = (name: string) => buildAnchor({ scope: name, publicKey: key, name: 'ci' }, NOW);

for (const [dialect, open] of DIALECTS) {
  describe(`${dialect}: addMany`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => store.close());

    it('creates more scopes and anchors than one batch holds, marking each scope dirty with a seq of its own', async () => {
      const names = Array.from({ length: 1201 }, (_, i) => `r${i}.acme.io`);
      await store.createScope(scope('old.acme.io'), NOW);
      const seq0 = await store.changeSeq();
      const anchors = await Promise.all([...names, 'old.acme.io'].map(anchorAt));
      await store.addMany({ scopes: names.map(scope), anchors }, NOW);
      expect(await store.count('scopes')).toBe(1202);
      expect((await store.listAnchors(['r1200.acme.io', 'old.acme.io'])).map((a) => [a.scope, a.name, a.material])).toEqual([
        ['old.acme.io', 'ci', anchors[0]!.material],
        ['r1200.acme.io', 'ci', anchors[0]!.material],
      ]);
      expect((await store.getScope('r7.acme.io'))?.inherit).toBe(true);
      const dirty = await store.listDirty();
      const seqs = dirty.filter((d) => d.seq > seq0);
      expect(new Set(seqs.map((d) => d.scope))).toEqual(new Set([...names, 'old.acme.io']));
      expect(new Set(seqs.map((d) => d.seq)).size).toBe(seqs.length);
      expect(await store.changeSeq()).toBe(Math.max(...seqs.map((d) => d.seq)));
    });

    it('refuses a scope that exists, an anchor listed twice, and an anchor at an undefined scope, writing nothing', async () => {
      await store.createScope(scope('taken.acme.io'), NOW);
      const before = await store.changeSeq();
      const fresh = Array.from({ length: 600 }, (_, i) => `n${i}.acme.io`);
      const a = await anchorAt('n1.acme.io');
      await expect(store.addMany({ scopes: [...fresh, 'taken.acme.io'].map(scope), anchors: [] }, NOW)).rejects.toMatchObject({ code: 'SCOPE_EXISTS', message: expect.stringContaining('taken.acme.io') });
      await expect(store.addMany({ scopes: fresh.map(scope), anchors: [a, a] }, NOW)).rejects.toMatchObject({ code: 'ANCHOR_EXISTS', message: expect.stringContaining('n1.acme.io') });
      await expect(store.addMany({ scopes: fresh.map(scope), anchors: [await anchorAt('nowhere.acme.io')] }, NOW)).rejects.toMatchObject({ code: 'SCOPE_NOT_FOUND' });
      expect(await store.count('scopes')).toBe(1);
      expect(await store.count('anchors')).toBe(0);
      expect(await store.changeSeq()).toBe(before);
    });

    it('rolls back with the transaction it is made in', async () => {
      await expect(
        store.transaction(async () => {
          await store.addMany({ scopes: [scope('a.acme.io')], anchors: [await anchorAt('a.acme.io')] }, NOW);
          throw new Error('later entry bad');
        }),
      ).rejects.toThrow('later entry bad');
      expect(await store.count('scopes')).toBe(0);
      expect(await store.listDirty()).toEqual([]);
    });
  });
}
