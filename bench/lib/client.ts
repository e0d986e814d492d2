/**
 * B5: the client (`keyshare fetch`, a real process) through a counting proxy: requests and
 * bytes of a cold fetch of one scope and of a warm refresh with no change. Then start-to-exit
 * times against `node -e 0` (and Debian's Notary v1 `notary version` when installed), run side
 * by side, interleaved, medians: `--version`, `--help`, `fetch --offline`, a warm and a cold
 * fetch, and `anchor add` (issues 15 and 25).
 */
import { createServer, request, type Server } from 'node:http';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectDir, run, which } from './proc.js';
import type { Row } from './report.js';
import { fmtBytes, fmtMs, median, sig } from './stats.js';
import { scopeName } from './fixture.js';

/** How to run the CLI: the built one (bin/keyshare.js, what users run) when its bundle is current, else through tsx. */
export function cliCommand(): { argv: string[]; note: string | null; built: boolean } {
  const built = join(projectDir, 'dist/bundle/keyshare.js');
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
    const src = Math.max(...['service', 'shared', 'sync', 'cli'].map((d) => newest(join(projectDir, d))));
    if (statSync(built).mtimeMs >= src) return { argv: [join(projectDir, 'bin/keyshare.js')], note: null, built: true };
  }
  return {
    argv: ['--import', 'tsx', join(projectDir, 'cli/main.ts')],
    note: 'dist/bundle/ is missing or older than the sources: the CLI and the services ran through tsx, which adds start-up time and about 90 MB of RSS (run `npm run build` for the figures users see)',
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
  /** The admin token (for the timed `anchor add`). */
  token: string;
}

/** A command, or a function making a fresh one per run (a new cache dir, a new key). */
export type Subject = [cmd: string, args: string[]] | (() => [cmd: string, args: string[]]);

/**
 * Start-to-exit times of each subject, `rounds` times, interleaved (the order rotates each
 * round), after one round that warms the page cache and is not counted.
 */
export async function interleaved(rounds: number, log: (s: string) => void, subjects: Record<string, Subject>, label = 'B5'): Promise<Record<string, number[] | undefined>> {
  const names = Object.keys(subjects);
  const times: Record<string, number[] | undefined> = {};
  for (let i = 0; i < rounds + 1; i++) {
    const order = names.map((_, j) => names[(i + j) % names.length]!);
    for (const k of order) {
      const subject = subjects[k]!;
      const [cmd, args] = typeof subject === 'function' ? subject() : subject;
      const r = await run(cmd, args, { timeoutMs: 120_000 });
      if (r.code !== 0) throw new Error(`${k} failed: ${r.stderr}`);
      if (i > 0) (times[k] ??= []).push(r.ms);
    }
  }
  log(`  ${label} timed: ${names.map((k) => `${k} ${fmtMs(median(times[k]!))}`).join(', ')}`);
  return times;
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
  // Start-to-exit times, interleaved with the baselines run side by side (issue 15, issue 25).
  const t = targets[0]!;
  const fetchArgs = (cache: string) => [...cli.argv, 'fetch', '--server', t.url, '--root', t.rootPath, '--out', join(work, 'out-timed'), '--format', 'json', '--scope', scopeName(0), '--cache', cache];
  const warmCache = join(work, 'cache-timed');
  const warmUp = await run(process.execPath, fetchArgs(warmCache), { timeoutMs: 120_000 });
  if (warmUp.code !== 0) throw new Error(`keyshare fetch (timed) failed: ${warmUp.stderr}`);
  const notary = await which('notary');
  let colds = 0;
  const starts = await interleaved(rounds, log, {
    node: [process.execPath, ['-e', '0']],
    ...(notary ? { notary: [notary, ['version']] as Subject } : {}),
    version: [process.execPath, [...cli.argv, '--version']],
    help: [process.execPath, [...cli.argv, '--help']],
    offline: [process.execPath, offlineArgs!],
    warm: [process.execPath, fetchArgs(warmCache)],
    cold: () => [process.execPath, fetchArgs(join(work, `cache-cold-${++colds}`))],
  });
  // A write changes what a warm fetch sees: writes are timed in rounds of their own.
  const keys = join(work, 'keys');
  mkdirSync(keys, { recursive: true });
  let writes = 0;
  const write = await interleaved(rounds, log, {
    node: [process.execPath, ['-e', '0']],
    anchorAdd: () => {
      const key = join(keys, `k${++writes}.pub.pem`);
      writeFileSync(key, generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }));
      return [process.execPath, [...cli.argv, 'anchor', 'add', scopeName(writes), '--key', key, '--server', t.url, '--token', t.token, '--json']];
    },
  });
  const n = t.scopes.toLocaleString('en-US');
  // Load moves within a run: the ratio is the median of the per-round ratios (the two runs of a round are seconds apart).
  const roundRatio = (k: number[], base: number[]) => median(k.map((ms, i) => ms / base[i]!));
  const against = (figure: string, k: number[], base: number[], goal: number | null, data: Record<string, unknown>): Row => {
    const ratio = roundRatio(k, base);
    return {
      id: 'B5',
      figure,
      value: fmtMs(median(k)),
      baseline: `node -e 0: ${fmtMs(median(base))}`,
      ratio: `${sig(ratio, 2)}×`,
      goal: goal === null ? 'report' : `≤ ${goal}× node`,
      status: goal === null ? 'info' : ratio <= goal ? 'met' : 'missed',
      data: { samplesMs: data },
    };
  };
  const s = starts;
  rows.push(against('`keyshare --version` start-to-exit time', s.version!, s.node!, 1.3, { version: s.version, node: s.node }));
  rows.push(against('`keyshare --help` start-to-exit time', s.help!, s.node!, 1.3, { help: s.help, node: s.node }));
  rows.push(against('`fetch --offline` start-to-exit time', s.offline!, s.node!, 1.5, { offline: s.offline, node: s.node }));
  rows.push(against(`warm \`fetch\` of one scope, no change, ${n} scopes`, s.warm!, s.node!, 1.5, { warm: s.warm, node: s.node }));
  rows.push(against(`cold \`fetch\` of one scope (empty cache), ${n} scopes`, s.cold!, s.node!, 2, { cold: s.cold, node: s.node }));
  rows.push(against(`\`anchor add\` (CLI write → published, the answer waits for it), ${n} scopes`, write.anchorAdd!, write.node!, 1.5, { anchorAdd: write.anchorAdd, node: write.node }));
  if (s.notary) {
    const ratio = roundRatio(s.version!, s.notary);
    rows.push({
      id: 'B5',
      figure: '`keyshare --version` against Notary v1 `notary version` (Debian)',
      value: fmtMs(median(s.version!)),
      baseline: `notary version: ${fmtMs(median(s.notary))}`,
      ratio: `${sig(ratio, 2)}×`,
      goal: 'report',
      status: 'info',
      data: { samplesMs: { version: s.version, notary: s.notary } },
    });
  }
  return { rows, note: cli.note };
}
