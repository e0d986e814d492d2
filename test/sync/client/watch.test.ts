/**
 * `fetch --watch`'s loop (sync/client/watch.ts) with fake ports: when --exec runs, when the
 * feed is waited on or the server polled, how failures back off, when trust turns stale, what
 * ends it at once, and that an abort (SIGTERM) ends it cleanly. The CLI against a real server
 * is test/e2e/fetch-watch.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { KeyshareError } from '../../../service/errors.js';
import { FetchCodes } from '../../../sync/client/errors.js';
import { watch, type WatchPorts } from '../../../sync/client/watch.js';

type Step = { timestampVersion: number; changed: boolean } | KeyshareError;

/** Ports that replay `steps` as the results of sync(), then abort; records what the loop did. */
function scripted(steps: Step[], feed: 'changed' | 'unchanged' | 'no-feed' | 'throws' = 'changed') {
  const controller = new AbortController();
  const log: string[] = [];
  let i = 0;
  const ports: WatchPorts = {
    sync: async () => {
      const step = steps[i++];
      if (i >= steps.length) queueMicrotask(() => controller.abort());
      if (step === undefined) return { timestampVersion: 0, changed: false };
      log.push(step instanceof KeyshareError ? `sync ${step.code}` : `sync v${step.timestampVersion}${step.changed ? ' changed' : ''}`);
      if (step instanceof KeyshareError) throw step;
      return step;
    },
    afterChange: async () => {
      log.push('exec');
    },
    feed: async (after) => {
      log.push(`feed after ${after}`);
      if (feed === 'throws') throw new Error('connection refused');
      return feed;
    },
    warn: (m) => log.push(`warn ${m.split(':')[0]}`),
  };
  return { ports, log, signal: controller.signal, abort: () => controller.abort() };
}

const down = () => new KeyshareError(FetchCodes.DOWNLOAD_FAILED, 'cannot download the repository: connection refused');

describe('when the watched server changes', () => {
  it('runs --exec after each write, not after a version that changed no file, and waits on the feed after each verified fetch', async () => {
    const s = scripted([
      { timestampVersion: 3, changed: true },
      { timestampVersion: 4, changed: false },
      { timestampVersion: 5, changed: true },
    ]);
    await watch(s.ports, { maxStaleMs: null, intervalMs: 50, signal: s.signal });
    expect(s.log).toEqual(['sync v3 changed', 'exec', 'feed after 3', 'sync v4', 'feed after 4', 'sync v5 changed']);
  });

  it('polls a server without a feed every --interval', async () => {
    const s = scripted([{ timestampVersion: 3, changed: true }, { timestampVersion: 3, changed: false }], 'no-feed');
    const started = Date.now();
    await watch(s.ports, { maxStaleMs: null, intervalMs: 300, signal: s.signal });
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(s.log).toEqual(['sync v3 changed', 'exec', 'feed after 3', 'sync v3']);
  });
});

describe('when fetches fail', () => {
  it('keeps --out (no --exec), warns and tries again without --max-stale, and ends cleanly on abort', async () => {
    const s = scripted([{ timestampVersion: 3, changed: true }, down(), down(), { timestampVersion: 4, changed: true }], 'throws');
    await watch(s.ports, { maxStaleMs: null, intervalMs: 20, signal: s.signal });
    expect(s.log).toEqual(['sync v3 changed', 'exec', 'feed after 3', 'sync DOWNLOAD_FAILED', 'warn DOWNLOAD_FAILED', 'sync DOWNLOAD_FAILED', 'warn DOWNLOAD_FAILED', 'sync v4 changed']);
  });

  it('backs off between failed fetches: 1 s, then doubling', async () => {
    const controller = new AbortController();
    const waits: string[] = [];
    let calls = 0;
    const ports: WatchPorts = {
      sync: async () => {
        if (calls++ === 0) return { timestampVersion: 3, changed: true };
        throw down();
      },
      afterChange: async () => {},
      feed: async () => 'changed',
      warn: (m) => {
        waits.push(/trying again in ([\d.]+s)$/.exec(m)?.[1] ?? m);
        // The second wait is aborted at once: only the first (1 s) is waited for.
        if (waits.length === 2) controller.abort();
      },
    };
    await watch(ports, { maxStaleMs: null, intervalMs: 60_000, signal: controller.signal });
    expect(waits).toEqual(['1s', '2s']);
  });

  it('ends with TRUST_STALE, naming the last failure, once no fetch has verified for longer than --max-stale', async () => {
    const s = scripted([{ timestampVersion: 3, changed: true }, ...Array.from({ length: 50 }, down)], 'throws');
    const started = Date.now();
    const ended = await watch(s.ports, { maxStaleMs: 300, intervalMs: 1000, signal: s.signal }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(ended).toBeInstanceOf(KeyshareError);
    expect((ended as KeyshareError).code).toBe(FetchCodes.TRUST_STALE);
    expect((ended as KeyshareError).message).toMatch(/longer than --max-stale 0\.3s.*Last failure: DOWNLOAD_FAILED/);
    // Backoff never waits past the limit: it ends soon after it.
    expect(Date.now() - started).toBeLessThan(1500);
    expect(s.log.filter((l) => l === 'exec')).toHaveLength(1);
  });

  it('ends at once on a local fault that trying again cannot mend (OUT_INVALID)', async () => {
    const s = scripted([{ timestampVersion: 3, changed: true }, new KeyshareError(FetchCodes.OUT_INVALID, 'refusing to replace out: mine.txt')]);
    await expect(watch(s.ports, { maxStaleMs: null, intervalMs: 20, signal: s.signal })).rejects.toMatchObject({ code: FetchCodes.OUT_INVALID });
    expect(s.log.filter((l) => l.startsWith('warn'))).toEqual([]);
  });
});
