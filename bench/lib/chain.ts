/**
 * B6: revocation propagation over two hops on loopback, U → D → E (D follows U, E follows D,
 * both in federate mode with the change feed). Each revocation is made at U; the figure is
 * the time until E serves a trust document that lists it. Baseline: the poll interval.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildState, keyPool, scopeName } from './fixture.js';
import { post, waitFor } from './http.js';
import { benchDir, projectDir, startChild, type Child } from './proc.js';
import type { Row } from './report.js';
import { fmtMs, quantile, sig } from './stats.js';

export async function benchChain(work: string, revocations: number, pollMs: number, log: (s: string) => void): Promise<Row[]> {
  const notYet = (why: string): Row[] => [
    { id: 'B6', figure: 'revocation propagation U → D → E', value: `not measurable: ${why.slice(0, 160)}`, baseline: `poll interval`, ratio: '-', goal: 'p50 ≤ 1 s', status: 'not measured', data: { why } },
  ];
  if (!existsSync(join(projectDir, 'service/federation/upstream/manager.ts'))) return notYet('service/federation/upstream does not exist yet');
  const scopes = 20;
  const keys = keyPool(4);
  const u = await buildState(join(work, 'u'), scopes, keys);
  const d = await buildState(join(work, 'd'), 0, keys);
  const e = await buildState(join(work, 'e'), 0, keys);
  const children: Child[] = [];
  try {
    const [su, sd, se] = await Promise.all([u, d, e].map((s) => startChild(join(benchDir, 'lib/server-child.ts'), { data: s.dataDir, pollMs })));
    children.push(su!, sd!, se!);
    const url = (c: Child) => c.ready.url as string;
    const follow = async (down: Child, token: string, name: string, up: Child, upRoot: string) => {
      const r = await post(url(down), '/api/v1/upstreams', token, { name, url: url(up), root: readFileSync(upRoot, 'utf8'), mode: 'federate' });
      if (r.status >= 300) throw new Error(`upstream add ${name}: ${r.status} ${JSON.stringify(r.json)}`);
    };
    await follow(sd!, d.token, 'u', su!, u.rootPath);
    await follow(se!, e.token, 'd', sd!, d.rootPath);
    const docAtE = async (scope: string) => {
      const r = await fetch(`${url(se!)}/tuf/targets/trust/${scope}.json`);
      return r.ok ? await r.text() : '';
    };
    await waitFor('E to federate U through D', async () => (await docAtE(scopeName(0))) !== '', 3 * pollMs + 30_000);
    const samples: number[] = [];
    let timeouts = 0;
    for (let i = 0; i < revocations; i++) {
      const scope = scopeName(i % scopes);
      const id = `sha256:${randomBytes(32).toString('hex')}`;
      const t0 = performance.now();
      const r = await post(url(su!), '/api/v1/revocations', u.token, { kind: 'key', id, scope, reason: 'keyCompromise' });
      if (r.status !== 201) throw new Error(`revocation at U: ${r.status}`);
      try {
        await waitFor(`revocation ${i} at E`, async () => (await docAtE(scope)).includes(id), 3 * pollMs, 10);
        samples.push(performance.now() - t0);
      } catch {
        timeouts++;
        samples.push(3 * pollMs);
      }
      if ((i + 1) % 5 === 0) log(`  B6 ${i + 1}/${revocations}: last ${Math.round(samples[samples.length - 1]!)} ms`);
    }
    const p50 = quantile(samples, 0.5);
    const p99 = quantile(samples, 0.99);
    return [
      {
        id: 'B6',
        figure: `revocation propagation U → D → E (${revocations} revocations)`,
        value: `p50 ${fmtMs(p50)}, p99 ${fmtMs(p99)}${timeouts ? `, ${timeouts} timed out` : ''}`,
        baseline: `poll interval ${fmtMs(pollMs)}`,
        ratio: `${sig(p50 / pollMs, 2)}×`,
        goal: 'p50 ≤ 1 s',
        status: p50 <= 1000 && timeouts === 0 ? 'met' : 'missed',
        data: { samplesMs: samples.map((x) => sig(x, 4)), pollMs, timeouts },
      },
    ];
  } catch (err) {
    return notYet(`the chain did not work: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    for (const c of children) await c.stop();
  }
}
