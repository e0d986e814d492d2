/**
 * When publishes run (issue 17.1, "publish-loop"): on notify, coalescing the changes that
 * arrive during a publish into the next one; on a timer that re-signs before expiry; when
 * another process on the same database wrote; and only in the replica that holds the
 * publisher lease (issue 11). What one publish does is the `publish` function it is given.
 */
import { inDryRun } from '../dry-run.js';
import { Codes, KeyshareError, isKeyshareError } from '../errors.js';
import type { Store } from '../store/index.js';

export interface PublishResult {
  timestampVersion: number;
  /** Roles signed by this publish (e.g. ['bin-3f', 'snapshot', 'timestamp']). */
  rolesSigned: string[];
  bytesWritten: number;
  documentsChanged: number;
}

/** One publish as observers see it: result null and no error means there was nothing to publish. */
export interface PublishEvent {
  result: PublishResult | null;
  error?: unknown;
  seconds: number;
}
export type PublishObserver = (event: PublishEvent) => void;

/**
 * Whether this process publishes (issue 11, service/replication.ts): with replicas on one
 * PostgreSQL database only the holder of the publisher lease signs and commits metadata; the
 * others hand their changes to it and serve what it publishes. Alone (SQLite), it always does.
 */
export interface PublishGate {
  leads(): boolean;
  /** A change was committed here while another replica publishes: tell that one. */
  handOff(): void;
  /** The advertised URL of the replica that publishes, if it gave one (`--advertise-url`). */
  publisherUrl?(): string | null;
}

const ALWAYS_LEADS: PublishGate = { leads: () => true, handOff: () => {} };

/** How often a publish on the stored state is built again when another process's publish lands first (exclusiveOnStored). */
const STORED_STATE_ATTEMPTS = 5;

export interface PublishLoopDeps {
  store: Pick<Store, 'changeSeq' | 'listDirty' | 'latestMetadata'>;
  /** One publish; null when there was nothing to do. */
  publish: () => Promise<PublishResult | null>;
  /** Reads the stored repository again (Publisher.load). */
  reload: () => Promise<void>;
  /** The timestamp version served by this process. */
  servedTimestampVersion: () => number | undefined;
  clock: () => Date;
  onError?: (error: unknown) => void;
}

export class PublishLoop {
  private running: Promise<PublishResult | null> | null = null;
  private pending = false;
  private timer: NodeJS.Timeout | null = null;
  private watcher: NodeJS.Timeout | null = null;
  private seenSeq = -1;
  private gate: PublishGate = ALWAYS_LEADS;
  /** Set by a publish that found only changes waiting for an offline tenant's signature. */
  private onlyHeld = false;
  /** Observers of every publish (metrics): its result or error, and how long it took. */
  private readonly observers = new Set<PublishObserver>();
  /** The outcome of the last publish run: when one last succeeded (a no-op included), and the error of the last if it failed. */
  private health: { lastSuccessAt: Date | null; lastError: unknown } = { lastSuccessAt: null, lastError: null };

  constructor(private readonly deps: PublishLoopDeps) {}

  /** Set once by the server when replicas share a database (service/replication.ts). */
  setGate(gate: PublishGate): void {
    this.gate = gate;
  }

  /** True when this process signs and commits metadata (always, unless a replica that does not hold the lease). */
  leads(): boolean {
    return this.gate.leads();
  }

  /**
   * Issue 11: only the lease holder signs; the others refuse what they cannot hand off (root and
   * tenant publishes, and `key rotate`, whose new key must be in the publisher's data dir).
   */
  requireLead(what: string): void {
    if (this.leads()) return;
    // Issue 24 row 6: name the publisher, so that behind a load balancer the CLI can go there.
    const url = this.gate.publisherUrl?.() ?? null;
    const where = url ? `the publisher is ${url}: retry ${what} with --server ${url}` : `retry ${what} on the replica that holds the publisher lease (keyshare_publisher_leader 1; start replicas with --advertise-url to have it named here)`;
    throw new KeyshareError(Codes.NOT_PUBLISHER, `this replica does not publish; ${where}`, { details: { publisherUrl: url } });
  }

  /** Publishes pending changes now, or after the publish in flight (coalescing). */
  notify(): Promise<PublishResult | null> {
    // A dry run rolls its write back: there is nothing to publish (service/dry-run.ts).
    if (inDryRun()) return Promise.resolve(null);
    if (!this.leads()) {
      // A replica that does not hold the lease never signs: the leader publishes the change.
      this.gate.handOff();
      return Promise.resolve(null);
    }
    if (this.running) {
      this.pending = true;
      return this.running.then(() => this.running ?? this.notify());
    }
    this.running = this.observed(() => this.deps.publish())
      .catch((e) => {
        this.deps.onError?.(e);
        return null;
      })
      .finally(() => this.settled());
    return this.running;
  }

  /** After a publish or an exclusive task: a publish asked for meanwhile runs now. */
  private settled(): void {
    this.running = null;
    if (this.pending) {
      this.pending = false;
      void this.notify();
    }
  }

