/**
 * A fixed, small pool of worker threads with a time limit per task (issue 16, finding 1:
 * "parse and verify untrusted keys and certificates in a worker thread with a CPU time limit,
 * so that the event loop never runs attacker-sized math").
 *
 * A task runs on one idle worker; the others queue. A task over its limit has its worker
 * terminated (its math cannot be interrupted otherwise) and refused with the caller's timeout
 * error; a worker that dies (a crash, its heap limit) fails only the task it was running. In
 * both cases the slot starts a new worker at once. The pool starts whole with its first task; a
 * worker's start-up (loading its module) does not count against a task's limit. Idle workers do
 * not keep the process alive.
 *
 * The worker module answers `{ ready: true }` once loaded, then `{ id, value }` or
 * `{ id, error: { code, message } }` for each `{ id, task }` (parse-worker.ts).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { KeyshareError, Codes } from '../errors.js';

export interface PoolOptions {
  /** The worker module: a .js file, or a .ts one when running from the sources (tests). */
  module: URL;
  /** Workers at most (started on demand). */
  size: number;
  /** Heap cap of each worker, MB: a memory bomb ends its worker, not the process. */
  heapMb?: number;
}

interface Task {
  id: number;
  task: unknown;
  limitMs: number;
  timeout: () => KeyshareError;
  fallbackCode: string;
  resolve: (value: unknown) => void;
  reject: (e: unknown) => void;
}

interface Slot {
  worker: Worker;
  ready: Promise<void>;
  current: Task | null;
  timer: NodeJS.Timeout | null;
  loaded: boolean;
}

/** What a worker throws, as it crosses the thread boundary. */
export interface WorkerError {
  code: string | null;
  message: string;
}

const stopped = () => new KeyshareError(Codes.INTERNAL, 'the parse worker stopped before it answered (a crash or its memory limit); the service is unaffected');

export class WorkerPool {
  private readonly slots: (Slot | null)[];
  private readonly queue: Task[] = [];
  private nextId = 0;
  private closing = false;

  constructor(private readonly options: PoolOptions) {
    this.slots = Array.from({ length: options.size }, () => null);
  }

  /**
   * Runs `task` on a worker within `limitMs` of its start there. A refusal the worker throws
   * keeps its code (else `fallbackCode`); over the limit, `timeout()` is thrown.
   */
  run<T>(task: unknown, limitMs: number, timeout: () => KeyshareError, fallbackCode: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, task, limitMs, timeout, fallbackCode, resolve: resolve as (v: unknown) => void, reject });
      this.dispatch();
    });
  }

  /** Starts the workers not started yet; resolves once every worker has loaded. */
  async warm(): Promise<void> {
    for (let i = 0; i < this.slots.length; i++) this.slots[i] ??= this.start(i);
    await Promise.all(this.slots.map((s) => s?.ready));
  }

  /** Terminates every worker; queued and running tasks fail. */
  async close(): Promise<void> {
    this.closing = true;
    for (const t of this.queue.splice(0)) t.reject(stopped());
    await Promise.all(this.slots.map((s, i) => s && this.retire(i, s, stopped())));
  }

  private dispatch(): void {
    if (this.queue.length === 0) return;
    // The whole pool starts with its first task, so that a second task finds a loaded worker.
    for (let i = 0; i < this.slots.length; i++) this.slots[i] ??= this.start(i);
    const idle = this.slots.map((s, i) => [s!, i] as const).filter(([s]) => !s.current);
    // Loaded workers first.
    idle.sort(([a], [b]) => Number(b.loaded) - Number(a.loaded));
    for (const [slot, i] of idle) {
      const task = this.queue.shift();
      if (!task) return;
      slot.current = task;
      slot.worker.ref();
      void slot.ready.then(() => {
        if (this.slots[i] !== slot || slot.current !== task) return;
        slot.timer = setTimeout(() => void this.retire(i, slot, task.timeout()), task.limitMs);
        slot.worker.postMessage({ id: task.id, task: task.task });
      });
    }
  }

  private start(i: number): Slot {
    const worker = launch(this.options);
    let loaded!: () => void;
    const slot: Slot = { worker, ready: new Promise<void>((r) => (loaded = r)), current: null, timer: null, loaded: false };
    worker.on('message', (m: { ready?: true; id?: number; value?: unknown; error?: WorkerError }) => {
      if (m.ready) {
        slot.loaded = true;
        return loaded();
      }
      const task = slot.current;
      if (!task || m.id !== task.id) return;
      clearTimeout(slot.timer!);
      slot.current = null;
      slot.timer = null;
      worker.unref();
      if (m.error) task.reject(new KeyshareError(m.error.code ?? task.fallbackCode, m.error.message));
      else task.resolve(m.value);
      this.dispatch();
    });
    worker.on('error', () => void this.retire(i, slot, stopped()));
    worker.on('exit', () => void this.retire(i, slot, stopped()));
    worker.unref();
    return slot;
  }

  /** Ends a slot's worker, failing its task with `reason`, and starts its replacement (unless closing). */
  private async retire(i: number, slot: Slot, reason: KeyshareError): Promise<void> {
    if (this.slots[i] !== slot) return;
    // A worker that never loaded is replaced with the next task, not now: no restart loop.
    this.slots[i] = this.closing || !slot.loaded ? null : this.start(i);
    if (slot.timer) clearTimeout(slot.timer);
    slot.current?.reject(reason);
    slot.current = null;
    await slot.worker.terminate().catch(() => {});
    this.dispatch();
  }
}

/** From the sources (a .ts module, under vitest) the worker loads tsx first; from dist/ it runs the .js. */
function launch(options: PoolOptions): Worker {
  const resourceLimits = { maxOldGenerationSizeMb: options.heapMb ?? 128 };
  const path = fileURLToPath(options.module);
  if (!path.endsWith('.ts')) return new Worker(options.module, { resourceLimits });
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
  const boot = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(options.module.href)}); })`;
  return new Worker(boot, { eval: true, resourceLimits });
}

/**
 * The URL of a worker module next to `base` (the importing module's URL): `name.ts` from the
 * sources, `name.js` from dist/, or the bundle's entry of that name (dist/bundle/, one level
 * above the chunk that imports it; scripts/bundle.mjs).
 */
export function workerModule(name: string, base: string): URL {
  if (base.endsWith('.ts')) return new URL(`./${name}.ts`, base);
  for (const candidate of [new URL(`./${name}.js`, base), new URL(`../${name}.js`, base)]) {
    if (existsSync(candidate)) return candidate;
  }
  return new URL(`./${name}.js`, base);
}
