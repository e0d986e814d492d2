/**
 * B12 (issue 23): the transparency log's costs.
 *
 * - Append: in-process publishes (one scope created, then flushed) on a data dir whose log was
 *   first filled to `preload` entries; the time of the log's part of each publish (appending the
 *   entry with its tree nodes and signing the checkpoint, TransparencyLog.append, inside the
 *   publish's transaction) against the whole publish. Goal: ≤ 5 ms added (p50).
 * - Proof bytes per client refresh at 1M entries (a simulated tree of SHA-256 leaf hashes): a
 *   client that verified size n − k refreshes to n (k publishes since). Online, `fetch` reads one
 *   answer, `/log/proof?from=n−k` (shared/tlog/proof.ts, formatted here as the service formats
 *   it): the signed checkpoint, the newest entry with its inclusion proof and the RFC 6962
 *   consistency proof, base64 in JSON. Against what it read before issue 23 gave `?from=`: the
 *   same answer without the consistency proof (but with timestamp.json, as it is served without
 *   `?from=`), plus the tiles the consistency proof is computed from (sync/client/log-check.ts).
 *   Also the raw proof bytes as a bundle carries them (service/federation/bundle/log-proof.ts). Goal: ≤ 2 KB.
 * - Client verification time at 1M entries: both proofs and the checkpoint's signature.
 */
import { join } from 'node:path';
import { formatCheckpoint } from '../../shared/tlog/checkpoint.js';
import { formatEntry } from '../../shared/tlog/leaf.js';
import { consistencyProof, hashChildren, hashLeaf, inclusionProof, nodesNeeded, verifyConsistency, verifyInclusion, type Hash, type NodeReader } from '../../shared/tlog/merkle.js';
import { NoteSigner, openNote, parseVerifierKey, signNote } from '../../shared/tlog/note.js';
import { formatLogProof, type LogProof } from '../../shared/tlog/proof.js';
import { tilesFor } from '../../shared/tlog/tiles.js';
import { openInstance } from '../../service/instance.js';
import { buildState, keyPool } from './fixture.js';
import type { Row } from './report.js';
import { fmtBytes, fmtMs, quantile } from './stats.js';

const entry = (i: number) =>
  formatEntry({ timestamp: { version: i + 1, sha256: 'a'.repeat(64) }, snapshot: { version: i + 1, sha256: 'b'.repeat(64) }, time: '2026-12-07T10:00:00Z', audit: { seq: i, hash: 'c'.repeat(64) } });

/** The append rows, and the last timestamp.json the publishes served (a real one, for the proof answer's size). */
async function benchAppend(work: string, preload: number, rounds: number, log: (s: string) => void): Promise<{ rows: Row[]; timestamp: Uint8Array }> {
  const state = await buildState(join(work, 'append'), 1, keyPool(2));
  const instance = await openInstance({ dataDir: state.dataDir });
  try {
    const tlog = instance.log!;
    log(`B12: filling the log to ${preload.toLocaleString('en-US')} entries`);
    for (let at = await instance.store.logSize(); at < preload; ) {
      const n = Math.min(1000, preload - at);
      await tlog.appendEntries(Array.from({ length: n }, (_, i) => ({ data: Buffer.from(entry(at + i)), timestampVersion: 1_000_000_000 + at + i })));
      at += n;
    }
    const appendMs: number[] = [];
    const original = tlog.append.bind(tlog);
    tlog.append = async (c) => {
      const t0 = performance.now();
      await original(c);
      appendMs.push(performance.now() - t0);
    };
    const publishMs: number[] = [];
    for (let i = 0; i < rounds + 3; i++) {
      const t0 = performance.now();
      await instance.service.createScope({ scope: `log${i}.bench.example` });
      await instance.publisher.flush();
      if (i >= 3) publishMs.push(performance.now() - t0);
    }
    const appended = appendMs.slice(-rounds);
    const p50 = quantile(appended, 0.5);
    const timestamp = (await instance.store.latestMetadata('timestamp'))!.bytes;
    const rows: Row[] = [
      {
        id: 'B12',
        figure: `log append + checkpoint per publish, log of ${preload.toLocaleString('en-US')} entries (${rounds} publishes)`,
        value: `p50 ${fmtMs(p50)}, p99 ${fmtMs(quantile(appended, 0.99))}`,
        baseline: `whole publish (in-process): p50 ${fmtMs(quantile(publishMs, 0.5))}`,
        ratio: `${((100 * p50) / quantile(publishMs, 0.5)).toFixed(1)} %`,
        goal: 'p50 ≤ 5 ms',
        status: p50 <= 5 ? 'met' : 'missed',
        data: { appendMs: appended, publishMs, preload },
      },
    ];
    return { rows, timestamp };
  } finally {
    await instance.close();
  }
}

