/**
 * HTTP load from a separate process: wrk when it is installed (Debian `wrk`), else autocannon
 * (a dev dependency). Keep-alive connections, no pipelining. Returns requests per second.
 */
import { join } from 'node:path';
import { benchDir, projectDir, run, startChild, which, type Child } from './proc.js';
import { median } from './stats.js';

export interface LoadResult {
  rps: number;
  /** Responses that were not 2xx, and socket errors: a run with either is not a valid figure. */
  bad: number;
  p50Ms: number;
  p99Ms: number;
}

/** A URL under load, by name. */
export interface LoadSubject {
  name: string;
  url: string;
}

/** Rounds of load, their length and connections, after a warm-up per subject. */
export interface LoadRounds {
  seconds: number;
  rounds: number;
  warmupSeconds: number;
  connections: number;
}

export interface LoadTool {
  name: string;
  run(url: string, opts: { seconds: number; connections: number }): Promise<LoadResult>;
  close(): Promise<void>;
}

export async function loadTool(): Promise<LoadTool> {
  const wrk = process.env.KEYSHARE_BENCH_NO_WRK ? null : await which('wrk');
  if (wrk) return { name: 'wrk', run: (url, o) => runWrk(wrk, url, o), close: async () => {} };
  // autocannon in one long-lived process of its own (bench/lib/load-child.ts).
  let child: Child | null = null;
  return {
    name: 'autocannon',
    async run(url, o) {
      child ??= await startChild(join(benchDir, 'lib/load-child.ts'), {});
      const c = child;
      const result = new Promise<LoadResult & { error?: string }>((resolve) => c.proc.once('message', (m) => resolve(m as LoadResult & { error?: string })));
      c.proc.send({ url, seconds: o.seconds, connections: o.connections });
      const r = await result;
      if (r.error) throw new Error(`autocannon: ${r.error}`);
      return r;
    },
    async close() {
      await child?.stop();
      child = null;
    },
  };
}

/** autocannon as a command (one process per run); kept for comparison with the long-lived one. */
export { runAutocannon };

async function runAutocannon(url: string, o: { seconds: number; connections: number }): Promise<LoadResult> {
  const bin = join(projectDir, 'node_modules/autocannon/autocannon.js');
  const r = await run(process.execPath, [bin, '-c', String(o.connections), '-d', String(o.seconds), '-j', '-n', url], { timeoutMs: (o.seconds + 30) * 1000 });
  if (r.code !== 0) throw new Error(`autocannon failed (${r.code}): ${r.stderr}`);
  const j = JSON.parse(r.stdout) as {
    requests: { total: number };
    duration: number;
    non2xx: number;
    errors: number;
    timeouts: number;
    latency: { p50: number; p99: number };
  };
  return { rps: j.requests.total / j.duration, bad: j.non2xx + j.errors + j.timeouts, p50Ms: j.latency.p50, p99Ms: j.latency.p99 };
}

async function runWrk(bin: string, url: string, o: { seconds: number; connections: number }): Promise<LoadResult> {
  const r = await run(bin, ['-t1', `-c${o.connections}`, `-d${o.seconds}s`, '--latency', url], { timeoutMs: (o.seconds + 30) * 1000 });
  if (r.code !== 0) throw new Error(`wrk failed (${r.code}): ${r.stderr}`);
  const num = (re: RegExp) => Number(re.exec(r.stdout)?.[1] ?? 0);
  const ms = (re: RegExp) => {
    const m = re.exec(r.stdout);
    if (!m) return NaN;
    const v = Number(m[1]);
    return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v;
  };
  return {
    rps: num(/Requests\/sec:\s+([\d.]+)/),
    bad: num(/Non-2xx or 3xx responses:\s+(\d+)/) + num(/Socket errors:.*?(\d+)/),
    p50Ms: ms(/50%\s+([\d.]+)(us|ms|s)/),
    p99Ms: ms(/99%\s+([\d.]+)(us|ms|s)/),
  };
}

/**
 * Each subject's req/s, round by round, after a warm-up each: subjects interleaved, the order
 * rotating so that no subject always runs first (or right after the same one). A run with a bad
 * response or a socket error is not a figure: it throws.
 */
export async function interleavedLoad(load: LoadTool, subjects: LoadSubject[], o: LoadRounds, log: (s: string) => void, label: string): Promise<Map<string, number[]>> {
  for (const s of subjects) {
    const r = await load.run(s.url, { seconds: o.warmupSeconds, connections: o.connections });
    if (r.bad > 0) throw new Error(`${s.name}: ${r.bad} bad responses during warm-up`);
  }
  const samples = new Map<string, number[]>(subjects.map((s) => [s.name, []]));
  for (let round = 0; round < o.rounds; round++) {
    const order = subjects.map((_, i) => subjects[(i + round) % subjects.length]!);
    for (const s of order) {
      const r = await load.run(s.url, { seconds: o.seconds, connections: o.connections });
      if (r.bad > 0) throw new Error(`${s.name}: ${r.bad} bad responses`);
      samples.get(s.name)!.push(r.rps);
    }
    log(`  ${label} round ${round + 1}/${o.rounds}: ${[...samples].map(([k, v]) => `${k}=${Math.round(v[v.length - 1]!)}`).join(' ')}`);
  }
  return samples;
}

/** The median of each round's ratio a / b: the two runs of a round are seconds apart, so a change in the machine's load between rounds moves both. */
export function perRoundRatio(samples: Map<string, number[]>, a: string, b: string): number {
  const bs = samples.get(b)!;
  return median(samples.get(a)!.map((x, i) => x / bs[i]!));
}
