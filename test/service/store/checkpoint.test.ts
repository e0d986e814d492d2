/**
 * WAL checkpoints after a commit, not inside it (service/store/sqlite/checkpoint.ts; bench B9):
 * a commit leaves its pages in the WAL, and the checkpoint copies them into the database file
 * once the event loop is free and no transaction of the connection is open; commits that fit in
 * the WAL file share one, within a quiet time.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { DeferredCheckpoints } from '../../../service/store/sqlite/checkpoint.js';
import { SqliteStore } from '../../../service/store/index.js';
import { Mutex } from '../../../service/util/mutex.js';

const dirs: string[] = [];
const scratch = () => {
  const d = mkdtempSync(join(tmpdir(), 'keyshare-checkpoint-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const turn = () => new Promise((r) => setTimeout(r, 20));

function bigCommit(db: Database.Database): void {
  const insert = db.prepare('INSERT INTO t (b) VALUES (?)');
  db.transaction(() => {
    for (let i = 0; i < 3000; i++) insert.run(Buffer.alloc(1000, i % 256));
  })();
}

describe('deferred WAL checkpoints', () => {
  it('leaves a commit in the WAL and checkpoints it on the next turn of the event loop', async () => {
    const file = join(scratch(), 'db.sqlite');
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE t (b BLOB)');
    const checkpoints = new DeferredCheckpoints(db, new Mutex());
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
    const before = statSync(file).size;
    bigCommit(db); // 3 MB: over the 1,000-page automatic threshold, which is off
    checkpoints.committed();
    expect(statSync(file).size).toBe(before);
    expect(statSync(`${file}-wal`).size).toBeGreaterThan(3_000_000);
    await turn();
    expect(statSync(file).size).toBeGreaterThan(3_000_000);
    db.close();
  });

  it('waits for the transaction that holds the connection', async () => {
    const file = join(scratch(), 'db.sqlite');
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE t (b BLOB)');
    const lock = new Mutex();
    const checkpoints = new DeferredCheckpoints(db, lock);
    const before = statSync(file).size;
    bigCommit(db);
    let release!: () => void;
    const held = lock.run(() => new Promise<void>((r) => (release = r)));
    checkpoints.committed();
    await turn();
    expect(statSync(file).size).toBe(before);
    release();
    await held;
    await turn();
    expect(statSync(file).size).toBeGreaterThan(3_000_000);
    db.close();
  });

  it('checkpoints commits that fit in the WAL file together, within the quiet time (issue 25, B10)', async () => {
    const file = join(scratch(), 'db.sqlite');
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE t (b BLOB)');
    const checkpoints = new DeferredCheckpoints(db, new Mutex(), 200);
    bigCommit(db); // grows the WAL file: checkpointed on the next turn
    checkpoints.committed();
    await turn();
    const checkpointed = statSync(file).size;
    expect(checkpointed).toBeGreaterThan(3_000_000);
    const wal = statSync(`${file}-wal`).size;
    const insert = db.prepare('INSERT INTO t (b) VALUES (?)');
    for (let i = 0; i < 3; i++) {
      insert.run(Buffer.alloc(100_000, i)); // written from the WAL's start again: the file does not grow
      checkpoints.committed();
      await turn();
    }
    expect(statSync(`${file}-wal`).size).toBe(wal);
    expect(statSync(file).size).toBe(checkpointed);
    await new Promise((r) => setTimeout(r, 250));
    expect(statSync(file).size).toBeGreaterThan(checkpointed + 300_000);
    db.close();
  });

  it('is what a SQLite store on a file does after each write', async () => {
    const file = join(scratch(), 'keyshare.db');
    const store = SqliteStore.open(file);
    const now = new Date('2026-01-01T00:00:00Z');
    await store.transaction(async () => {
      for (let i = 0; i < 2000; i++) await store.createScope({ scope: `r${i}.example.com/${'x'.repeat(200)}`, inherit: true, level: null }, now);
    });
    const inWal = statSync(file).size;
    await turn();
    expect(statSync(file).size).toBeGreaterThan(inWal);
    await store.close();
  });
});
