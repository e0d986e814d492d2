/**
 * The WAL checkpoint on a second thread (bench B9, issue 17, eleventh round): a worker thread
 * with a connection of its own to the database file runs `PRAGMA wal_checkpoint(PASSIVE)` when
 * asked. A checkpoint after a parent change copies about 15 MB of pages into the database file;
 * on the connection's own thread that blocked the event loop (and the next admin write and
 * every read) for 60 ms and more after each big publish.
 *
 * A PASSIVE checkpoint takes no write lock and waits for nobody (SQLite, "Checkpointing"): it
 * copies what is committed while the other connection keeps reading and writing. The thread is
 * started at the first checkpoint, and closed before the store's own connection, so that the
 * store's connection is the last one and its close checkpoints and removes the WAL as before.
 *
 * The thread's code is a few lines of plain JavaScript given to the Worker as text: it needs
 * only better-sqlite3 (resolved here, loaded there), so it runs the same from the sources, from
 * dist/ and from the bundle (scripts/bundle.mjs), with no module of ours to find.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

const THREAD_CODE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('busy_timeout = 5000');
parentPort.on('message', (m) => {
  if (m === 'close') {
    db.close();
    parentPort.close();
    return;
  }
  try {
    const [r] = db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ ok: true, log: r.log, checkpointed: r.checkpointed });
  } catch (e) {
    parentPort.postMessage({ ok: false, message: String((e && e.message) || e) });
  }
});
`;

/** What a checkpoint did: frames in the WAL, and how many of them are now in the database file. */
export interface CheckpointResult {
  log: number;
  checkpointed: number;
}

type Reply = ({ ok: true } & CheckpointResult) | { ok: false; message: string };

export class CheckpointThread {
  private readonly worker: Worker;
  /** The checkpoints asked for and not yet answered, in order (the thread answers one at a time). */
  private readonly waiting: { resolve: (r: CheckpointResult) => void; reject: (e: Error) => void }[] = [];
  private readonly exited: Promise<void>;
  private dead: Error | null = null;

  constructor(file: string) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    // No flags of this process (`--input-type=module` would make the text an ES module, a loader's hooks are not needed).
    this.worker = new Worker(THREAD_CODE, { eval: true, execArgv: [], workerData: { file, driver } });
    // The thread never keeps the process alive: a store not closed lets the process end, as before.
    this.worker.unref();
    this.worker.on('message', (m: Reply) => {
      const w = this.waiting.shift();
      if (m.ok) w?.resolve({ log: m.log, checkpointed: m.checkpointed });
      else w?.reject(new Error(`WAL checkpoint: ${m.message}`));
    });
    this.exited = new Promise((resolve) => {
      const end = (e: Error) => {
        this.dead ??= e;
        for (const w of this.waiting.splice(0)) w.reject(this.dead);
        resolve();
      };
      this.worker.on('error', end);
      this.worker.on('exit', (code) => end(new Error(`the WAL checkpoint thread ended (exit code ${code})`)));
    });
  }

  /** Whether the thread can still take checkpoints. */
  get alive(): boolean {
    return this.dead === null;
  }

  /** One PASSIVE checkpoint on the thread's connection. */
  checkpoint(): Promise<CheckpointResult> {
    if (this.dead) return Promise.reject(this.dead);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.worker.postMessage('checkpoint');
    });
  }

  /** Closes the thread's connection after the checkpoints asked for, and ends the thread. */
  async close(): Promise<void> {
    // Referenced again while it ends: a close awaited at the end of a program keeps it running until then.
    this.worker.ref();
    if (!this.dead) this.worker.postMessage('close');
    await this.exited;
  }
}
