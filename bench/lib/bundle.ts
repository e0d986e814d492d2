/**
 * B7: `bundle export` and `bundle import` of the largest bundle size (time, size, peak RSS),
 * against `tar` of the same files (the bundle extracted, then archived again), and against the
 * same export at a smaller size to show whether memory grows with the bundle.
 */
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { initDataDir } from '../../service/instance.js';
import { benchDir, run, startChild } from './proc.js';
import type { Row } from './report.js';
import { fmtBytes, fmtMs, median, sig } from './stats.js';

async function child(config: Record<string, unknown>): Promise<{ ms: number; maxRss: number }> {
  const c = await startChild(join(benchDir, 'lib/bundle-child.ts'), config, { timeoutMs: 600_000 });
  await c.stop();
  return c.ready as { ms: number; maxRss: number };
}

export interface BundleSource {
  scopes: number;
  dataDir: string;
  rootPath: string;
}

export async function benchBundle(small: BundleSource, large: BundleSource, work: string, rounds: number, log: (s: string) => void): Promise<Row[]> {
  const exports = { small: [] as { ms: number; maxRss: number }[], large: [] as { ms: number; maxRss: number }[] };
  const tarMs: number[] = [];
  const out = (k: string, i: number) => join(work, `${k}-${i}.tar`);
  const extracted = join(work, 'extracted');
  mkdirSync(extracted, { recursive: true });
  for (let i = 0; i < rounds; i++) {
    exports.large.push(await child({ op: 'export', dataDir: large.dataDir, out: out('large', i) }));
    exports.small.push(await child({ op: 'export', dataDir: small.dataDir, out: out('small', i) }));
    if (i === 0) {
      const x = await run('tar', ['-xf', out('large', 0), '-C', extracted]);
      if (x.code !== 0) throw new Error(`tar -x: ${x.stderr}`);
    }
    const t = await run('tar', ['-cf', join(work, `baseline-${i}.tar`), '-C', extracted, '.']);
    if (t.code !== 0) throw new Error(`tar -c: ${t.stderr}`);
    tarMs.push(t.ms);
    log(`  B7 round ${i + 1}/${rounds}: export ${Math.round(exports.large[i]!.ms)} ms, tar ${Math.round(t.ms)} ms`);
  }
  const bundleSize = statSync(out('large', rounds - 1)).size;
  const tarSize = statSync(join(work, 'baseline-0.tar')).size;
  // Import into a fresh data dir, in a process of its own.
  const importDir = join(work, 'import');
  await initDataDir({ dataDir: importDir });
  const imp = await child({ op: 'import', dataDir: importDir, file: out('large', rounds - 1), root: large.rootPath });
  const exportMs = median(exports.large.map((e) => e.ms));
  const rssLarge = median(exports.large.map((e) => e.maxRss));
  const rssSmall = median(exports.small.map((e) => e.maxRss));
  const n = large.scopes.toLocaleString('en-US');
  const sizeRatio = bundleSize / tarSize;
  const memRatio = rssLarge / rssSmall;
  return [
    { id: 'B7', figure: `bundle export, ${n} scopes: time`, value: fmtMs(exportMs), baseline: `tar of the same files: ${fmtMs(median(tarMs))}`, ratio: `${sig(exportMs / median(tarMs), 2)}×`, goal: 'report', status: 'info', data: { exports, tarMs } },
    { id: 'B7', figure: `bundle export, ${n} scopes: size`, value: fmtBytes(bundleSize), baseline: `tar: ${fmtBytes(tarSize)}`, ratio: `${sig(sizeRatio, 3)}×`, goal: '≤ 1.2× tar', status: sizeRatio <= 1.2 ? 'met' : 'missed', data: { bundleSize, tarSize } },
    {
      id: 'B7',
      figure: `bundle export peak RSS, ${n} vs ${small.scopes.toLocaleString('en-US')} scopes`,
      value: fmtBytes(rssLarge),
      baseline: `${small.scopes.toLocaleString('en-US')} scopes: ${fmtBytes(rssSmall)}`,
      ratio: `${sig(memRatio, 2)}×`,
      goal: 'flat in bundle size',
      // "Flat": a bundle many times larger costs at most a quarter more memory.
      status: memRatio <= 1.25 ? 'met' : 'missed',
      data: { rssLarge, rssSmall },
    },
    { id: 'B7', figure: `bundle import, ${n} scopes`, value: `${fmtMs(imp.ms)}, peak RSS ${fmtBytes(imp.maxRss)}`, baseline: 'none', ratio: '-', goal: 'report', status: 'info', data: imp },
  ];
}
