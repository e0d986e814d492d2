/**
 * B9's writes side by side (issue 17, ninth round): the store's commitPublish of a parent change,
 * alone, for each built copy of keyshare given, interleaved round by round. A parent change at N
 * scopes commits N document rows, N document targets (about 770 B each, as bench/lib/fixture.ts's
 * documents), a few index shards, 128 re-signed bins of 16 KB, snapshot and timestamp.
 *   npx tsx bench/b9-store.ts sqlite <data-dir of N scopes> base=/tmp/keyshare-main new=. [--rounds 4]
 *   npx tsx bench/b9-store.ts pg <N> base=/tmp/keyshare-main new=. [--rounds 4]
 * SQLite: each label commits into its own copy of the data dir's keyshare.db (bench/b9-ab.mjs
 * builds one: $TMP/keyshare-b9-ab/state-N), opened (and migrated) by that build. PostgreSQL: a
 * cluster of test/support/postgres.ts, a database per label, filled by one first commit of the N
 * documents (timed as "first"). Per round and label: CPU (user + system) and wall of the commit.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { freshDatabase, startPostgres } from '../test/support/postgres.js';

interface Store {
  commitPublish(c: unknown): Promise<void>;
  latestMetadata(role: string): Promise<{ version: number } | null>;
  listTrustDocs(): Promise<{ scope: string; version: number }[]>;
  close(): Promise<void>;
}

const args = process.argv.slice(2);
const [dialect, source] = args as ['sqlite' | 'pg', string];
const rounds = args.includes('--rounds') ? Number(args[args.indexOf('--rounds') + 1]) : 4;
const labels = args.filter((a) => a.includes('=')).map((a) => a.split('=') as [string, string]);
const work = mkdtempSync(join(tmpdir(), 'keyshare-b9-store-'));
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

/** A parent change over `scopes`, on the store's current timestamp. */
async function change(store: Store, scopes: string[], versions: Map<string, number>, now: Date) {
  const ts = (await store.latestMetadata('timestamp'))?.version ?? 0;
  const at = now.toISOString();
  const docs = scopes.map((scope) => ({ scope, version: (versions.get(scope) ?? 0) + 1, issuedAt: at, digest: randomBytes(32).toString('hex'), deleted: false }));
  for (const d of docs) versions.set(d.scope, d.version);
  const targets = docs.map((d) => {
    const bytes = Buffer.from(`{"scope":"${d.scope}","version":${d.version},"issuedAt":"${at}","anchors":["${randomBytes(520).toString('base64')}"]}`);
    return { sha256: sha(bytes), path: d.scope === '*' ? 'trust/_default.json' : `trust/${d.scope}.json`, bytes };
  });
  for (let i = 0; i < 8; i++) {
    const bytes = randomBytes(8 * 1024);
    targets.push({ sha256: sha(bytes), path: `index/${i.toString(16)}.json`, bytes });
  }
  const metadata = Array.from({ length: 128 }, (_, i) => ({ role: `bin-${i.toString(16).padStart(2, '0')}`, version: ts + 1, bytes: randomBytes(16 * 1024), expires: at }));
  metadata.push({ role: 'snapshot', version: ts + 1, bytes: randomBytes(20 * 1024), expires: at }, { role: 'timestamp', version: ts + 1, bytes: randomBytes(400), expires: at });
  return { upToSeq: 0, docs, targets, metadata, publishedAt: at, baseTimestampVersion: ts };
}

async function timed(store: Store, commit: unknown) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await store.commitPublish(commit);
  const c = process.cpuUsage(c0);
  return { cpu: (c.user + c.system) / 1000, wall: performance.now() - t0 };
}

const cluster = dialect === 'pg' ? await startPostgres() : null;
try {
  const stores = new Map<string, { store: Store; scopes: string[]; versions: Map<string, number> }>();
  for (const [label, dir] of labels) {
    const dist = (p: string) => import(pathToFileURL(join(resolve(dir), 'dist/service/store', p)).href);
    let store: Store;
    let scopes: string[];
    if (dialect === 'sqlite') {
      const file = join(work, `${label}.db`);
      cpSync(join(source, 'keyshare.db'), file);
      store = (await dist('index.js')).SqliteStore.open(file);
      scopes = (await store.listTrustDocs()).map((d) => d.scope);
    } else {
      store = await (await dist('pg/store.js')).PgStore.open(await freshDatabase(cluster!));
      scopes = Array.from({ length: Number(source) }, (_, i) => `r${i}.bench.example`);
    }
    const versions = new Map((await store.listTrustDocs()).map((d) => [d.scope, d.version]));
    if (dialect === 'pg') {
      await store.commitPublish({ upToSeq: 0, docs: [], targets: [], metadata: [{ role: 'timestamp', version: 1, bytes: Buffer.from('{}'), expires: new Date().toISOString() }], publishedAt: new Date().toISOString(), baseTimestampVersion: 0 });
      const first = await timed(store, await change(store, scopes, versions, new Date()));
      console.log(`${label} first: cpu ${first.cpu.toFixed(0)} ms, wall ${first.wall.toFixed(0)} ms`);
    }
    stores.set(label, { store, scopes, versions });
  }
  const results = new Map(labels.map(([l]) => [l, [] as { cpu: number; wall: number }[]]));
  for (let r = 0; r < rounds; r++) {
    for (const [label] of r % 2 ? [...labels].reverse() : labels) {
      const s = stores.get(label)!;
      const commit = await change(s.store, s.scopes, s.versions, new Date(Date.now() + r * 1000));
      const t = await timed(s.store, commit);
      results.get(label)!.push(t);
      console.log(`${label} round ${r + 1}: cpu ${t.cpu.toFixed(0)} ms, wall ${t.wall.toFixed(0)} ms (${s.scopes.length} documents)`);
      // The deferred WAL checkpoint (within SHARED_CHECKPOINT_MS, and on a thread of its own since the eleventh round) runs here, outside the timing.
      await new Promise((z) => setTimeout(z, 1300));
    }
  }
  for (const [label, rs] of results) console.log(`${label}: cpu p50 ${median(rs.map((x) => x.cpu)).toFixed(0)} ms, wall p50 ${median(rs.map((x) => x.wall)).toFixed(0)} ms (${rs.length} commits)`);
  for (const { store } of stores.values()) await store.close();
} finally {
  await cluster?.stop();
  rmSync(work, { recursive: true, force: true });
}
