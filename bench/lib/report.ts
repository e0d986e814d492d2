/** Results: one row per figure, printed as a table, written to bench/results/latest.json and docs/BENCHMARKS.md. */
import { execFileSync } from 'node:child_process';
import { cpus, totalmem, loadavg, release } from 'node:os';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectDir } from './proc.js';

export type Status = 'met' | 'missed' | 'info' | 'not measured';

export interface Row {
  id: string;
  figure: string;
  value: string;
  baseline: string;
  ratio: string;
  goal: string;
  status: Status;
  /** Raw numbers (samples, medians, baselines) for latest.json. */
  data?: Record<string, unknown>;
}

export interface Machine {
  cpus: string;
  cores: number;
  memoryGiB: number;
  loadAverage: number[];
  node: string;
  kernel: string;
  loadTool: string;
  nginx: string | null;
}

export function machine(loadTool: string, nginx: string | null): Machine {
  const c = cpus();
  return {
    cpus: c[0]?.model ?? 'unknown',
    cores: c.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    loadAverage: loadavg().map((x) => Math.round(x * 100) / 100),
    node: process.version,
    kernel: release(),
    loadTool,
    nginx,
  };
}

export function gitCommit(): { commit: string; dirty: boolean } {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: projectDir, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: projectDir, encoding: 'utf8' }).trim() !== '';
    return { commit, dirty };
  } catch {
    return { commit: 'unknown', dirty: false };
  }
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function markdownTable(rows: Row[]): string {
  const head = '| # | figure | value | baseline (same run) | ratio | goal | |';
  const sep = '|---|---|---|---|---|---|---|';
  const mark = (s: Status) => (s === 'met' ? 'met' : s === 'missed' ? '**missed**' : s === 'info' ? '' : 'not measured');
  return [head, sep, ...rows.map((r) => `| ${r.id} | ${cell(r.figure)} | ${cell(r.value)} | ${cell(r.baseline)} | ${cell(r.ratio)} | ${cell(r.goal)} | ${mark(r.status)} |`)].join('\n');
}

export function printTable(rows: Row[]): void {
  const cols: (keyof Row)[] = ['id', 'figure', 'value', 'baseline', 'ratio', 'goal', 'status'];
  const widths = cols.map((c) => Math.min(48, Math.max(c.length, ...rows.map((r) => String(r[c]).length))));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i]!).slice(0, Math.max(widths[i]!, 48))).join('  ');
  process.stdout.write(`\n${line(cols as string[])}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
  for (const r of rows) process.stdout.write(`${line(cols.map((c) => String(r[c])))}\n`);
  process.stdout.write('\n');
}

export interface RunInfo {
  date: string;
  mode: 'full' | 'quick';
  seconds: number;
  git: { commit: string; dirty: boolean };
  machine: Machine;
  sizes: number[];
  notes: string[];
}

export function writeJson(info: RunInfo, rows: Row[]): string {
  const dir = join(projectDir, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'latest.json');
  writeFileSync(file, JSON.stringify({ ...info, results: rows }, null, 2) + '\n');
  return file;
}

const BEGIN = '<!-- bench:results:begin -->';
const END = '<!-- bench:results:end -->';

/** Replaces the generated block of docs/BENCHMARKS.md (the rest of the file is written by people). */
export function updateDocs(info: RunInfo, rows: Row[]): string {
  const file = join(projectDir, 'docs/BENCHMARKS.md');
  const m = info.machine;
  const block = [
    BEGIN,
    `Last run: **${info.date}** (\`npm run bench${info.mode === 'quick' ? ' -- --quick' : ''}\`, ${info.mode} run, ${Math.round(info.seconds)} s), ` +
      `commit \`${info.git.commit.slice(0, 12)}\`${info.git.dirty ? ' with uncommitted changes in the tree' : ''}.`,
    '',
    `Machine: ${m.cores} × ${m.cpus}, ${m.memoryGiB} GiB, Node ${m.node}, Linux ${m.kernel}; load average at the start ${m.loadAverage.join(' / ')}. ` +
      `Load generator: ${m.loadTool}. nginx: ${m.nginx ?? 'not installed'}. Scope counts: ${info.sizes.map((n) => n.toLocaleString('en-US')).join(' / ')}.`,
    '',
    markdownTable(rows),
    '',
    ...info.notes.map((n) => `- ${n}`),
    END,
  ].join('\n');
  let text = existsSync(file) ? readFileSync(file, 'utf8') : `# Benchmarks\n\n${BEGIN}\n${END}\n`;
  const a = text.indexOf(BEGIN);
  const b = text.indexOf(END);
  text = a >= 0 && b > a ? text.slice(0, a) + block + text.slice(b + END.length) : `${text.trimEnd()}\n\n${block}\n`;
  mkdirSync(join(projectDir, 'docs'), { recursive: true });
  writeFileSync(file, text);
  return file;
}
