/**
 * B10's service side (issue 25, eighth round): the service's CPU for one `anchor add` over HTTP, for
 * each built copy of keyshare given, interleaved run by run. A data dir of N scopes (one anchor
 * each, bench/lib/fixture.ts's shape) is built once by the first copy; each run opens a fresh copy
 * of it in a child process, serves it on 127.0.0.1 as `keyshare serve` does (startServer), sends
 * `--warm` writes (not counted: the first anchor loads the parsers), then `--writes` POSTs of
 * /api/v1/scopes/rI.bench.example/anchors, each a new Ed25519 key as the CLI sends it, one at a
 * time. Per write: CPU (process.cpuUsage, user + system) of the process from the request sent to
 * the answer read (the answer comes after the version is published and served), its wall time,
 * `after`: the CPU of a 200 ms pause after it (deferred work), and that of a GET /healthz (any request's cost, the client's included).
 *   node bench/b10-service-ab.mjs 100 base=/tmp/w25-base new=. --runs 4 --writes 20 [--prof]
 * A label may name node flags for its runs after `@`. Each directory must hold a build.
 */
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { pathToFileURL } from 'node:url';
import { abTargets, median, runInterleaved, scopesTemplate } from './lib/ab.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : dflt);
const work = `${tmpdir()}/keyshare-b10-service-ab`;

const post = (url, path, token, body, method = 'POST') =>
  new Promise((ok, fail) => {
    const data = body === null ? '' : JSON.stringify(body);
    const req = request(`${url}${path}`, { method, agent: false, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => (res.statusCode === 201 || res.statusCode === 200 ? ok(JSON.parse(Buffer.concat(chunks).toString())) : fail(new Error(`${res.statusCode} ${Buffer.concat(chunks)}`))));
    });
    req.on('error', fail);
    req.end(data);
  });

if (args[0] === '--child') {
  // node b10-service-ab.mjs --child <dir> <data> <n> <warm> <writes>
  const [, dir, data, n, warm, writes] = args;
  const { openInstance } = await import(pathToFileURL(`${dir}/dist/service/instance.js`).href);
  const { startServer } = await import(pathToFileURL(`${dir}/dist/service/server.js`).href);
  const instance = await openInstance({ dataDir: data });
  const server = await startServer(instance, '127.0.0.1:0', () => {}, { staticDir: null });
  const token = readFileSync(`${data}/admin.token`, 'utf8').trim();
  const keys = Array.from({ length: Number(warm) + Number(writes) }, () => generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString());
  const out = [];
  // --prof: the writes after the warm ones, profiled with the inspector (start-up left out).
  const session = process.env.B10_PROF ? new (await import('node:inspector')).Session() : null;
  const inspect = (method, params) => new Promise((ok, fail) => session.post(method, params, (e, r) => (e ? fail(e) : ok(r))));
  for (let i = 0; i < keys.length; i++) {
    if (session && i === Number(warm)) { session.connect(); await inspect('Profiler.enable'); await inspect('Profiler.setSamplingInterval', { interval: 250 }); await inspect('Profiler.start'); }
    const scope = `r${i % Number(n)}.bench.example`;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const r = await post(server.url, `/api/v1/scopes/${encodeURIComponent(scope)}/anchors`, token, { publicKey: keys[i], encoding: 'text' });
    const wall = performance.now() - t0;
    const c = process.cpuUsage(c0);
    if (!r.published) throw new Error('not published');
    // The same round trip to GET /healthz: what any request costs this process (the client's side included).
    const h0 = process.cpuUsage();
    await post(server.url, '/healthz', token, null, 'GET');
    const h = process.cpuUsage(h0);
    const a0 = process.cpuUsage();
    await new Promise((z) => setTimeout(z, 200));
    const a = process.cpuUsage(a0);
    if (i >= Number(warm)) out.push({ wall, cpu: (c.user + c.system) / 1000, after: (a.user + a.system) / 1000, health: (h.user + h.system) / 1000 });
  }
  if (session) writeFileSync(process.env.B10_PROF, JSON.stringify((await inspect('Profiler.stop')).profile));
  await server.close();
  await instance.close();
  process.stdout.write(JSON.stringify(out));
  process.exit(0);
}

const n = Number(args[0]);
const runs = opt('--runs', 2);
const writes = opt('--writes', 20);
const warm = opt('--warm', 3);
const prof = args.includes('--prof');
const targets = abTargets(args.slice(1));
const template = await scopesTemplate(work, n, targets[0][1], 8);
const all = runInterleaved({
  runs,
  targets,
  work,
  template,
  child: ({ label, dir, flags, data, run }) => ({
    args: [...flags, new URL(import.meta.url).pathname, '--child', dir, data, String(n), String(warm), String(writes)],
    env: prof ? { ...process.env, B10_PROF: `${work}/prof-${label}-${run}.cpuprofile` } : process.env,
  }),
  report: (label, run, res) =>
    console.log(`${label} run ${run}: cpu p50 ${median(res.map((x) => x.cpu)).toFixed(1)} ms, wall p50 ${median(res.map((x) => x.wall)).toFixed(1)} ms, after p50 ${median(res.map((x) => x.after)).toFixed(1)} ms, GET /healthz p50 ${median(res.map((x) => x.health)).toFixed(1)} ms  [cpu ${res.map((x) => x.cpu.toFixed(0)).join(' ')}]`),
});
for (const [label, res] of all) console.log(`${label} n=${n} all: cpu p50 ${median(res.map((x) => x.cpu)).toFixed(1)} ms, wall p50 ${median(res.map((x) => x.wall)).toFixed(1)} ms, after p50 ${median(res.map((x) => x.after)).toFixed(1)} ms, GET /healthz p50 ${median(res.map((x) => x.health)).toFixed(1)} ms (${res.length} writes)`);