/** A consistent tree of `size` leaves (leaf i = hashLeaf of its entry), every level kept: the reader proofs need. */
function simulatedTree(size: number): NodeReader {
  const levels: Buffer[] = [Buffer.alloc(32 * size)];
  for (let i = 0; i < size; i++) levels[0]!.set(hashLeaf(entry(i)), 32 * i);
  while (levels[levels.length - 1]!.length > 32) {
    const below = levels[levels.length - 1]!;
    const n = Math.floor(below.length / 64);
    const level = Buffer.alloc(32 * n);
    for (let i = 0; i < n; i++) level.set(hashChildren(below.subarray(64 * i, 64 * i + 32), below.subarray(64 * i + 32, 64 * i + 64)), 32 * i);
    levels.push(level);
  }
  return (level, index) => levels[level]!.subarray(32 * index, 32 * index + 32);
}

function treeRoot(size: number, read: NodeReader): Hash {
  // The root of a tree of `size` is the hash of the subtree the consistency proof verifies; for these sizes compute it from the perfect subtrees.
  const parts: Hash[] = [];
  let lo = 0;
  for (let level = 52; level >= 0; level--) {
    if (lo + 2 ** level <= size) {
      parts.push(read(level, lo / 2 ** level));
      lo += 2 ** level;
    }
  }
  return parts.reduceRight((right, left) => hashChildren(left, right));
}

function benchProofs(size: number, behind: number[], rounds: number, timestamp: Uint8Array): Row[] {
  const read = simulatedTree(size);
  // A log key named as the service names its own (keyshare/<16 hex>).
  const signer = NoteSigner.generate('keyshare/0123456789abcdef');
  const verifier = parseVerifierKey(signer.verifierKey());
  const root = treeRoot(size, read);
  const note = signNote(formatCheckpoint({ origin: signer.name, size, root, extensions: [] }), [signer]);
  const entryBytes = entry(size - 1);
  const inclusion = inclusionProof(size - 1, size, read);
  const answer = (extra: Partial<LogProof>) => Buffer.byteLength(formatLogProof({ key: signer.verifierKey(), checkpoint: note, index: size - 1, entry: entryBytes, inclusion, ...extra }));
  const before = answer({ timestamp });
  const rows: Row[] = [];
  for (const k of behind) {
    const from = size - k;
    const consistency = consistencyProof(from, size, read);
    const answerBytes = answer({ consistency: { from, proof: consistency } });
    const rawBytes = 32 * (consistency.length + inclusion.length) + Buffer.byteLength(note) + entryBytes.length;
    const tiles = tilesFor(nodesNeeded((r) => consistencyProof(from, size, r)), size);
    const tileBytes = before + tiles.reduce((n, t) => n + 32 * t.width, 0);
    rows.push({
      id: 'B12',
      figure: `/log/proof?from= answer per client refresh at ${size.toLocaleString('en-US')} entries, ${k} publish${k === 1 ? '' : 'es'} behind (checkpoint + entry + inclusion + consistency)`,
      value: `${fmtBytes(answerBytes)} in 1 request (${consistency.length} + ${inclusion.length} hashes; ${fmtBytes(rawBytes)} raw)`,
      baseline: `/log/proof + consistency tiles: ${fmtBytes(tileBytes)} in ${tiles.length + 1} requests`,
      ratio: `${((100 * answerBytes) / tileBytes).toFixed(1)} %`,
      goal: '≤ 2 KB',
      status: answerBytes <= 2048 ? 'met' : 'missed',
      data: { size, behind: k, answerBytes, rawBytes, tileBytes, tiles: tiles.length, consistency: consistency.length, inclusion: inclusion.length },
    });
  }
  const k = behind[behind.length - 1]!;
  const prevRoot = treeRoot(size - k, read);
  const consistency = consistencyProof(size - k, size, read);
  const ms: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    openNote(note, [verifier]);
    verifyConsistency(size - k, size, consistency, prevRoot, root);
    verifyInclusion(hashLeaf(entryBytes), size - 1, size, inclusion, root);
    ms.push(performance.now() - t0);
  }
  rows.push({
    id: 'B12',
    figure: `client verification at ${size.toLocaleString('en-US')} entries: checkpoint signature, consistency and inclusion proofs (${rounds} rounds)`,
    value: `p50 ${fmtMs(quantile(ms, 0.5))}`,
    baseline: 'none (a time)',
    ratio: '-',
    goal: 'report',
    status: 'info',
    data: { ms },
  });
  return rows;
}

export async function benchTlog(work: string, quick: boolean, log: (s: string) => void): Promise<Row[]> {
  const { rows, timestamp } = await benchAppend(work, quick ? 10_000 : 100_000, quick ? 20 : 50, log);
  log('B12: simulating a log of 1,000,000 entries');
  rows.push(...benchProofs(1_000_000, [1, 10, 1000], quick ? 200 : 1000, timestamp));
  return rows;
}
