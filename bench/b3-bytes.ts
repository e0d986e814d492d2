/**
 * Bench B3 in detail (issue 17): where the bytes of one leaf change go, at N scopes, and the
 * least that any number of hashed bins could write with the repository's formats.
 *
 *   npx tsx bench/b3-bytes.ts 100000 [changes] [data-dir]
 *
 * Builds the bench's state (bench/lib/fixture.ts buildState: one apply of N scopes) in a
 * temporary dir, or reuses `data-dir` if it holds one, then makes `changes` scoped revocations
 * (singleChange) and prints each one's roles and bytes, the document bin, the shard bin
 * (service/repo/index-bins.ts: the shards in hashed bins of their own), snapshot, timestamp,
 * and the target files (the document and its shard). From the signed metadata it measures the
 * bytes of one snapshot entry (e_s), one document-bin entry (e_t), one shard-bin entry (e_x)
 * and one index-shard entry (e_i), and models a change at 2^b document bins and 2^m shard
 * bins: snapshot ≈ (2^b + 2^m + old bins + 3) · e_s, plus a document bin and a shard of
 * N / 2^b entries each, a shard bin of 2^b / 2^m entries, plus what depends on neither (the
 * document, the timestamp, the files' envelopes).
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openInstance } from '../service/instance.js';
import { scopeOfTrustPath, shardBytes } from '../shared/trust-index.js';
import { buildState, keyPool, scopeName, singleChange } from './lib/fixture.js';
import { SHARDS_PER_BIN_BITS } from '../service/repo/index-bins.js';

const n = Number(process.argv[2] ?? 100_000);
const changes = Number(process.argv[3] ?? 3);
const dataDir = process.argv[4] ?? join(mkdtempSync(join(tmpdir(), 'keyshare-b3-')), 'state');
const kib = (b: number) => `${(b / 1024).toFixed(1)} KiB`;

if (!existsSync(join(dataDir, 'keyshare.db'))) {
  const t0 = performance.now();
  await buildState(dataDir, n, keyPool(64));
  console.log(`built ${n} scopes in ${dataDir} (${Math.round(performance.now() - t0)} ms)`);
}

const results = [];
for (let k = 0; k < changes; k++) {
  const c = await singleChange(dataDir, scopeName(Math.floor(n / 2) + 7 * k));
  const targets = c.bytesWritten - Object.values(c.roleBytes).reduce((a, b) => a + b, 0);
  console.log(`change ${k + 1}: ${c.bytesWritten} bytes (${kib(c.bytesWritten)}): ${Object.entries(c.roleBytes).map(([r, b]) => `${r} ${b}`).join(', ')}, target files ${targets}`);
  results.push(c);
}

// Entry sizes, from the roles the last change signed.
if (results.length === 0) process.exit(0);
const instance = await openInstance({ dataDir });
try {
  const signed = (role: string) => JSON.parse(Buffer.from(instance.publisher.latestMetadata(role)!.bytes).toString('utf8'));
  const perEntry = (role: string, field: 'targets' | 'meta') => {
    const md = signed(role);
    const entries = Object.keys(md.signed[field]).length;
    const envelope = JSON.stringify({ ...md, signed: { ...md.signed, [field]: {} } }).length;
    return { entries, envelope, each: (instance.publisher.latestMetadata(role)!.bytes.length - envelope) / entries };
  };
  const last = results[results.length - 1]!;
  const docBin = last.rolesSigned.find((r) => /^bin-/.test(r));
  const shardBin = last.rolesSigned.find((r) => /^shards-bin-/.test(r));
  if (!docBin || !shardBin) throw new Error(`the change signed ${last.rolesSigned.join(', ')}: not a document bin and a shard bin`);
  const snapshot = perEntry('snapshot', 'meta');
  const bin = perEntry(docBin, 'targets');
  const sBin = perEntry(shardBin, 'targets');
  const listed = Object.keys(signed(docBin).signed.targets).map(scopeOfTrustPath).filter((s): s is string => s !== null);
  const shard = shardBytes(listed.map((s) => [s, 1] as const));
  const shardHeader = shardBytes([]).length;
  const eI = (shard.length - shardHeader) / listed.length;
  const bits: number = signed('trust').signed.delegations.succinct_roles.bit_length;
  const shardBits = signed('shards').signed.delegations.succinct_roles.bit_length;
  // Every other snapshot entry: targets, trust, shards, and bins of earlier (smaller) layouts.
  const others = snapshot.entries - 2 ** bits - 2 ** shardBits;
  const document = last.bytesWritten - Object.values(last.roleBytes).reduce((a, b) => a + b, 0) - shard.length;
  const common = last.roleBytes.timestamp! + snapshot.envelope + document + bin.envelope + sBin.envelope + shardHeader;
  /** A change at 2^b document bins and 2^m shard bins. */
  const model = (b: number, m: number) => (2 ** b + 2 ** m + others) * snapshot.each + (n / 2 ** b) * (bin.each + eI) + (2 ** b / 2 ** m) * sBin.each + common;
  const mean = results.reduce((a, c) => a + c.bytesWritten, 0) / results.length;
  console.log(`bins: ${2 ** bits} document bins, ${2 ** shardBits} shard bins; entries: snapshot ${snapshot.each.toFixed(1)} B (${snapshot.entries}), document bin ${bin.each.toFixed(1)} B (${bin.entries}), shard bin ${sBin.each.toFixed(1)} B (${sBin.entries}), shard ${eI.toFixed(1)} B; document ${document} B, timestamp ${last.roleBytes.timestamp} B`);
  console.log(`measured mean ${kib(mean)}, max ${kib(Math.max(...results.map((c) => c.bytesWritten)))}; modelled at the current layout ${kib(model(bits, shardBits))}`);
  for (let b = bits - 1; b <= bits + 1; b++) {
    const m = Math.max(1, b - SHARDS_PER_BIN_BITS);
    const best = Math.min(...Array.from({ length: b }, (_, k) => model(b, k + 1)));
    console.log(`  ${2 ** b} document bins: ${kib(model(b, m))} with ${2 ** m} shard bins (the rule), ${kib(best)} at the best shard-bin count`);
  }
} finally {
  await instance.close();
}
