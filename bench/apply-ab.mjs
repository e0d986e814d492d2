/**
 * B4 side by side (issue 17): `keyshare apply` of N scopes (one anchor each, 64 keys shared, as
 * bench/lib/fixture.ts) through the built CLI into a fresh `keyshare serve`, for each built copy
 * of keyshare given, interleaved round by round; prints time, scopes/s and versions published.
 *   node bench/apply-ab.mjs 100000 base=/tmp/keyshare-main new=. --rounds 2 [--prof]
 * --prof writes `node --cpu-prof` profiles of both processes to $TMP/keyshare-apply-ab/prof-<label>/.
 * Each directory must hold a build (`npm run build`). Work files go to $TMP/keyshare-apply-ab.
 */
import { spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { createServer } from 'node:net';
const work = `${tmpdir()}/keyshare-apply-ab`;
mkdirSync(work, { recursive: true });
const args = process.argv.slice(2);
const n = Number(args[0]);
const prof = args.includes('--prof');
const rounds = args.includes('--rounds') ? Number(args[args.indexOf('--rounds') + 1]) : 1;
const targets = args.slice(1).filter((a) => a.includes('=')).map((a) => { const [label, dir] = a.split('='); return [label, resolve(dir)]; });
const file = `${work}/trust-${n}.json`;
if (!existsSync(file)) {
  const keys = Array.from({ length: 64 }, () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'pem' }).toString());
  writeFileSync(file, JSON.stringify({ scopes: Array.from({ length: n }, (_, i) => ({ scope: `r${i}.bench.example`, anchors: [{ publicKey: keys[i % 64], name: `key-${i % 64}` }] })) }));
}
const freePort = () => new Promise((res) => { const s = createServer(); s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); }); });
const tsv = async (url) => (await (await fetch(`${url}/tuf/timestamp.json`)).json()).signed.version;
for (let r = 0; r < rounds; r++) for (const [label, dir] of targets) {
  const data = `${work}/data-${label}`;
  rmSync(data, { recursive: true, force: true });
  spawnSync(process.execPath, [`${dir}/bin/keyshare.js`, 'init', '--data', data], { stdio: 'ignore' });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const pdir = `${work}/prof-${label}`;
  if (prof) { rmSync(pdir, { recursive: true, force: true }); mkdirSync(pdir); }
  const pa = prof ? ['--cpu-prof', '--cpu-prof-dir', `${pdir}/svc`] : [];
  const svc = spawn(process.execPath, [...pa, `${dir}/bin/keyshare.js`, 'serve', '--data', data, '--listen', `127.0.0.1:${port}`, '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; i < 300; i++) { if (await fetch(`${url}/readyz`).then((x) => x.ok, () => false)) break; await new Promise((z) => setTimeout(z, 100)); }
  const before = await tsv(url);
  const token = readFileSync(`${data}/admin.token`, 'utf8').trim();
  // CPU time of both processes (utime + stime from /proc, Linux): steadier than wall time on a loaded machine.
  const svcCpu = () => { try { const f = readFileSync(`/proc/${svc.pid}/stat`, 'utf8').split(') ')[1].split(' '); return (Number(f[11]) + Number(f[12])) * 10; } catch { return NaN; } };
  const s0 = svcCpu();
  const t0 = performance.now();
  const ca = prof ? ['--cpu-prof', '--cpu-prof-dir', `${pdir}/cli`] : [];
  const out = await new Promise((res) => { const c = spawn(process.execPath, [...ca, `${dir}/bin/keyshare.js`, 'apply', file, '--server', url, '--token', token, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] }); let o = '', e = ''; c.stdout.on('data', (d) => (o += d)); c.stderr.on('data', (d) => (e += d)); c.on('exit', (code) => res({ code, o, e })); });
  const ms = performance.now() - t0;
  const cpuMs = svcCpu() - s0;
  const after = await tsv(url);
  const created = out.code === 0 ? JSON.parse(out.o).summary.scopesCreated.length : -1;
  console.log(`${label} n=${n} ${ms.toFixed(0)} ms ${(n / (ms / 1000)).toFixed(0)} scopes/s service CPU ${cpuMs.toFixed(0)} ms versions=${after - before} created=${created} ${out.code !== 0 ? out.e.slice(0, 300) : ''}`);
  svc.kill('SIGTERM');
  await new Promise((z) => svc.once('exit', z));
}
