/**
 * What the side-by-side scripts (bench/b9-ab.mjs, bench/b10-service-ab.mjs) share: the builds to
 * compare, a data dir of N scopes built once, and medians.
 */
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export const ecKey = () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();

/** `label=dir[@node flags]` arguments: [label, absolute dir, flags]. */
export const abTargets = (args) =>
  args.filter((a) => a.includes('=')).map((a) => {
    const [label, rest] = a.split(/=(.*)/s);
    const [dir, ...flags] = rest.split('@');
    return [label, resolve(dir), flags];
  });

/** A data dir of `n` scopes, `r<i>.bench.example`, one anchor each from `keys` distinct keys (bench/lib/fixture.ts's shape: one apply), built once by `dir`'s build. */
export async function scopesTemplate(work, n, dir, keys) {
  mkdirSync(work, { recursive: true });
  const template = `${work}/state-${n}`;
  if (existsSync(`${template}/done`)) return template;
  rmSync(template, { recursive: true, force: true });
  const { initDataDir, openInstance } = await import(pathToFileURL(`${dir}/dist/service/instance.js`).href);
  await initDataDir({ dataDir: template });
  const instance = await openInstance({ dataDir: template });
  const pool = Array.from({ length: keys }, ecKey);
  await instance.service.apply({ scopes: Array.from({ length: n }, (_, i) => ({ scope: `r${i}.bench.example`, anchors: [{ publicKey: pool[i % keys], name: `key-${i % keys}` }] })) });
  await instance.close();
  writeFileSync(`${template}/done`, '');
  return template;
}

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/**
 * Each build's child process `runs` times, interleaved (a b, b a, ...), each on a fresh copy of
 * `template`; `child` gives the node arguments (and env) of one run, whose stdout is a JSON array.
 * `report` sees each run's results; the return value holds them all, by label.
 */
export function runInterleaved({ runs, targets, work, template, child, report }) {
  const all = new Map(targets.map(([l]) => [l, []]));
  for (let r = 0; r < runs; r++) {
    for (const [label, dir, flags] of r % 2 ? [...targets].reverse() : targets) {
      const data = `${work}/run-${label}`;
      rmSync(data, { recursive: true, force: true });
      cpSync(template, data, { recursive: true });
      const { args, env } = child({ label, dir, flags, data, run: r + 1 });
      const p = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 24, env: env ?? process.env });
      if (p.status !== 0) { console.error(p.stderr); process.exit(1); }
      const res = JSON.parse(p.stdout);
      all.get(label).push(...res);
      report(label, r + 1, res);
    }
  }
  return all;
}
