/**
 * Bench B5, second goal (issue 17): a cold fetch of every scope at N scopes downloads at most
 * 1.3× the sum of the documents' own sizes. Serves a state of the bench (bench/b3-bytes.ts
 * builds one) with the built CLI, fetches every scope with an empty cache through a fetcher
 * that counts each response's bytes, and prints the bytes by kind (documents, index shards,
 * metadata) and the ratio.
 *
 *   npx tsx bench/b5-every-scope.ts <data-dir>
 */
import { mkdtempSync } from 'node:fs';
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

const service = await startService({ data: dataDir }, true);
try {
  const fetcher = new CountingFetcher();
  const t0 = performance.now();
  const r = await fetchTrust({ server: service.ready.url as string, root: rootPath(dataDir), cache: mkdtempSync(join(tmpdir(), 'keyshare-b5-cache-')), fetcher });
  const ms = performance.now() - t0;
  const total = [...fetcher.by.values()].reduce((a, c) => a + c.bytes, 0);
  const docs = fetcher.by.get('documents')?.bytes ?? 0;
  console.log(`${r.documents.length} scopes fetched in ${Math.round(ms)} ms`);
  for (const [kind, c] of [...fetcher.by].sort(([, a], [, b]) => b.bytes - a.bytes)) console.log(`  ${kind}: ${c.bytes} B in ${c.requests} requests`);
  console.log(`total ${total} B; the documents' own ${docs} B; ratio ${(total / docs).toFixed(3)} (goal ≤ 1.3)`);
} finally {
  await service.stop();
}
