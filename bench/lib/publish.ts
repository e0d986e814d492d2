/**
 * B2: publish latency, from sending an admin write (a key revocation at one leaf scope) to
 * the new timestamp.json being served, with one service per scope count running side by
 * side and the writes interleaved across them (the order rotates every round).
 */
import { randomBytes } from 'node:crypto';
import { post, timestampVersion } from './http.js';
import type { Row } from './report.js';
import { fmtMs, quantile, sig } from './stats.js';
import { scopeName } from './fixture.js';

export interface PublishTarget {
  scopes: number;
  url: string;
  token: string;
}

async function oneWrite(t: PublishTarget, i: number): Promise<number> {
  const before = await timestampVersion(t.url);
  const scope = scopeName((i * 7919) % t.scopes);
  const t0 = performance.now();
  const r = await post(t.url, '/api/v1/revocations', t.token, { kind: 'key', id: `sha256:${randomBytes(32).toString('hex')}`, scope, reason: 'keyCompromise' });
  if (r.status !== 201) throw new Error(`revocation at ${t.scopes} scopes: ${r.status} ${JSON.stringify(r.json)}`);
  // Acknowledged; now wait until the new version is what /tuf/ serves.
  while ((await timestampVersion(t.url)) <= before) {
    /* poll at once: the loop is bounded by the publish that is already running */
  }
  return performance.now() - t0;
}

export async function benchPublish(targets: PublishTarget[], iterations: number, warmup: number, log: (s: string) => void): Promise<Row[]> {
  const samples = new Map<number, number[]>(targets.map((t) => [t.scopes, []]));
  for (let i = 0; i < warmup; i++) for (const t of targets) await oneWrite(t, 1000 + i);
  for (let i = 0; i < iterations; i++) {
    const order = targets.map((_, k) => targets[(k + i) % targets.length]!);
    for (const t of order) samples.get(t.scopes)!.push(await oneWrite(t, i));
    if ((i + 1) % 10 === 0) log(`  B2 ${i + 1}/${iterations}`);
  }
  const base = targets[0]!;
  const baseP50 = quantile(samples.get(base.scopes)!, 0.5);
  const largest = targets[targets.length - 1]!;
  return targets.map((t) => {
    const s = samples.get(t.scopes)!;
    const p50 = quantile(s, 0.5);
    const p99 = quantile(s, 0.99);
    const ratio = p50 / baseP50;
    const isLargest = t === largest;
    return {
      id: 'B2',
      figure: `publish latency (write → new timestamp served), ${t.scopes.toLocaleString('en-US')} scopes`,
      value: `p50 ${fmtMs(p50)}, p99 ${fmtMs(p99)}`,
      baseline: t === base ? '(the baseline)' : `itself at ${base.scopes.toLocaleString('en-US')}: p50 ${fmtMs(baseP50)}`,
      ratio: t === base ? '1×' : `${sig(ratio, 2)}×`,
      goal: isLargest ? 'p50 ≤ 50 ms; ratio ≤ 1.5' : '-',
      status: isLargest ? (p50 <= 50 && ratio <= 1.5 ? 'met' : 'missed') : 'info', // issue 17's goal
      data: { samplesMs: s.map((x) => sig(x, 4)), p50, p99 },
    };
  });
}
