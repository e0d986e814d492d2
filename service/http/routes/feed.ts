/**
 * GET /tuf/feed?after=N[&wait=S]: the change feed that downstream keyshare services subscribe
 * to (sync/upstream/manager.ts). A long-poll: it answers `{ "timestampVersion", "rootVersion" }`
 * as soon as the published timestamp version is above N, or after S seconds (default 25, at
 * most 60) with the current one. Public like the rest of /tuf/: it only announces versions of
 * public, signed metadata, and a client trusts nothing it says without verifying the
 * repository itself. Waiters are bounded; the server's shutdown answers them all at once.
 */
import { Hono } from 'hono';
import type { AppEnv } from '../context.js';
import type { ServedView } from '../../repo/served.js';
import { Codes } from '../../errors.js';

export const FEED_DEFAULT_WAIT_SECONDS = 25;
export const FEED_MAX_WAIT_SECONDS = 60;
/** Long-polls held open at once, per instance; more are answered at once. */
export const FEED_MAX_WAITERS = 1000;
/** Issue 24 row 7: after shutdown, how long a follower is told to wait before it asks again (seconds). */
export const FEED_SHUTDOWN_RETRY_SECONDS = 30;

class ChangeFeed {
  private readonly waiters = new Set<() => void>();
  closed = false;

  constructor(private readonly served: ServedView) {}

  version(): { timestampVersion: number; rootVersion: number } {
    return {
      timestampVersion: this.served.latestMetadata('timestamp')?.version ?? 0,
      rootVersion: this.served.latestMetadata('root')?.version ?? 0,
    };
  }

  /** Resolves when the timestamp version is above `after`, after `ms`, on abort, or at shutdown. */
  wait(after: number, ms: number, signal: AbortSignal): Promise<void> {
    if (this.closed || this.version().timestampVersion > after || this.waiters.size >= FEED_MAX_WAITERS) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        clearInterval(check);
        unobserve();
        signal.removeEventListener('abort', done);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      // What this process serves anew wakes it at once; another process's publish (a shared database) within a second.
      const unobserve = this.served.onServedChange(() => {
        if (this.version().timestampVersion > after) done();
      });
      const check = setInterval(() => {
        if (this.version().timestampVersion > after) done();
      }, 1000);
      signal.addEventListener('abort', done);
      this.waiters.add(done);
    });
  }

  close(): void {
    this.closed = true;
    for (const done of [...this.waiters]) done();
  }
}

const feeds = new WeakMap<ServedView, ChangeFeed>();

function feedOf(served: ServedView): ChangeFeed {
  let f = feeds.get(served);
  if (!f) feeds.set(served, (f = new ChangeFeed(served)));
  return f;
}

/** Answers every waiting long-poll now and every later one at once (server shutdown). */
export function closeFeed(served: ServedView): void {
  feedOf(served).close();
}

/** Mounted at /tuf. */
export function feedRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get('/feed', async (c) => {
    const feed = feedOf(c.get('instance').served);
    const afterParam = c.req.query('after');
    const after = afterParam !== undefined && /^\d{1,15}$/.test(afterParam) ? Number(afterParam) : -1;
    const waitParam = c.req.query('wait');
    const wait = waitParam !== undefined && /^\d{1,4}$/.test(waitParam) ? Math.min(Number(waitParam), FEED_MAX_WAIT_SECONDS) : FEED_DEFAULT_WAIT_SECONDS;
    if (after >= 0 && wait > 0) await feed.wait(after, wait * 1000, c.req.raw.signal);
    c.header('Cache-Control', 'no-store');
    if (feed.closed) {
      // Issue 24 row 7: shutting down, a long-poll is answered at once and its connection closed,
      // and the follower is told to back off (Retry-After) rather than ask again at once.
      c.header('Retry-After', String(FEED_SHUTDOWN_RETRY_SECONDS));
      c.header('Connection', 'close');
      return c.json({ code: Codes.SHUTTING_DOWN, message: `this service is stopping: ask again in ${FEED_SHUTDOWN_RETRY_SECONDS} s`, ...feed.version() }, 503);
    }
    return c.json(feed.version());
  });
  return app;
}
