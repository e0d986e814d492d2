/**
 * Bench B3 in detail (issue 17): where the bytes of one leaf change go, at N scopes, and the
 * least that any number of hashed bins could write with the repository's formats.
 *
 *   npx tsx bench/b3-bytes.ts 100000 [changes] [data-dir]
 *
 * Builds the bench's state (bench/lib/fixture.ts buildState: one apply of N scopes) in a
 * temporary dir, or reuses `data-dir` if it holds one, then makes `changes` scoped revocations
 * (singleChange) and prints each one's roles and bytes. From the signed metadata it measures
 * the bytes of one snapshot entry (e_s), one bin entry (e_t) and one index-shard entry (e_i),
 * and models a change at 2^b bins: snapshot ≈ (2^b + old bins) · e_s, plus two bins and a shard
 * of N / 2^b entries each, plus what does not depend on b (the document, the timestamp, the
 * files' envelopes); and other layouts: two that would change the contract's shards, and
 * one that keeps it (the shards listed in hashed bins of their own).
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openInstance } from '../service/instance.js';
import { scopeOfTrustPath, shardBytes } from '../shared/trust-index.js';
import { buildState, keyPool, scopeName, singleChange } from './lib/fixture.js';

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
  const bins = last.rolesSigned.filter((r) => r.startsWith('bin-'));
  const snapshot = perEntry('snapshot', 'meta');
  const bin = bins.map((b) => perEntry(b, 'targets'));
  const eT = bin.reduce((a, b) => a + b.each, 0) / bin.length;
  // A shard lists the scopes whose trust file lies in its bin: the document's bin holds them.
  const listed = Object.keys(signed(bins[0]!).signed.targets).map(scopeOfTrustPath).filter((s): s is string => s !== null);
  const shard = shardBytes(listed.map((s) => [s, 1] as const));
  const eI = (shard.length - shardBytes([]).length) / listed.length;
  const currentBins = 2 ** Math.round(Math.log2(n / (bin.reduce((a, b) => a + b.entries, 0) / bin.length)));
  const bitsNow = Math.log2(currentBins);
  const oldBins = snapshot.entries - currentBins - 2; // targets.json and trust.json are the other entries
  const shardHeader = shardBytes([]).length;
  // What does not depend on the bins: the timestamp, the snapshot's envelope, the document.
  const document = last.bytesWritten - Object.values(last.roleBytes).reduce((a, b) => a + b, 0) - shard.length;
  const common = last.roleBytes.timestamp! + snapshot.envelope + document;
  const snapshotAt = (bits: number) => (2 ** bits + oldBins + 2) * snapshot.each;
  /** A change at 2^bits bins that re-signs `bins` bins of `perScope` bytes a scope, plus `extra` bytes. */
  const model = (bits: number, bins: number, perScope: number, extra: number) => snapshotAt(bits) + (n / 2 ** bits) * perScope + bins * bin[0]!.envelope + common + extra;
  const now = (bits: number) => model(bits, 2, 2 * eT + eI, shardHeader);
  const mean = results.reduce((a, c) => a + c.bytesWritten, 0) / results.length;
  console.log(`entries: snapshot ${snapshot.each.toFixed(1)} B (${snapshot.entries}), bin ${eT.toFixed(1)} B, shard ${eI.toFixed(1)} B; document ${document} B, timestamp ${last.roleBytes.timestamp} B`);
  for (let b = bitsNow - 2; b <= bitsNow + 2; b++) console.log(`  ${2 ** b} bins: ${kib(now(b))}${b === bitsNow ? ` (the current rule; measured mean ${kib(mean)})` : ''}`);
  const best = 2 * Math.sqrt(n * snapshot.each * (2 * eT + eI)) + (oldBins + 2) * snapshot.each + 2 * bin[0]!.envelope + common + shardHeader;
  console.log(`least at any (real) number of bins: ${kib(best)}`);
  // Designs that change the contract's shards (docs/BENCHMARKS.md): one bin per change.
  const least = (f: (bits: number) => number) => kib(Math.min(...[bitsNow - 1, bitsNow, bitsNow + 1].map(f)));
  console.log(`one bin per change, the shard hashed into its documents' bin: ${least((b) => model(b, 1, eT + eI, shardHeader))}`);
  console.log(`one bin per change, versions in the bins (custom, about 24 B a target), no shard files: ${least((b) => model(b, 1, eT + 24, 0))}`);
  // Within the contract (it names target paths, not roles): the shards in a small set of hashed
  // bins of their own, under a role delegating `index/*` before "trust".
  const shardEntry = bins.map((b) => Object.entries(signed(b).signed.targets).find(([p]) => p.startsWith('index/'))).find((e) => e !== undefined);
  const eX = shardEntry ? JSON.stringify({ [shardEntry[0]]: shardEntry[1] }).length - 1 : eT;
  const shardBins = (m: number) => (2 ** m + 1) * snapshot.each + (currentBins / 2 ** m) * eX + bin[0]!.envelope;
  const bestShardBins = Math.min(...Array.from({ length: bitsNow + 1 }, (_, m) => shardBins(m)));
  console.log(`the shards in their own hashed bins (${eX} B an entry), best count: ${kib(model(bitsNow, 1, eT + eI, shardHeader) + bestShardBins)}`);
} finally {
  await instance.close();
}
