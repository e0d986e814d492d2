/**
 * B5: the client (`keyshare fetch`, a real process) through a counting proxy: requests and
 * bytes of a cold fetch of one scope and of a warm refresh with no change; then the start
 * time of `fetch --offline` against `node -e 0`, interleaved, medians.
 */
import { createServer, request, type Server } from 'node:http';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { projectDir, run } from './proc.js';
import type { Row } from './report.js';
import { fmtBytes, fmtMs, median, sig } from './stats.js';
import { scopeName } from './fixture.js';

/** How to run the CLI: the built one (what users run) when dist/ is current, else through tsx. */
export function cliCommand(): { argv: string[]; note: string | null; built: boolean } {
  const built = join(projectDir, 'dist/cli/main.js');
  const newest = (dir: string): number => {
    let t = 0;
    for (const name of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, name.name);
      if (name.isDirectory()) t = Math.max(t, newest(p));
      else if (/\.tsx?$/.test(name.name)) t = Math.max(t, statSync(p).mtimeMs);
    }
    return t;
  };
  if (existsSync(built)) {
    const src = Math.max(...['service', 'sync', 'cli'].map((d) => newest(join(projectDir, d))));
    if (statSync(built).mtimeMs >= src) return { argv: [join(projectDir, 'bin/keyshare.js')], note: null, built: true };
  }
  return {
    argv: ['--import', 'tsx', join(projectDir, 'cli/main.ts')],
    note: 'dist/ is missing or older than the sources: the CLI and the services ran through tsx, which adds start-up time and about 90 MB of RSS (run `npm run build` for the figures users see)',
    built: false,
  };
}

interface Counter {
  url: string;
  requests: string[];
  bytes: number;
  reset(): void;
  close(): Promise<void>;
}

async function countingProxy(target: string): Promise<Counter> {
  const t = new URL(target);
  const c = { requests: [] as string[], bytes: 0 };
  const server: Server = createServer((req, res) => {
    c.requests.push(`${req.method} ${req.url}`);
    const up = request({ host: t.hostname, port: t.port, path: req.url, method: req.method, headers: { ...req.headers, host: t.host } }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.on('data', (d: Buffer) => (c.bytes += d.length));
      r.pipe(res);
    });
    up.on('error', () => res.writeHead(502).end());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const a = server.address();
  return {
    url: `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`,
    get requests() {
      return c.requests;
    },
    get bytes() {
      return c.bytes;
    },
    reset() {
      c.requests = [];
      c.bytes = 0;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface ClientTarget {
  scopes: number;
  url: string;
  rootPath: string;
}

export async function benchClient(targets: ClientTarget[], work: string, rounds: number, log: (s: string) => void): Promise<{ rows: Row[]; note: string | null }> {
  const cli = cliCommand();
  const rows: Row[] = [];
  let offlineArgs: string[] | null = null;
  for (const t of targets) {
    const proxy = await countingProxy(t.url);
    try {
      const cache = join(work, `cache-${t.scopes}`);
      const args = (out: string, extra: string[] = []) => [...cli.argv, 'fetch', '--server', proxy.url, '--root', t.rootPath, '--out', join(work, out), '--format', 'json', '--repository', `${scopeName(0)}/app`, '--cache', cache, ...extra];
      const fetchOnce = async (label: string, out: string) => {
        proxy.reset();
        const r = await run(process.execPath, args(out), { timeoutMs: 120_000 });
        if (r.code !== 0) throw new Error(`keyshare fetch (${label}) failed: ${r.stderr}`);
        return { requests: [...proxy.requests], bytes: proxy.bytes, ms: r.ms };
      };
      const cold = await fetchOnce('cold', `out-cold-${t.scopes}`);
      const warm = await fetchOnce('warm', `out-warm-${t.scopes}`);
      log(`  B5 ${t.scopes} scopes: cold ${cold.requests.length} requests ${cold.bytes} B; warm ${warm.requests.join(', ')} ${warm.bytes} B`);
      const n = t.scopes.toLocaleString('en-US');
      // Issue 17: `--repository r0.bench.example/app` looks up 3 candidate scopes (`*`, the repository, its registry), no index.
      const isLargest = t === targets[targets.length - 1];
      const coldOk = cold.requests.length <= 8 && cold.bytes <= 128 * 1024;
      rows.push({
        id: 'B5',
        figure: `cold fetch of one --repository (3 candidate scopes), ${n} scopes`,
        value: `${cold.requests.length} requests, ${fmtBytes(cold.bytes)}`,
        baseline: 'none (a count)',
        ratio: '-',
        goal: isLargest ? '≤ 128 KiB, ≤ 8 requests' : 'report',
        status: isLargest ? (coldOk ? 'met' : 'missed') : 'info',
        data: cold,
      });
      const ok = warm.requests.length <= 1 && warm.bytes <= 1024;
      rows.push({ id: 'B5', figure: `warm refresh, no change, ${n} scopes`, value: `${warm.requests.length} requests, ${fmtBytes(warm.bytes)}`, baseline: 'none (a count)', ratio: '-', goal: '1 request, ≤ 1 KB', status: ok ? 'met' : 'missed', data: warm });
      offlineArgs ??= [...args(`out-offline`, ['--offline'])];
    } finally {
      await proxy.close();
    }
  }
  // Offline start time: the whole `fetch --offline` process against a bare `node -e 0`.
  const times = { keyshare: [] as number[], node: [] as number[] };
  for (let i = 0; i < rounds + 1; i++) {
    const pair: [keyof typeof times, string[]][] = [
      ['keyshare', offlineArgs!],
      ['node', ['-e', '0']],
    ];
    if (i % 2 === 1) pair.reverse();
    for (const [k, argv] of pair) {
      const r = await run(process.execPath, argv, { timeoutMs: 60_000 });
      if (r.code !== 0) throw new Error(`${k} offline start failed: ${r.stderr}`);
      if (i > 0) times[k].push(r.ms); // round 0 warms the page cache
    }
  }
  const k = median(times.keyshare);
  const n = median(times.node);
  rows.push({
    id: 'B5',
    figure: '`fetch --offline` start-to-exit time',
    value: fmtMs(k),
    baseline: `node -e 0: ${fmtMs(n)}`,
    ratio: `${sig(k / n, 2)}×`,
    goal: '≤ 2× node',
    status: k / n <= 2 ? 'met' : 'missed',
    data: { samplesMs: times },
  });
  return { rows, note: cli.note };
}
