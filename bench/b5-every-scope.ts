/**
 * Bench B5, second goal (issue 17): a cold fetch of every scope at N scopes downloads at most
 * 1.3× the sum of the documents' own sizes. Serves a state of the bench (bench/b3-bytes.ts
 * builds one) with the built CLI, fetches every scope with an empty cache through a fetcher
 * that counts each response's bytes, and prints the bytes by kind (documents, index shards,
 * metadata) and the ratio, the wall and CPU time of the client and the service's CPU time, then
 * the same for a warm fetch (nothing changed) with that cache. Since the ninth round the client
 * lists the scopes from the verified bins (sync/client/every-scope.ts) and reads no shard.
 *
 *   npx tsx bench/b5-every-scope.ts <data-dir>
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootPath } from '../service/instance.js';
import { fetchTrust } from '../sync/client/index.js';
import { HttpFetcher } from '../sync/client/fetcher.js';
import { startService } from './lib/proc.js';

const dataDir = process.argv[2];
if (!dataDir) throw new Error('usage: npx tsx bench/b5-every-scope.ts <data-dir>');

/** Bytes and requests by kind of file: documents (targets/trust/), shards (targets/index/), the rest. */
class CountingFetcher extends HttpFetcher {
  readonly by = new Map<string, { bytes: number; requests: number }>();
  protected override async bytes(url: string, maxLength: number): Promise<Buffer> {
    const body = await super.bytes(url, maxLength);
    const path = new URL(url).pathname;
    const kind = path.startsWith('/tuf/targets/trust/') ? 'documents' : path.startsWith('/tuf/targets/index/') ? 'index shards' : path.startsWith('/tuf/targets/') ? 'other targets' : path.startsWith('/log/') ? 'log' : 'metadata';
    const c = this.by.get(kind) ?? { bytes: 0, requests: 0 };
    c.bytes += body.length;
    c.requests++;
    this.by.set(kind, c);
    return body;
  }
}

/** A process's CPU time in ms (user + system, /proc/{pid}/stat; clock ticks of 10 ms). */
const cpuOf = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
};
const clientCpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

const service = await startService({ data: dataDir }, true);
try {
  const cache = mkdtempSync(join(tmpdir(), 'keyshare-b5-cache-'));
  for (const run of ['cold', 'warm']) {
    const fetcher = new CountingFetcher();
    const [t0, c0, s0] = [performance.now(), clientCpu(), cpuOf(service.pid)];
    const r = await fetchTrust({ server: service.ready.url as string, root: rootPath(dataDir), cache, fetcher });
    const [ms, cpu, serviceCpu] = [performance.now() - t0, clientCpu() - c0, cpuOf(service.pid) - s0];
    const total = [...fetcher.by.values()].reduce((a, c) => a + c.bytes, 0);
    const docs = fetcher.by.get('documents')?.bytes ?? 0;
    console.log(`${run}: ${r.documents.length} scopes fetched in ${Math.round(ms)} ms (client CPU ${Math.round(cpu)} ms, service CPU ${serviceCpu} ms)`);
    for (const [kind, c] of [...fetcher.by].sort(([, a], [, b]) => b.bytes - a.bytes)) console.log(`  ${kind}: ${c.bytes} B in ${c.requests} requests`);
    if (run === 'cold') console.log(`total ${total} B; the documents' own ${docs} B; ratio ${(total / docs).toFixed(3)} (goal ≤ 1.3)`);
  }
} finally {
  await service.stop();
}
