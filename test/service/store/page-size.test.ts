/**
 * The page size of the database file (service/store/sqlite.ts PAGE_SIZE; bench B9, issue 17
 * twelfth round): a new file gets 16 KiB pages; a file created before keeps its 4 KiB pages and
 * opens, migrates and publishes as before.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../../service/store/index.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const file = () => {
  const d = mkdtempSync(join(tmpdir(), 'keyshare-page-size-'));
  dirs.push(d);
  return join(d, 'keyshare.db');
};
const pageSize = (store: SqliteStore) => store.rawForTests().pragma('page_size', { simple: true });

describe('the database page size', () => {
  it('is 16 KiB in a new file', async () => {
    const store = SqliteStore.open(file());
    expect(pageSize(store)).toBe(16384);
    await store.close();
  });

  it('stays 4 KiB in a file created with them, which opens and writes as before', async () => {
    const f = file();
    const old = new Database(f);
    old.pragma('page_size = 4096');
    old.pragma('journal_mode = WAL');
    old.close();
    const store = SqliteStore.open(f);
    expect(pageSize(store)).toBe(4096);
    await store.createScope({ scope: 'a.example', inherit: true, level: null, source: null }, new Date());
    expect((await store.getScope('a.example'))?.scope).toBe('a.example');
    await store.close();
    const again = SqliteStore.open(f);
    expect(pageSize(again)).toBe(4096);
    expect(again.quickCheck()).toBe('ok');
    await again.close();
  });
});
