/** Small statistics for the benchmarks: medians and percentiles of samples from one run. */

export function quantile(samples: readonly number[], q: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  // Nearest rank: p99 of 40 samples is the largest but none; of 10 it is the largest.
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

export const median = (samples: readonly number[]) => quantile(samples, 0.5);

/** Rounds to `digits` significant digits (a table is read, not diffed). */
export function sig(x: number, digits = 3): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const p = Math.pow(10, digits - Math.ceil(Math.log10(Math.abs(x))));
  return Math.round(x * p) / p;
}

export function fmtBytes(n: number): string {
  if (n >= 1024 * 1024) return `${sig(n / 1024 / 1024)} MiB`;
  if (n >= 1024) return `${sig(n / 1024)} KiB`;
  return `${n} B`;
}

export const fmtMs = (ms: number) => (ms >= 1000 ? `${sig(ms / 1000)} s` : `${sig(ms)} ms`);

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
