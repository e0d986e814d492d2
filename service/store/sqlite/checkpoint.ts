/**
 * WAL checkpoints after a commit, not inside it (bench B9, issue 17): SQLite's automatic
 * checkpoint runs inside the COMMIT that crosses its threshold, so a publish that writes 20 MB of
 * pages (a parent change re-publishing 10k documents) copied them all into the database file
 * before its version could be served. The connection's automatic checkpoint is off; the same
 * PASSIVE checkpoint runs once the event loop is free after a commit, outside any transaction of
 * this connection. Durability does not change: a commit is in the WAL when COMMIT returns, as
 * before (synchronous = NORMAL), and the WAL stays bounded by the writes between two turns of the
 * event loop. Other connections (another process on the file) keep their own automatic checkpoint.
 */
import type Database from 'better-sqlite3';
import type { Mutex } from '../../util/mutex.js';

export class DeferredCheckpoints {
  private timer: NodeJS.Timeout | null = null;

  /** `lock`: the connection's outermost frame (core.ts), held while a transaction is open. */
  constructor(
    private readonly sqlite: Database.Database,
    private readonly lock: Mutex,
  ) {
    sqlite.pragma('wal_autocheckpoint = 0');
  }

  /** After an outermost COMMIT: one checkpoint for all the commits of this turn of the event loop. */
  committed(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      // A checkpoint that fails (a full disk) loses nothing: the WAL keeps the commits, and the next commit tries again.
      this.lock.run(() => this.run()).catch(() => {});
    }, 0);
    this.timer.unref();
  }

  /** Drops the pending checkpoint (on close, which checkpoints the WAL itself). */
  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private run(): void {
    if (this.sqlite.open && !this.sqlite.inTransaction) this.sqlite.pragma('wal_checkpoint(PASSIVE)');
  }
}
