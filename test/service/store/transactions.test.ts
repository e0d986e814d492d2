/**
 * The transaction rules of the store port (service/store/port.ts), which every dialect keeps.
 * Add a dialect to storeDialects (test/support/store.ts) to hold it to the same rules.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStore, type AuditHead, type AuditRecord, type Store } from '../../../service/store/index.js';
import { storeDialects } from '../../support/store.js';

const { dialects: DIALECTS, stop } = storeDialects();
afterAll(stop);

const NOW = new Date('2026-01-01T00:00:00Z');
const scope = (name: string) => ({ scope: name, inherit: true, level: null });
const tick = () => new Promise((r) => setTimeout(r, 5));
const entry = (head: AuditHead | null): AuditRecord => {
  const seq = (head?.seq ?? 0) + 1;
  return { seq, at: NOW.toISOString(), tokenId: null, action: 'test', scope: null, target: null, outcome: 'ok', before: null, after: null, details: null, prevHash: head?.hash ?? '', hash: `h${seq}` };
};

for (const [dialect, open] of DIALECTS) {
  describe(`${dialect}: transactions`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });
    const names = async () => (await store.listScopes()).map((s) => s.scope);

    it('swaps a meta value only from the value expected, one of concurrent swaps winning (issue 23: a witness state)', async () => {
      expect(await store.swapMeta('k', 'x', 'a')).toBe(false);
      expect(await store.getMeta('k')).toBeNull();
      expect(await store.swapMeta('k', null, 'a')).toBe(true);
      expect(await store.swapMeta('k', null, 'b')).toBe(false);
      const won = await Promise.all(Array.from({ length: 8 }, (_, i) => store.swapMeta('k', 'a', `v${i}`)));
      expect(won.filter(Boolean)).toHaveLength(1);
      expect(await store.getMeta('k')).toBe(`v${won.indexOf(true)}`);
    });

    it('lands all of it, or on any failure none of it', async () => {
      await store.transaction(async () => {
        await store.createScope(scope('a.io'), NOW);
        await store.setMeta('k', 'v');
      });
      await expect(
        store.transaction(async () => {
          await store.createScope(scope('b.io'), NOW);
          await tick();
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(await names()).toEqual(['a.io']);
      expect(await store.getMeta('k')).toBe('v');
    });

    it('never shows its uncommitted writes to a call made outside it (SQLite: which waits for it)', async () => {
      expect(await names()).toEqual([]);
      let inside!: () => void;
      const held = new Promise<void>((r) => (inside = r));
      let release!: () => void;
      const tx = store.transaction(async () => {
        await store.createScope(scope('a.io'), NOW);
        inside();
        await new Promise<void>((r) => (release = r));
      });
      await held;
      // port.ts: both branches are certain, whatever the timing (issue 24 test audit).
      if (store.dialect === 'postgres') {
        // Answered from another connection while the transaction is open: without its uncommitted scope.
        expect(await names()).toEqual([]);
        release();
        await tx;
      } else {
        // One connection: the call is queued behind the transaction, and cannot answer while it is open.
        let settled = false;
        const outside = names().then((n) => {
          settled = true;
          return n;
        });
        for (let i = 0; i < 5; i++) await tick();
        expect(settled).toBe(false);
        release();
        await tx;
        expect(await outside).toEqual(['a.io']);
      }
      expect(await names()).toEqual(['a.io']);
    });

    it('rolls a nested transaction back to its savepoint, and the outer one goes on', async () => {
      await store.transaction(async () => {
        await store.createScope(scope('a.io'), NOW);
        await expect(
          store.transaction(async () => {
            await store.createScope(scope('b.io'), NOW);
            throw new Error('inner');
          }),
        ).rejects.toThrow('inner');
        await store.createScope(scope('c.io'), NOW);
      });
      expect(await names()).toEqual(['a.io', 'c.io']);
    });

    it('runs nested transactions started together one after another', async () => {
      await store.transaction(async () => {
        const results = await Promise.allSettled(
          ['a.io', 'b.io', 'c.io'].map((s) =>
            store.transaction(async () => {
              await store.createScope(scope(s), NOW);
              await tick();
              if (s === 'b.io') throw new Error('no b');
            }),
          ),
        );
        expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      });
      expect(await names()).toEqual(['a.io', 'c.io']);
    });

    it('shows the outermost transaction to the observer, inside it, and rolls back what it wrote', async () => {
      const seen: string[][] = [];
      store.observeTransactions({
        begin: async () => {
          seen.push(await names());
          return 'pending';
        },
        commit: async () => {
          seen.push(await names());
          await store.appendAudit(entry);
        },
      });
      await store.createScope(scope('a.io'), NOW);
      expect(seen).toEqual([[], ['a.io']]);
      expect((await store.auditHead())?.seq).toBe(1);
      await expect(store.transaction(async () => store.createScope(scope('a.io'), NOW))).rejects.toMatchObject({ code: 'SCOPE_EXISTS' });
      await expect(
        store.transaction(async () => {
          await store.createScope(scope('b.io'), NOW);
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect((await store.auditHead())?.seq).toBe(1);
      expect(await store.listAudit({ limit: 10 })).toHaveLength(1);
    });

    it('appends audit entries in the caller transaction, or in one of its own', async () => {
      await store.appendAudit(entry);
      await expect(
        store.transaction(async () => {
          await store.appendAudit(entry);
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect((await store.auditHead())?.seq).toBe(1);
    });
  });
}
