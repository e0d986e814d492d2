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
 */
import { statSync } from 'node:fs';
import type Database from 'better-sqlite3';
import type { Mutex } from '../../util/mutex.js';

/** How long a commit that did not grow the WAL file waits for its checkpoint. */
export const SHARED_CHECKPOINT_MS = 1000;

export class DeferredCheckpoints {
  private timer: NodeJS.Timeout | null = null;
  /** Whether the pending checkpoint runs on the next turn. */
  private soon = false;
  private readonly walFile: string;
  /** The WAL file's length at the last commit. */
  private walBytes: number;

  /** `lock`: the connection's outermost frame (core.ts), held while a transaction is open. */
  constructor(
    private readonly sqlite: Database.Database,
    private readonly lock: Mutex,
    private readonly quietMs = SHARED_CHECKPOINT_MS,
  ) {
    sqlite.pragma('wal_autocheckpoint = 0');
    this.walFile = `${sqlite.name}-wal`;
    this.walBytes = this.walLength();
  }

  /** After an outermost COMMIT: a checkpoint on the next turn when the WAL file grew, else within `quietMs`, shared with the commits until then. */
  committed(): void {
    const length = this.walLength();
    const grew = length > this.walBytes;
    this.walBytes = length;
    if (this.timer && (this.soon || !grew)) return;
    if (this.timer) clearTimeout(this.timer);
    this.soon = grew;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        // A checkpoint that fails (a full disk) loses nothing: the WAL keeps the commits, and the next commit tries again.
        this.lock.run(() => this.run()).catch(() => {});
      },
      grew ? 0 : this.quietMs,
    );
    this.timer.unref();
  }

  private walLength(): number {
    return statSync(this.walFile, { throwIfNoEntry: false })?.size ?? 0;
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
