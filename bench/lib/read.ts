/**
 * B1: requests per second for /tuf/timestamp.json and one trust target (its consistent-snapshot
 * name, as TUF clients ask for it), against a bare node:http server sending the same bytes
 * from memory and nginx serving the --static-dir copy. Subjects are interleaved round by
 * round (the order rotates), after a warm-up; figures are medians.
 * B8: the service's RSS with the largest state published, idle and under the same load.
 */
import { mkdirSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getBytes, hashedTargetPath, waitFor } from './http.js';
import { interleavedLoad, perRoundRatio, type LoadRounds, type LoadSubject, type LoadTool } from './load.js';
import { startNginx } from './nginx.js';
import { benchDir, rssOf, startChild, startService, type Child } from './proc.js';
import type { Row } from './report.js';
import { fmtBytes, median, sig, sleep } from './stats.js';
import { scopeName } from './fixture.js';

export type ReadOptions = LoadRounds;

export async function benchRead(dataDir: string, work: string, load: LoadTool, o: ReadOptions, builtCli: boolean, log: (s: string) => void): Promise<{ rows: Row[]; nginx: string | null }> {
  const staticDir = join(work, 'static');
  const ks = await startService({ data: dataDir, staticDir }, builtCli);
  const children: { stop(): Promise<void> }[] = [ks];
  try {
    const url = ks.ready.url as string;
    const ts = await getBytes(`${url}/tuf/timestamp.json`);
    const target = await hashedTargetPath(url, `trust/${scopeName(0)}.json`);
    // The static copy is complete once its timestamp.json is the one served (written last).
    await waitFor('the static dir', () => existsSync(join(staticDir, 'timestamp.json')) && readFileSync(join(staticDir, 'timestamp.json')).equals(ts), 60_000);
    const paths = { timestamp: '/tuf/timestamp.json', target: target.urlPath };
    const filesDir = join(work, 'bare');
    mkdirSync(filesDir, { recursive: true });
    writeFileSync(join(filesDir, 'timestamp.json'), ts);
    writeFileSync(join(filesDir, 'target.json'), target.bytes);
    const bare = await startChild(join(benchDir, 'lib/bare-child.ts'), { files: { [paths.timestamp]: join(filesDir, 'timestamp.json'), [paths.target]: join(filesDir, 'target.json') } });
    children.push(bare);
    const nginx = await startNginx(staticDir, join(work, 'nginx'));
    let nginxNote: string | null = null;
    const servers: LoadSubject[] = [
      { name: 'keyshare', url },
      { name: 'node', url: bare.ready.url as string },
    ];
    if (typeof nginx === 'string') nginxNote = nginx;
    else {
      children.push(nginx);
      const served = await getBytes(`${nginx.url}${paths.target}`);
      if (!served.equals(target.bytes)) throw new Error('nginx serves other bytes than keyshare');
      servers.push({ name: 'nginx', url: nginx.url });
      nginxNote = 'nginx 1 worker, access log off, sendfile';
    }
    const subjects: LoadSubject[] = [];
    for (const [p, path] of Object.entries(paths)) for (const s of servers) subjects.push({ name: `${s.name}:${p}`, url: `${s.url}${path}` });
    const samples = await interleavedLoad(load, subjects, o, log, 'B1');
    const med = (n: string) => median(samples.get(n)!);
    const ratioOf = (a: string, b: string) => perRoundRatio(samples, a, b);
    const rows: Row[] = [];
    for (const p of Object.keys(paths)) {
      const k = med(`keyshare:${p}`);
      const n = med(`node:${p}`);
      const what = p === 'timestamp' ? '/tuf/timestamp.json' : `trust target (${fmtBytes(target.bytes.length)}, hashed name)`;
      const ratio = ratioOf(`keyshare:${p}`, `node:${p}`);
      rows.push({
        id: 'B1',
        figure: `req/s ${what}`,
        value: `${Math.round(k)} req/s`,
        baseline: `node:http ${Math.round(n)} req/s`,
        ratio: `${sig(ratio, 2)}×`,
        goal: '≥ 0.85× node',
        status: ratio >= 0.85 ? 'met' : 'missed',
        data: { samples: Object.fromEntries([...samples].filter(([key]) => key.endsWith(`:${p}`))), connections: o.connections, seconds: o.seconds, rounds: o.rounds },
      });
      if (servers.some((s) => s.name === 'nginx')) {
        const g = med(`nginx:${p}`);
        rows.push({ id: 'B1', figure: `req/s ${what}, vs nginx`, value: `${Math.round(k)} req/s`, baseline: `nginx ${Math.round(g)} req/s`, ratio: `${sig(ratioOf(`keyshare:${p}`, `nginx:${p}`), 2)}×`, goal: 'report', status: 'info' });
      }
    }
    if (typeof nginx === 'string') rows.push({ id: 'B1', figure: 'req/s vs nginx', value: '-', baseline: nginx, ratio: '-', goal: 'report', status: 'not measured' });
    return { rows, nginx: nginxNote };
  } finally {
    for (const c of children.reverse()) await c.stop();
  }
}

/** B8: RSS of a running service (already started on the largest state), idle and under B1-style load. */
export async function benchRss(server: Child, scopes: number, load: LoadTool, o: ReadOptions): Promise<Row[]> {
  const url = server.ready.url as string;
  await sleep(3000);
  const idle = rssOf(server.pid).rss;
  const target = await hashedTargetPath(url, `trust/${scopeName(Math.floor(scopes / 2))}.json`);
  let peak = idle;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peak = Math.max(peak, rssOf(server.pid).rss);
      await sleep(200);
    }
  })();
  for (const path of ['/tuf/timestamp.json', target.urlPath]) await load.run(`${url}${path}`, { seconds: o.seconds * 2, connections: o.connections });
  sampling = false;
  await sampler;
  // 300 MB, decimal: 286 MiB.
  const goal = 300e6;
  return [
    { id: 'B8', figure: `service RSS, ${scopes.toLocaleString('en-US')} scopes, idle`, value: fmtBytes(idle), baseline: 'none', ratio: '-', goal: '≤ 300 MB (286 MiB)', status: idle <= goal ? 'met' : 'missed', data: { bytes: idle } },
    { id: 'B8', figure: `service RSS, ${scopes.toLocaleString('en-US')} scopes, under B1 load (peak)`, value: fmtBytes(peak), baseline: 'none', ratio: '-', goal: '≤ 300 MB (286 MiB)', status: peak <= goal ? 'met' : 'missed', data: { bytes: peak } },
  ];
}
