/**
 * B9 side by side (issue 17, eighth round): a change at a parent of N scopes, in process, for each
 * built copy of keyshare given, interleaved run by run. A data dir of N scopes (one anchor each,
 * bench/lib/fixture.ts's shape: one apply) is built once by the first copy; each run opens a fresh
 * copy of it in a child process, creates `*.bench.example` (not timed), then adds and removes an
 * anchor there `--changes` times: each change re-publishes all N+1 documents. Per change: wall and
 * CPU (process.cpuUsage, user + system) of TrustService.addAnchor/removeAnchor, which return when
 * the publish has landed and is served.
 *   node bench/b9-ab.mjs 10000 base=/tmp/keyshare-main new=. --runs 2 --changes 6 [--prof]
 * A label may name node flags for its runs after `@`: `semi=.@--max-semi-space-size=32`.
 * Each directory must hold a build (`npm run build`). Work files go to $TMP/keyshare-b9-ab.
 */
import { tmpdir } from 'node:os';
import { pathToFileURL } from 'node:url';
import { abTargets, ecKey as key, median, runInterleaved, scopesTemplate } from './lib/ab.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : dflt);
const work = `${tmpdir()}/keyshare-b9-ab`;

if (args[0] === '--child') {
  // node b9-ab.mjs --child <dir> <data> <changes>
  const [, dir, data, changes] = args;
  const { openInstance } = await import(pathToFileURL(`${dir}/dist/service/instance.js`).href);
  const instance = await openInstance({ dataDir: data });
  const parent = '*.bench.example';
  await instance.service.createScope({ scope: parent });
  const publicKey = key();
  const out = [];
  const timed = async (fn) => {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const r = await fn();
    const wall = performance.now() - t0;
    const c = process.cpuUsage(c0);
    // How long the event loop stays busy once the version is served (a checkpoint on the
    // connection's thread blocked it: the next write or read waited; eleventh round).
    const b0 = performance.now();
    await new Promise((z) => setTimeout(z, 0));
    const blocked = performance.now() - b0;
    // A pause after each change, as between two admin writes: what the service does once the
    // version is served (e.g. a deferred WAL checkpoint) is measured there, as `after`.
    const a0 = process.cpuUsage();
    await new Promise((z) => setTimeout(z, 300));
    const a = process.cpuUsage(a0);
    out.push({ wall, blocked, cpu: (c.user + c.system) / 1000, after: (a.user + a.system) / 1000, docs: r.published?.documentsChanged ?? 0 });
    return r;
  };
  for (let i = 0; i < Number(changes); i++) {
    const r = await timed(() => instance.service.addAnchor(parent, { publicKey, name: 'parent' }));
    await timed(() => instance.service.removeAnchor(parent, r.anchor.id));
  }
  await instance.close();
  process.stdout.write(JSON.stringify(out));
  process.exit(0);
}

const n = Number(args[0]);
const runs = opt('--runs', 2);
const changes = opt('--changes', 3);
const prof = args.includes('--prof');
const targets = abTargets(args.slice(1));
const template = await scopesTemplate(work, n, targets[0][1], 64);
const all = runInterleaved({
  runs,
  targets,
  work,
  template,
  child: ({ label, dir, flags, data }) => {
    const pa = prof ? ['--cpu-prof', '--cpu-prof-dir', `${work}/prof-${label}`] : [];
    return { args: [...pa, ...flags, '--max-old-space-size=4096', new URL(import.meta.url).pathname, '--child', dir, data, String(changes)] };
  },
  report: (label, run, res) =>
    console.log(`${label} run ${run}: cpu p50 ${median(res.map((x) => x.cpu)).toFixed(0)} ms, wall p50 ${median(res.map((x) => x.wall)).toFixed(0)} ms, cpu after p50 ${median(res.map((x) => x.after)).toFixed(0)} ms, blocked after p50 ${median(res.map((x) => x.blocked)).toFixed(0)} ms, docs ${res.map((x) => x.docs).join(',')}  [cpu ${res.map((x) => x.cpu.toFixed(0)).join(' ')}] [wall ${res.map((x) => x.wall.toFixed(0)).join(' ')}]`),
});
for (const [label, res] of all) console.log(`${label} n=${n} all: cpu p50 ${median(res.map((x) => x.cpu)).toFixed(0)} ms, wall p50 ${median(res.map((x) => x.wall)).toFixed(0)} ms, cpu after p50 ${median(res.map((x) => x.after)).toFixed(0)} ms, blocked after p50 ${median(res.map((x) => x.blocked)).toFixed(0)} ms (${res.length} changes)`);
