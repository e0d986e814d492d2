/**
 * `npm run bench`: measures keyshare against baselines measured in the same run (issue 9).
 *
 *   npm run bench                 full run: 1k / 10k / 100k scopes (at most 15 minutes)
 *   npm run bench -- --quick      about 2 minutes: 500 / 2k / 5k scopes, fewer and shorter rounds
 *   npm run bench -- --only B1,B5 some figures only (docs/BENCHMARKS.md is then left alone)
 *   npm run bench -- --keep       keep the work dir (data dirs, bundles) for a look afterwards
 *
 * Every figure is a ratio against a baseline measured in this run, or a count: these machines
 * are shared and noisy. Load comes from a separate process (wrk when installed, else
 * autocannon); the service and each baseline run in processes of their own. Prints a table,
 * writes bench/results/latest.json and the results block of docs/BENCHMARKS.md.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildState, keyPool, scopeName, singleChange, type BenchState, type SingleChange } from './lib/fixture.js';
import { loadTool } from './lib/load.js';
import { run, startService, type Child } from './lib/proc.js';
import { benchRead, benchRss } from './lib/read.js';
import { benchPublish } from './lib/publish.js';
import { benchClient, cliCommand } from './lib/client.js';
import { benchChain } from './lib/chain.js';
import { benchBundle } from './lib/bundle.js';
import { benchCa } from './lib/ca.js';
import { benchApplyCli } from './lib/apply-cli.js';
import { benchParent } from './lib/parent.js';
import { benchNotary } from './lib/notary.js';
import { benchTlog } from './lib/tlog.js';
import { gitCommit, machine, printTable, updateDocs, writeJson, type Row } from './lib/report.js';
import { fmtBytes, fmtMs, median } from './lib/stats.js';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const keep = argv.includes('--keep');
const onlyArg = argv.find((a) => a.startsWith('--only'));
const only = onlyArg ? new Set((onlyArg.includes('=') ? onlyArg.split('=')[1]! : argv[argv.indexOf(onlyArg) + 1]!).split(',').map((s) => s.trim().toUpperCase())) : null;
const want = (id: string) => !only || only.has(id);

const P = quick
  ? { sizes: [500, 2_000, 5_000], read: { seconds: 2, rounds: 4, warmupSeconds: 1, connections: 32 }, publishIterations: 12, publishWarmup: 2, startRounds: 7, revocations: 5, bundleRounds: 1, bundleIndex: 1, parentRounds: 3 }
  : { sizes: [1_000, 10_000, 100_000], read: { seconds: 3, rounds: 8, warmupSeconds: 2, connections: 32 }, publishIterations: 30, publishWarmup: 3, startRounds: 11, revocations: 20, bundleRounds: 3, bundleIndex: 1, parentRounds: 5 };
const POLL_MS = 10_000;

const started = performance.now();

/** How busy the machine is, as the median start-to-exit time of `node -e 0` (absolute figures, B4 and B2's p50, move with it). */
async function nodeStartMs(): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 5; i++) times.push((await run(process.execPath, ['-e', '0'])).ms);
  return median(times);
}
const busyAtStart = await nodeStartMs();
const log = (s: string) => process.stderr.write(`[${Math.round((performance.now() - started) / 1000)}s] ${s}\n`);
const rows: Row[] = [];
const notes: string[] = [];

/** A figure that failed to run is reported as not measured, with its error; the others go on. */
async function step(id: string, f: () => Promise<Row[]>): Promise<void> {
  if (!want(id)) return;
  log(`${id} ...`);
  try {
    rows.push(...(await f()));
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    log(`${id} failed: ${msg}`);
    rows.push({ id, figure: '(failed)', value: msg.slice(0, 200), baseline: '-', ratio: '-', goal: '-', status: 'not measured' });
  }
}

