/**
 * An async mutex: `run` calls run one at a time, in the order they were made.
 */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();
  /** Holders and waiters: the lock passes straight to the next waiter, so it is idle only when nobody wants it. */
  private users = 0;

  get idle(): boolean {
    return this.users === 0;
  }

  async run<T>(fn: () => T | Promise<T>): Promise<T> {
    this.users++;
    const previous = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((resolve) => (release = resolve));
    try {
      await previous;
      return await fn();
    } finally {
      this.users--;
      release();
    }
  }
}
