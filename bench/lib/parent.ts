/**
 * B9 (issue 17): a change at a parent scope that governs every scope of a service, until
 * served. The bench's scopes are the registries `r{i}.bench.example`; an anchor added at
 * `*.bench.example` (and removed again) changes the effective trust document of each of
 * them. Latency runs from sending the write to the first GET of /tuf/timestamp.json that shows
 * the new version, on the services of every size side by side, the writes alternating.
 */
import { post, timestampVersion } from './http.js';
import type { Row } from './report.js';
import { fmtMs, quantile, sig } from './stats.js';

export interface ParentTarget {
  scopes: number;
  url: string;
  token: string;
}

export const PARENT_SCOPE = '*.bench.example';

async function until(t: ParentTarget, write: () => Promise<void>): Promise<number> {
  const before = await timestampVersion(t.url);
  const t0 = performance.now();
  await write();
  while ((await timestampVersion(t.url)) <= before) {
    /* bounded by the publish already running */
  }
  return performance.now() - t0;
}

export async function benchParent(targets: ParentTarget[], rounds: number, publicKey: string, log: (s: string) => void): Promise<Row[]> {
  const samples = new Map<number, number[]>(targets.map((t) => [t.scopes, []]));
  const must = async (t: ParentTarget, method: string, path: string, body?: unknown) => {
    const r = method === 'POST' ? await post(t.url, path, t.token, body) : await fetch(`${t.url}${path}`, { method, headers: { authorization: `Bearer ${t.token}` } }).then(async (x) => ({ status: x.status, json: await x.json().catch(() => null) }));
    if (r.status >= 300) throw new Error(`${method} ${path} at ${t.scopes} scopes: ${r.status} ${JSON.stringify(r.json)}`);
    return r.json as { anchor?: { id: string } };
  };
  const anchors = `/api/v1/scopes/${encodeURIComponent(PARENT_SCOPE)}/anchors`;
  // The parent itself, with no anchor, changes no document: not measured.
  for (const t of targets) await must(t, 'POST', '/api/v1/scopes', { scope: PARENT_SCOPE });
  for (let i = 0; i < rounds; i++) {
    for (const t of i % 2 ? [...targets].reverse() : targets) {
      let id = '';
      samples.get(t.scopes)!.push(await until(t, async () => void (id = (await must(t, 'POST', anchors, { publicKey, name: 'parent' })).anchor!.id)));
      samples.get(t.scopes)!.push(await until(t, async () => void (await must(t, 'DELETE', `${anchors}/${encodeURIComponent(id)}`))));
    }
    log(`  B9 ${i + 1}/${rounds}`);
  }
  return targets.map((t, k) => {
    const s = samples.get(t.scopes)!;
    const p50 = quantile(s, 0.5);
    // Issue 17's goals: ≤ 300 ms at 10k scopes, ≤ 3 s at 100k (the quick run's sizes are smaller: no goal).
    const goalMs = t.scopes === 10_000 ? 300 : t.scopes === 100_000 ? 3000 : null;
    return {
      id: 'B9',
      figure: `a change at a parent of ${t.scopes.toLocaleString('en-US')} scopes (anchor added or removed at ${PARENT_SCOPE}), until served`,
      value: `p50 ${fmtMs(p50)}, max ${fmtMs(Math.max(...s))} (${s.length} changes)`,
      baseline: k === 0 ? '(the baseline)' : `itself at ${targets[0]!.scopes.toLocaleString('en-US')}`,
      ratio: k === 0 ? '1×' : `${sig(p50 / quantile(samples.get(targets[0]!.scopes)!, 0.5), 2)}×`,
      goal: goalMs ? `≤ ${fmtMs(goalMs)}` : '-',
      status: goalMs ? (p50 <= goalMs ? 'met' : 'missed') : 'info',
      data: { samplesMs: s.map((x) => sig(x, 4)), p50 },
    };
  });
}