const work = mkdtempSync(join(tmpdir(), 'keyshare-bench-'));
const load = await loadTool();
// The built CLI (what `npm start` runs) when dist/ is current; else everything runs through tsx.
const cli = cliCommand();
if (cli.note) notes.push(cli.note + '.');
let nginxNote: string | null = null;
log(`work dir ${work}; load generator ${load.name}; ${quick ? 'quick' : 'full'} run`);
try {
  const keys = keyPool(64);
  const states: BenchState[] = [];
  const needStates = !only || ['B1', 'B2', 'B3', 'B5', 'B7', 'B8', 'B9'].some((b) => only.has(b));
  if (needStates) {
    for (const n of P.sizes) {
      log(`building ${n} scopes (one apply)`);
      states.push(await buildState(join(work, `s${n}`), n, keys));
    }
  }
  const largest = states[states.length - 1];

  // B4 (issue 17): through the CLI, a streamed file into a fresh service; the in-process applies that built the states are info.
  await step('B4', async () => {
    const n = P.sizes[P.sizes.length - 1]!;
    const rows = await benchApplyCli(join(work, 'b4'), n, keys, cli, log);
    for (const s of states) {
      rows.push({
        id: 'B4',
        figure: `in-process apply of ${s.scopes.toLocaleString('en-US')} scopes (TrustService, no HTTP), one anchor each`,
        value: `${Math.round(s.apply.scopesPerSecond)} scopes/s (${fmtMs(s.apply.ms)}, ${s.apply.versionsPublished} version${s.apply.versionsPublished === 1 ? '' : 's'} published)`,
        baseline: 'scopes per second',
        ratio: '-',
        goal: '-',
        status: 'info',
        data: { ...s.apply, scopes: s.scopes },
      });
    }
    return rows;
  });

  await step('B3', async () => {
    const changes: [BenchState, SingleChange][] = [];
    for (const s of states) changes.push([s, await singleChange(s.dataDir, scopeName(Math.floor(s.scopes / 2)))]);
    const last = changes[changes.length - 1]![1];
    // Issue 17: at most two bins (the document's, and its index shard's among the shards' own bins:
    // service/repo/index-bins.ts), snapshot and timestamp, at every size; ≤ 64 KiB written at the largest.
    const kinds = (c: SingleChange) => c.rolesSigned.filter((r) => r !== 'snapshot' && r !== 'timestamp');
    const bounded = (c: SingleChange) => kinds(c).length <= 2 && kinds(c).every((r) => /^(shards-)?bin-/.test(r)) && c.rolesSigned.includes('snapshot') && c.rolesSigned.includes('timestamp');
    return changes.map(([s, c]) => {
      const isLast = c === last;
      const met = changes.every(([, x]) => bounded(x)) && last.bytesWritten <= 64 * 1024;
      return {
        id: 'B3',
        figure: `one change at ${s.scopes.toLocaleString('en-US')} scopes: roles re-signed, bytes written`,
        value: `${c.rolesSigned.length} roles (${c.rolesSigned.map((r) => (r.startsWith('bin-') ? 'bin' : r.startsWith('shards-bin-') ? 'shard bin' : r)).join(', ')}), ${fmtBytes(c.bytesWritten)}`,
        baseline: 'none (a count)',
        ratio: `of which snapshot ${fmtBytes(c.snapshotBytes)}; rest ${fmtBytes(c.bytesWritten - c.snapshotBytes)}`,
        goal: isLast ? '≤ 64 KiB; ≤ 2 bins + snapshot + timestamp' : '-',
        status: isLast ? (met ? 'met' : 'missed') : 'info',
        data: { ...c },
      };
    });
  });

  await step('B1', async () => {
    const r = await benchRead(states[0]!.dataDir, join(work, 'b1'), load, P.read, cli.built, log);
    nginxNote = r.nginx;
    return r.rows;
  });

  // B2, B8 and B5 share one service per scope count, running side by side.
  if (['B2', 'B5', 'B8', 'B9'].some(want)) {
    log('starting one service per scope count');
    const servers: Child[] = [];
    try {
      for (const s of states) servers.push(await startService({ data: s.dataDir }, cli.built));
      const url = (i: number) => servers[i]!.ready.url as string;
      await step('B2', () =>
        benchPublish(
          states.map((s, i) => ({ scopes: s.scopes, url: url(i), token: s.token })),
          P.publishIterations,
          P.publishWarmup,
          log,
        ),
      );
      await step('B8', () => benchRss(servers[servers.length - 1]!, largest!.scopes, load, P.read));
      await step('B5', async () => {
        const ends = [0, states.length - 1];
        const r = await benchClient(ends.map((i) => ({ scopes: states[i]!.scopes, url: url(i), rootPath: states[i]!.rootPath, token: states[i]!.token })), join(work, 'b5'), P.startRounds, log);
        return r.rows;
      });
      // Last on these services: it adds a parent scope to each.
      const bigger = P.sizes.length > 1 ? states.slice(1) : states;
      await step('B9', () => benchParent(bigger.map((s) => ({ scopes: s.scopes, url: url(states.indexOf(s)), token: s.token })), P.parentRounds, keys[0]!, log));
    } finally {
      for (const s of servers) await s.stop();
    }
  }

  await step('B6', () => benchChain(join(work, 'b6'), P.revocations, POLL_MS, log));

  await step('B7', () =>
    benchBundle(
      { scopes: states[0]!.scopes, dataDir: states[0]!.dataDir, rootPath: states[0]!.rootPath },
      { scopes: states[P.bundleIndex]!.scopes, dataDir: states[P.bundleIndex]!.dataDir, rootPath: states[P.bundleIndex]!.rootPath },
      join(work, 'b7'),
      P.bundleRounds,
      log,
    ),
  );

  await step('B11', () => benchCa(join(work, 'b11'), quick ? 50 : 200, cli.built, log));

  await step('B10', () => benchNotary(join(work, 'b10'), P.startRounds, load, P.read, log));

  await step('B12', () => benchTlog(join(work, 'b12'), quick, log));
} finally {
  await load.close();
  if (!keep) rmSync(work, { recursive: true, force: true });
}

