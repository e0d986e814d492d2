/**
 * A progress bar for long operations (export, import, sync, fetch), drawn on stderr only when
 * stderr is a terminal: never in pipes, logs, CI output or with --json. Usage:
 *
 *   const bar = progress({ label: 'exporting', total: files.length, json: o.json });
 *   for (const f of files) { ...; bar.tick(); }
 *   bar.done();
 */
export interface Progress {
  /** Advances by `n` (default 1). */
  tick(n?: number): void;
  /** Sets the count done (and optionally a new total, and a note shown after the count, e.g. "12.3 MB"). */
  update(done: number, total?: number, note?: string): void;
  /** Clears the bar. */
  done(): void;
  /** Whether it draws at all. */
  readonly enabled: boolean;
}

export interface ProgressOptions {
  label: string;
  total: number;
  /** --json was given: no bar. */
  json?: boolean;
  stream?: { isTTY?: boolean; columns?: number; write(s: string): unknown };
  /** Minimum time between redraws (ms). */
  intervalMs?: number;
  clock?: () => number;
}

export function progress(options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr;
  const enabled = Boolean(stream.isTTY) && !options.json && process.env.TERM !== 'dumb';
  const clock = options.clock ?? (() => Date.now());
  const interval = options.intervalMs ?? 100;
  let total = Math.max(0, options.total);
  let count = 0;
  let last = -Infinity;
  let drawn = false;
  let note = '';
  const draw = (force = false) => {
    if (!enabled) return;
    const now = clock();
    if (!force && now - last < interval) return;
    last = now;
    const width = Math.max(10, Math.min(40, (stream.columns ?? 80) - options.label.length - 24));
    const ratio = total > 0 ? Math.min(1, count / total) : 0;
    const filled = Math.round(ratio * width);
    stream.write(`\r\x1b[K${options.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${count}/${total} ${Math.floor(ratio * 100)}%${note ? ` ${note}` : ''}`);
    drawn = true;
  };
  return {
    enabled,
    tick(n = 1) {
      count += n;
      draw(count >= total);
    },
    update(done, newTotal, newNote) {
      count = done;
      if (newTotal !== undefined) total = newTotal;
      if (newNote !== undefined) note = newNote;
      draw(count >= total);
    },
    done() {
      if (enabled && drawn) stream.write('\r\x1b[K');
      drawn = false;
    },
  };
}
