/**
 * B9 phase by phase (issue 17, ninth round): the CPU of a parent change at N scopes, in process,
 * with the publish's parts wrapped (recompute of the documents, the store's commit, the index
 * shards, snapshot and timestamp; "rest" is the grouping into bins and the bins' signing). Uses
 * the state bench/b9-ab.mjs builds ($TMP/keyshare-b9-ab/state-N; run that first).
 *   node bench/b9-phases.mjs <built keyshare dir> [N] [changes]
 */
import { pathToFileURL } from 'node:url';
import { cpSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';

const dir = resolve(process.argv[2] ?? '.');
const n = Number(process.argv[3] ?? 10000);
const changes = Number(process.argv[4] ?? 3);
const data = `${tmpdir()}/keyshare-b9-ab/phases`;
rmSync(data, { recursive: true, force: true });
cpSync(`${tmpdir()}/keyshare-b9-ab/state-${n}`, data, { recursive: true });
const mod = (p) => import(pathToFileURL(`${dir}/dist/service/${p}`).href);
const { openInstance } = await mod('instance.js');
const { TrustDocuments } = await mod('repo/trust-docs.js');
const { IndexShards } = await mod('repo/index-shards.js');
const { Publisher } = await mod('repo/publisher.js');
const cpu = () => { const c = process.cpuUsage(); return (c.user + c.system) / 1000; };
const acc = {};
const wrap = (obj, name, label) => {
  const f = obj[name];
  obj[name] = function (...a) {
    const c0 = cpu();
    const done = () => { acc[label] = (acc[label] ?? 0) + cpu() - c0; };
    const r = f.apply(this, a);
    if (r && typeof r.then === 'function') return r.finally(done);
    done();
    return r;
  };
};
wrap(Publisher.prototype, 'publish', 'publish');
wrap(TrustDocuments.prototype, 'recompute', 'recompute');
wrap(IndexShards.prototype, 'filesFor', 'shards');
wrap(Publisher.prototype, 'snapshotAndTimestamp', 'snapshot+timestamp');
const instance = await openInstance({ dataDir: data });
wrap(instance.store, 'commitPublish', 'commit');
for (const m of ['listAnchors', 'getTrustDocs']) wrap(instance.store, m, `read.${m}`);
const publicKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
await instance.service.createScope({ scope: '*.bench.example' });
for (const k in acc) delete acc[k];
let total = 0;
const timed = async (fn) => { const c0 = cpu(); const r = await fn(); total += cpu() - c0; await new Promise((z) => setTimeout(z, 300)); return r; };
for (let i = 0; i < changes; i++) {
  const r = await timed(() => instance.service.addAnchor('*.bench.example', { publicKey, name: 'p' }));
  await timed(() => instance.service.removeAnchor('*.bench.example', r.anchor.id));
}
const per = (v) => (v / (2 * changes)).toFixed(0);
const rest = acc.publish - acc.recompute - (acc.commit ?? 0) - (acc.shards ?? 0) - (acc['snapshot+timestamp'] ?? 0);
console.log(`per change CPU ms (${dir}): change ${per(total)}, ${Object.entries(acc).map(([k, v]) => `${k} ${per(v)}`).join(', ')}, rest of publish (bins) ${per(rest)}`);
await instance.close();