const busyAtEnd = await nodeStartMs();
notes.unshift(
  `How busy the machine was: \`node -e 0\` took ${fmtMs(busyAtStart)} at the start of the run and ${fmtMs(busyAtEnd)} at the end (median of 5). ` +
    'Ratios against a baseline of the same run hold across such changes; absolute figures (B4 scopes/s, B2 p50) do not.',
);
const seconds = (performance.now() - started) / 1000;
if (quick) notes.unshift(`Quick run: ${P.sizes.join(' / ')} scopes instead of 1k / 10k / 100k, ${P.read.rounds} rounds of ${P.read.seconds} s for B1, ${P.publishIterations} writes per size for B2; the goals are stated for the full run's sizes.`);
notes.push(`B1: ${P.read.connections} keep-alive connections, ${P.read.rounds} rounds of ${P.read.seconds} s after a ${P.read.warmupSeconds} s warm-up per subject, subjects interleaved (rotating order); req/s are medians, ratios the median of the per-round ratios.`);
notes.push('B2: the write is a key revocation at one leaf scope over the admin API; latency runs from sending it to the first GET of /tuf/timestamp.json that shows the new version. The services of every size run side by side and the writes alternate between them.');
const info = { date: new Date().toISOString().slice(0, 10), mode: (quick ? 'quick' : 'full') as 'quick' | 'full', seconds, git: gitCommit(), machine: machine(load.name, nginxNote), sizes: P.sizes, notes };
printTable(rows);
const json = writeJson(info, rows);
log(`wrote ${json}`);
if (!only) log(`updated ${updateDocs(info, rows)}`);
log(`done in ${Math.round(seconds)} s`);
