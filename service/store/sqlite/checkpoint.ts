/**
 * WAL checkpoints after a commit, not inside it (bench B9, issue 17): SQLite's automatic
 * checkpoint runs inside the COMMIT that crosses its threshold, so a publish that writes 20 MB of
 * pages (a parent change re-publishing 10k documents) copied them all into the database file
 * before its version could be served. The connection's automatic checkpoint is off; the same
 * PASSIVE checkpoint runs once the event loop is free after a commit, outside any transaction of
 * this connection. Durability does not change: a commit is in the WAL when COMMIT returns, as
 * before (synchronous = NORMAL); how far the WAL grows between checkpoints is said below. Other
 * connections (another process on the file) keep their own automatic checkpoint.
 *
 * Small commits share a checkpoint (issue 25, B10: one a write was about a tenth of a one-scope
 * write's CPU, with two fsyncs): a commit that grew the WAL file (a big one, or commits piling up
 * past what the file held) is checkpointed on the next turn, as above; one written within the
 * file's length (after a checkpoint SQLite writes the WAL from its start again) waits up to
 * `quietMs` for the others. The WAL stays bounded by the larger of its file's length and the
 * writes of `quietMs`.
 *
 * Where it runs (issue 17, eleventh round): on a thread of its own with its own connection
 * (./checkpoint-thread.ts), so that it no longer blocks the event loop after a big publish; a
 * PASSIVE checkpoint needs no lock of this connection. Should the thread fail, on this thread,
 * once no transaction of the connection is open (`lock`), as before.
 */
import { statSync } from 'node:fs';
import type Database from 'better-sqlite3';
import type { Mutex } from '../../util/mutex.js';
import { CheckpointThread } from './checkpoint-thread.js';

/** How long a commit that did not grow the WAL file waits for its checkpoint. */
export const SHARED_CHECKPOINT_MS = 1000;

export class DeferredCheckpoints {
  private timer: NodeJS.Timeout | null = null;
  /** Whether the pending checkpoint runs on the next turn. */
  private soon = false;
  private readonly walFile: string;
  /** The WAL file's length at the last commit. */
  private walBytes: number;
  /** The checkpoint thread, started at the first checkpoint (null before, or when checkpoints run here). */
  private thread: CheckpointThread | null = null;
  /** The last checkpoint started, until it is done (the thread, or the lock, runs them in order). */
  private running: Promise<void> | null = null;
  private closed = false;

  /**
   * `lock`: the connection's outermost frame (core.ts), held while a transaction is open.
   * `where`: 'thread' (./checkpoint-thread.ts), or 'inline' on this thread.
   */
  constructor(
    private readonly sqlite: Database.Database,
    private readonly lock: Mutex,
    private readonly quietMs = SHARED_CHECKPOINT_MS,
    private where: 'thread' | 'inline' = 'thread',
  ) {
    sqlite.pragma('wal_autocheckpoint = 0');
    this.walFile = `${sqlite.name}-wal`;
    this.walBytes = this.walLength();
  }

  /** After an outermost COMMIT: a checkpoint on the next turn when the WAL file grew, else within `quietMs`, shared with the commits until then. */
  committed(): void {
    if (this.closed) return;
    const length = this.walLength();
    const grew = length > this.walBytes;
    this.walBytes = length;
    if (this.timer && (this.soon || !grew)) return;
    if (this.timer) clearTimeout(this.timer);
    this.soon = grew;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        const run: Promise<void> = this.run().finally(() => {
          if (this.running === run) this.running = null;
        });
        this.running = run;
      },
      grew ? 0 : this.quietMs,
    );
    this.timer.unref();
  }

  private walLength(): number {
    return statSync(this.walFile, { throwIfNoEntry: false })?.size ?? 0;
  }

  /** Once the checkpoint asked for and the one under way are done (tests). */
  async settled(): Promise<void> {
    while (this.timer || this.running) {
      if (this.timer) await new Promise((r) => setTimeout(r, 5));
      else await this.running;
    }
  }

  /**
   * Drops the pending checkpoint, waits for the one under way and ends the thread: before the
   * connection closes, which checkpoints the WAL itself.
   */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
    await this.thread?.close();
    this.thread = null;
  }

  /** A checkpoint that fails (a full disk) loses nothing: the WAL keeps the commits, and the next commit tries again. */
  private async run(): Promise<void> {
    if (this.where === 'thread') {
      try {
        if (!this.thread?.alive) this.thread = new CheckpointThread(this.sqlite.name);
        await this.thread.checkpoint();
        return;
      } catch {
        if (this.thread?.alive) return;
        // A thread that cannot start, or ended: this one checkpoints from now on.
        this.where = 'inline';
        await this.thread?.close();
        this.thread = null;
      }
    }
    await this.lock
      .run(() => {
        if (this.sqlite.open && !this.sqlite.inTransaction) this.sqlite.pragma('wal_checkpoint(PASSIVE)');
      })
      .catch(() => {});
  }
}