  observe(observer: PublishObserver): () => void {
    this.observers.add(observer);
    return () => this.observers.delete(observer);
  }

  /** Issue 24 row 4: what /readyz, /metrics and write responses say about publishing. */
  publishHealth(): { lastSuccessAt: Date | null; lastError: { code: string; message: string } | null } {
    const e = this.health.lastError;
    if (e === null) return { lastSuccessAt: this.health.lastSuccessAt, lastError: null };
    return {
      lastSuccessAt: this.health.lastSuccessAt,
      lastError: e instanceof KeyshareError ? { code: e.code, message: e.message } : { code: Codes.INTERNAL, message: 'publish failed (see the log)' },
    };
  }

  private async observed(run: () => Promise<PublishResult | null>): Promise<PublishResult | null> {
    const started = performance.now();
    const tell = (event: PublishEvent) => {
      this.health = event.error === undefined ? { lastSuccessAt: this.deps.clock(), lastError: null } : { ...this.health, lastError: event.error };
      for (const o of this.observers) {
        try {
          o(event);
        } catch {
          // an observer never breaks a publish
        }
      }
    };
    try {
      const result = await run();
      tell({ result, seconds: (performance.now() - started) / 1000 });
      return result;
    } catch (error) {
      tell({ result: null, error, seconds: (performance.now() - started) / 1000 });
      throw error;
    }
  }

  /** Called by a publish that found only changes waiting for an offline tenant's signature. */
  heldOnly(): void {
    this.onlyHeld = true;
  }

  /** Waits until everything committed so far is published. */
  async flush(): Promise<void> {
    for (let i = 0; i < 100 && (this.running || (await this.deps.store.listDirty()).length > 0); i++) {
      this.onlyHeld = false;
      await (this.running ?? this.notify());
      // The dirty marks left wait for an offline tenant's signature.
      if (this.onlyHeld && !this.running) return;
    }
  }

  /** Re-signs roles before they expire: checks every `intervalMs`. */
  start(intervalMs = 30_000, watchMs = 2_000): void {
    this.stop();
    this.timer = setInterval(() => {
      if (this.leads()) void this.notify();
    }, intervalMs);
    this.timer.unref();
    // Writes by other processes on the same data dir (`keyshare bundle import` commits trust,
    // `keyshare bundle export` publishes a version): a cheap check picks them up within seconds.
    this.watcher = setInterval(() => {
      // A failed check (e.g. the database busy) is reported, never an unhandled rejection; the next tick tries again.
      void this.checkExternalWrites().catch((e) => this.deps.onError?.(e));
    }, watchMs);
    this.watcher.unref();
  }

  /** Reloads when another process published; publishes what another process committed. Cheap: two indexed reads. */
  async checkExternalWrites(): Promise<void> {
    if (this.running) return;
    const moved = await this.storedMoved();
    const seq = await this.deps.store.changeSeq();
    if (this.running) return;
    if (!this.leads()) {
      // A replica that does not publish serves what the leader published (issue 11).
      if (moved) await this.exclusive(() => this.deps.reload());
      return;
    }
    // publish() reloads what another process published, serialised with this process's publishes.
    if (moved || seq !== this.seenSeq) {
      this.seenSeq = seq;
      void this.notify();
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.watcher) clearInterval(this.watcher);
    this.watcher = null;
  }

  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Whether the stored timestamp is not the one this process serves: another process published. */
  async storedMoved(): Promise<boolean> {
    return (await this.deps.store.latestMetadata('timestamp'))?.version !== this.deps.servedTimestampVersion();
  }

  /** Reloads the served state when another process published since this one last loaded (e.g. `keyshare bundle export`). */
  async reloadIfMoved(): Promise<void> {
    if (await this.storedMoved()) await this.deps.reload();
  }

  /**
   * `exclusive`, for a publish that builds on the served state (root publish, tenant add and
   * remove): it excludes this process's publishes, but not another process's on the same
   * database (`keyshare bundle export` commits a version of its own, and this process sees it
   * only at its next check). So the task starts from the stored state, and when another
   * process's publish lands between its read and its commit (commitPublish: CONFLICT, the
   * transaction rolled back), it is built again on the new state, a few times, rather than
   * failing a caller that raced with nothing of its own.
   */
  async exclusiveOnStored<T>(task: () => Promise<T>): Promise<T> {
    return this.exclusive(async () => {
      for (let attempt = 1; ; attempt++) {
        await this.reloadIfMoved();
        const base = this.deps.servedTimestampVersion();
        try {
          return await task();
        } catch (e) {
          const moved = isKeyshareError(e) && e.code === Codes.CONFLICT && (await this.deps.store.latestMetadata('timestamp'))?.version !== base;
          if (!moved || attempt >= STORED_STATE_ATTEMPTS) throw e;
        }
      }
    });
  }

  /** Runs `task` between publishes, never during one; a publish asked for meanwhile runs after it. */
  async exclusive<T>(task: () => Promise<T>): Promise<T> {
    while (this.running) await this.running;
    const run = task();
    this.running = run
      .then(
        () => null,
        () => null,
      )
      .finally(() => this.settled());
    return run;
  }
}
