/**
 * GET /tuf/feed?after=N[&wait=S]: the change feed that downstream keyshare services subscribe
 * to (service/federation/upstream/manager.ts). A long-poll: it answers `{ "timestampVersion", "rootVersion" }`
 * as soon as the published timestamp version is above N, or after S seconds (default 25, at
 * most 60) with the current one. Public like the rest of /tuf/: it only announces versions of
 * public, signed metadata, and a client trusts nothing it says without verifying the
 * repository itself. Waiters are bounded; the server's shutdown answers them all at once.
 *
 * Issue 16, finding 3: anonymous clients could hold every slot, so that every follower's poll
 * was answered at once. Slots are now shared out: `reserved` of them only for requests with a
 * valid token (authenticated followers), and at most `perAddress` anonymous ones per client
 * address (service/http/client.ts, so behind --trusted-proxy the forwarded address). A request
 * over its share is answered 429 RATE_LIMITED with Retry-After (and the current version), not
 * at once with a 200 that a follower would take as "ask again now".
 */
import { Hono } from 'hono';
import type { AppEnv } from '../context.js';
import type { ServedView } from '../../repo/served.js';
import { Codes } from '../../errors.js';
import { bearerToken } from '../middleware/auth.js';

export const FEED_DEFAULT_WAIT_SECONDS = 25;
export const FEED_MAX_WAIT_SECONDS = 60;
/** Long-polls held open at once, per instance. */
export const FEED_MAX_WAITERS = 1000;

export interface FeedLimits {
  /** Long-polls held at once (default FEED_MAX_WAITERS). */
  maxWaiters: number;
  /** Of those, the ones only requests with a valid token may hold (default 100). */
  reserved: number;
  /** Anonymous long-polls one client address may hold (default 16). */
  perAddress: number;
}
export const DEFAULT_FEED_LIMITS: FeedLimits = { maxWaiters: FEED_MAX_WAITERS, reserved: 100, perAddress: 16 };
/** How long a client over its share is told to wait (seconds). */
export const FEED_BUSY_RETRY_SECONDS = 5;
/** Issue 24 row 7: after shutdown, how long a follower is told to wait before it asks again (seconds). */
export const FEED_SHUTDOWN_RETRY_SECONDS = 30;

class ChangeFeed {
  private readonly waiters = new Set<() => void>();
  /** Anonymous waiters, in all and per client address. */
  private anonymous = 0;
  private readonly perAddress = new Map<string, number>();
  closed = false;

  constructor(private readonly served: ServedView) {}

  version(): { timestampVersion: number; rootVersion: number } {
    return {
      timestampVersion: this.served.latestMetadata('timestamp')?.version ?? 0,
      rootVersion: this.served.latestMetadata('root')?.version ?? 0,
    };
  }

  /** Whether a client may hold one more slot: authenticated ones any slot, anonymous ones their share. */
  admits(client: { authenticated: boolean; address: string | null }, limits: FeedLimits): boolean {
    if (this.waiters.size >= limits.maxWaiters) return false;
    if (client.authenticated) return true;
    const address = client.address ?? '';
    return this.anonymous < limits.maxWaiters - limits.reserved && (this.perAddress.get(address) ?? 0) < limits.perAddress;
  }

  /**
   * Resolves when the timestamp version is above `after`, after `ms`, on abort, or at shutdown.
   * `anonymousAddress`: the client address an anonymous waiter counts against (null: authenticated).
   */
  wait(after: number, ms: number, signal: AbortSignal, anonymousAddress: string | null): Promise<void> {
    if (this.closed || this.version().timestampVersion > after) return Promise.resolve();
    const count = (delta: number) => {
      if (anonymousAddress === null) return;
      this.anonymous += delta;
      const n = (this.perAddress.get(anonymousAddress) ?? 0) + delta;
      if (n > 0) this.perAddress.set(anonymousAddress, n);
      else this.perAddress.delete(anonymousAddress);
    };
    count(1);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        clearInterval(check);
        unobserve();
        signal.removeEventListener('abort', done);
        if (this.waiters.delete(done)) count(-1);
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
export function feedRoutes(limits: FeedLimits = DEFAULT_FEED_LIMITS): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get('/feed', async (c) => {
    const instance = c.get('instance');
    const feed = feedOf(instance.served);
    const afterParam = c.req.query('after');
    const after = afterParam !== undefined && /^\d{1,15}$/.test(afterParam) ? Number(afterParam) : -1;
    const waitParam = c.req.query('wait');
    const wait = waitParam !== undefined && /^\d{1,4}$/.test(waitParam) ? Math.min(Number(waitParam), FEED_MAX_WAIT_SECONDS) : FEED_DEFAULT_WAIT_SECONDS;
    c.header('Cache-Control', 'no-store');
    if (after >= 0 && wait > 0 && !feed.closed && feed.version().timestampVersion <= after) {
      // Only a request that would wait needs a slot (and only then is its token looked up).
      const authenticated = c.req.header('authorization') !== undefined && (await bearerToken(c, (instance.clock ?? (() => new Date()))())) !== null;
      const address = c.get('client')?.address ?? null;
      if (!feed.admits({ authenticated, address }, limits)) {
        c.header('Retry-After', String(FEED_BUSY_RETRY_SECONDS));
        return c.json({ code: Codes.RATE_LIMITED, message: `too many long-polls are open${authenticated ? '' : ' (a follower with a token has slots of its own)'}: ask again in ${FEED_BUSY_RETRY_SECONDS} s`, ...feed.version() }, 429);
      }
      await feed.wait(after, wait * 1000, c.req.raw.signal, authenticated ? null : (address ?? ''));
    }
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
