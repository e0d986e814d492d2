/**
 * The load generator as a long-lived process of its own: autocannon's API, loaded once, so
 * that a round does not pay for starting node and autocannon again (on a busy 2-core machine
 * that start-up was seconds per round). Messages: `{ url, seconds, connections }` → result.
 */
import { createRequire } from 'node:module';

interface AutocannonResult {
  requests: { total: number };
  duration: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  latency: { p50: number; p99: number };
}
type Autocannon = (opts: { url: string; connections: number; duration: number }) => Promise<AutocannonResult>;

const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

process.on('message', (m: { url?: string; seconds?: number; connections?: number } | string) => {
  if (m === 'stop') process.exit(0);
  if (typeof m !== 'object' || !m.url) return;
  autocannon({ url: m.url, connections: m.connections ?? 32, duration: m.seconds ?? 5 }).then(
    (r) => process.send!({ rps: r.requests.total / r.duration, bad: r.non2xx + r.errors + r.timeouts, p50Ms: r.latency.p50, p99Ms: r.latency.p99 }),
    (err: unknown) => process.send!({ error: err instanceof Error ? err.message : String(err) }),
  );
});
process.send!({ ready: true });
