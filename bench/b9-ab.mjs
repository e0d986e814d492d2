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
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : dflt);
const work = `${tmpdir()}/keyshare-b9-ab`;

const key = () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();

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
    // A pause after each change, as between two admin writes: what the service does once the
    // version is served (e.g. a deferred WAL checkpoint) is measured there, as `after`.
    const a0 = process.cpuUsage();
    await new Promise((z) => setTimeout(z, 300));
    const a = process.cpuUsage(a0);
    out.push({ wall, cpu: (c.user + c.system) / 1000, after: (a.user + a.system) / 1000, docs: r.published?.documentsChanged ?? 0 });
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
const targets = args.slice(1).filter((a) => a.includes('=')).map((a) => { const [label, rest] = a.split(/=(.*)/s); const [dir, ...flags] = rest.split('@'); return [label, resolve(dir), flags]; });
mkdirSync(work, { recursive: true });
const template = `${work}/state-${n}`;
if (!existsSync(`${template}/done`)) {
  rmSync(template, { recursive: true, force: true });
  const dir = targets[0][1];
  const { initDataDir, openInstance } = await import(pathToFileURL(`${dir}/dist/service/instance.js`).href);
  await initDataDir({ dataDir: template });
  const instance = await openInstance({ dataDir: template });
  const keys = Array.from({ length: 64 }, key);
  await instance.service.apply({ scopes: Array.from({ length: n }, (_, i) => ({ scope: `r${i}.bench.example`, anchors: [{ publicKey: keys[i % 64], name: `key-${i % 64}` }] })) });
  await instance.close();
  writeFileSync(`${template}/done`, '');
}
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const all = new Map(targets.map(([l]) => [l, []]));
for (let r = 0; r < runs; r++) {
  for (const [label, dir, flags] of r % 2 ? [...targets].reverse() : targets) {
    const data = `${work}/run-${label}`;
    rmSync(data, { recursive: true, force: true });
    cpSync(template, data, { recursive: true });
    const pa = prof ? ['--cpu-prof', '--cpu-prof-dir', `${work}/prof-${label}`] : [];
    const p = spawnSync(process.execPath, [...pa, ...flags, '--max-old-space-size=4096', new URL(import.meta.url).pathname, '--child', dir, data, String(changes)], { encoding: 'utf8', maxBuffer: 1 << 24 });
    if (p.status !== 0) { console.error(p.stderr); process.exit(1); }
    const res = JSON.parse(p.stdout);
    all.get(label).push(...res);
    console.log(`${label} run ${r + 1}: cpu p50 ${median(res.map((x) => x.cpu)).toFixed(0)} ms, wall p50 ${median(res.map((x) => x.wall)).toFixed(0)} ms, cpu after p50 ${median(res.map((x) => x.after)).toFixed(0)} ms, docs ${res.map((x) => x.docs).join(',')}  [cpu ${res.map((x) => x.cpu.toFixed(0)).join(' ')}] [wall ${res.map((x) => x.wall.toFixed(0)).join(' ')}]`);
  }
}
for (const [label, res] of all) console.log(`${label} n=${n} all: cpu p50 ${median(res.map((x) => x.cpu)).toFixed(0)} ms, wall p50 ${median(res.map((x) => x.wall)).toFixed(0)} ms, cpu after p50 ${median(res.map((x) => x.after)).toFixed(0)} ms (${res.length} changes)`);
