/**
 * WAL checkpoints after a commit, not inside it (service/store/sqlite/checkpoint.ts; bench B9):
 * a commit leaves its pages in the WAL, and the checkpoint copies them into the database file
 * once the event loop is free, on a thread of its own (checkpoint-thread.ts; on this thread once no
 * transaction of the connection is open, should the thread fail); commits that fit in the WAL
 * file share one, within a quiet time.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { DeferredCheckpoints } from '../../../service/store/sqlite/checkpoint.js';
import { CheckpointThread } from '../../../service/store/sqlite/checkpoint-thread.js';
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

/** A database file in WAL mode with one table of blobs. */
function walDatabase(): { file: string; db: Database.Database } {
  const file = join(scratch(), 'db.sqlite');
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE t (b BLOB)');
  return { file, db };
}

describe('deferred WAL checkpoints', () => {
  it('leaves a commit in the WAL and checkpoints it after the commit, on its own thread', async () => {
    const { file, db } = walDatabase();
    const checkpoints = new DeferredCheckpoints(db, new Mutex());
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
    const before = statSync(file).size;
    bigCommit(db); // 3 MB: over the 1,000-page automatic threshold, which is off
    checkpoints.committed();
    expect(statSync(file).size).toBe(before);
    expect(statSync(`${file}-wal`).size).toBeGreaterThan(3_000_000);
    await checkpoints.settled();
    expect(statSync(file).size).toBeGreaterThan(3_000_000);
    // Everything in the WAL is in the database file: a checkpoint here finds nothing left to copy.
    const [left] = db.pragma('wal_checkpoint(PASSIVE)') as { log: number; checkpointed: number }[];
    expect(left!.checkpointed).toBe(left!.log);
    await checkpoints.close();
    db.close();
  });

  it('on its thread, does not wait for a transaction of the connection, nor block it', async () => {
    const { file, db } = walDatabase();
    const lock = new Mutex();
    const checkpoints = new DeferredCheckpoints(db, lock);
    bigCommit(db);
    let release!: () => void;
    const held = lock.run(() => new Promise<void>((r) => (release = r)));
    db.exec('BEGIN IMMEDIATE');
    checkpoints.committed();
    await checkpoints.settled();
    expect(statSync(file).size).toBeGreaterThan(3_000_000);
    db.prepare('INSERT INTO t (b) VALUES (?)').run(Buffer.alloc(10));
    db.exec('COMMIT');
    release();
    await held;
    expect(db.prepare('SELECT COUNT(*) FROM t').pluck().get()).toBe(3001);
    await checkpoints.close();
    db.close();
  });

  it('on this thread (should the thread fail), waits for the transaction that holds the connection', async () => {
    const { file, db } = walDatabase();
    const lock = new Mutex();
    const checkpoints = new DeferredCheckpoints(db, lock, undefined, 'inline');
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
    const { file, db } = walDatabase();
    const checkpoints = new DeferredCheckpoints(db, new Mutex(), 200, 'inline');
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

  it('a thread that cannot open the database fails its checkpoints and ends; close still returns', async () => {
    const thread = new CheckpointThread(join(scratch(), 'missing.sqlite'));
    await expect(thread.checkpoint()).rejects.toThrow();
    expect(thread.alive).toBe(false);
    await thread.close();
  });

  it('a thread closed ends after the checkpoints asked for, and takes no more', async () => {
    const { file, db } = walDatabase();
    db.pragma('wal_autocheckpoint = 0');
    bigCommit(db);
    const thread = new CheckpointThread(file);
    const done = thread.checkpoint();
    await thread.close();
    const r = await done;
    expect(r.checkpointed).toBe(r.log);
    expect(r.log).toBeGreaterThan(700);
    expect(thread.alive).toBe(false);
    await expect(thread.checkpoint()).rejects.toThrow();
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
    await (store as unknown as { core: { checkpoints: DeferredCheckpoints } }).core.checkpoints.settled();
    expect(statSync(file).size).toBeGreaterThan(inWal);
    await store.close();
    // The checkpoint thread's connection closed first: the store's, the last, removed the WAL.
    expect(existsSync(`${file}-wal`)).toBe(false);
  });

  it('lets a program that closes its store at the end finish (the thread, unreferenced while idle, is waited for)', () => {
    const file = join(scratch(), 'keyshare.db');
    // The built store, in plain node (tsx's loader thread would keep the program alive on its own): `npm run build` first.
    const store = new URL('../../../dist/service/store/index.js', import.meta.url).href;
    const program = `
      const { SqliteStore } = await import(${JSON.stringify(store)});
      const store = SqliteStore.open(${JSON.stringify(file)});
      await store.transaction(async () => {
        for (let i = 0; i < 2000; i++) await store.createScope({ scope: 'r' + i + '.example.com/' + 'x'.repeat(200), inherit: true, level: null }, new Date());
      });
      await store.core.checkpoints.settled();
      console.log(store.core.checkpoints.where);
      await store.close();
      console.log('closed');`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', program], { cwd: import.meta.dirname, encoding: 'utf8', timeout: 60_000 });
    expect(out).toBe('thread\nclosed\n');
    expect(existsSync(`${file}-wal`)).toBe(false);
  });
});
