/**
 * B4 in-process (issue 17): one TrustService.apply of N scopes into a fresh data dir of a built
 * copy of keyshare, with the time of its one publish apart, and one trustStateDigest (the audit's
 * after-digest of an apply through the API). Reads the file bench/apply-ab.mjs writes.
 *   node bench/apply-phases.mjs /tmp/keyshare-main 100000
 */
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
const [dirArg, nArg] = process.argv.slice(2);
const dir = resolve(dirArg);
const n = Number(nArg);
const { initDataDir, openInstance } = await import(`${dir}/dist/service/instance.js`);
const { trustStateDigest } = await import(`${dir}/dist/service/audit/digest.js`);
const { readFileSync, rmSync } = await import('node:fs');
const file = JSON.parse(readFileSync(`${tmpdir()}/keyshare-apply-ab/trust-${n}.json`, 'utf8'));
const data = `${tmpdir()}/keyshare-apply-ab/phases-${process.pid}`;
rmSync(data, { recursive: true, force: true });
await initDataDir({ dataDir: data });
const inst = await openInstance({ dataDir: data });
const notify = inst.publisher.notify.bind(inst.publisher);
// CPU time (user + system, this process) beside wall time: on a loaded machine it is the steadier figure.
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
let pubMs = 0, pubCpu = 0;
inst.publisher.notify = async (...a) => { const t = performance.now(), c = cpu(); try { return await notify(...a); } finally { pubMs += performance.now() - t; pubCpu += cpu() - c; } };
const t0 = performance.now(), c0 = cpu();
const r = await inst.service.apply(file);
const ms = performance.now() - t0, applyCpu = cpu() - c0;
const t1 = performance.now(), c1 = cpu();
await trustStateDigest(inst.records.trust);
const dg = performance.now() - t1, dgCpu = cpu() - c1;
console.log(`${dir} n=${n} apply ${ms.toFixed(0)} ms (${(n / ms * 1000).toFixed(0)}/s; CPU ${applyCpu.toFixed(0)} ms); of it publish ${pubMs.toFixed(0)} ms (CPU ${pubCpu.toFixed(0)}); without publish ${(ms - pubMs).toFixed(0)} ms (${(n / (ms - pubMs) * 1000).toFixed(0)}/s; CPU ${(applyCpu - pubCpu).toFixed(0)}); one trustStateDigest ${dg.toFixed(0)} ms (CPU ${dgCpu.toFixed(0)}); created ${r.summary.scopesCreated.length}`);
await inst.close();
rmSync(data, { recursive: true, force: true });
