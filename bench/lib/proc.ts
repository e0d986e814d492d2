/**
 * Child processes for the benchmarks: the service and the baselines each run in a process of
 * their own (STYLE: load comes from a separate process), started with tsx so that the bench
 * measures the source tree as it is, and stopped by their own pid only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const benchDir = join(dirname(fileURLToPath(import.meta.url)), '..');
export const projectDir = join(benchDir, '..');

/** node with the tsx loader: runs a TypeScript file of this repository. */
export function tsxArgs(file: string, ...args: string[]): string[] {
  return ['--import', 'tsx', file, ...args];
}

export interface Child {
  proc: ChildProcess;
  pid: number;
  /** The first message the child sent (e.g. `{ url }`). */
  ready: Record<string, unknown>;
  stop(): Promise<void>;
}

/** Starts a TypeScript child with an IPC channel and waits for its first message. */
export async function startChild(file: string, config: unknown, opts: { timeoutMs?: number; nodeArgs?: string[]; logFile?: string } = {}): Promise<Child> {
  // stderr (the service's request logs) goes to a file, as a service's logs would, and never
  // through a pipe that this process would have to drain while it measures.
  const logFile = opts.logFile ?? join(tmpdir(), `keyshare-bench-${process.pid}-${++children}.log`);
  const fd = openSync(logFile, 'a');
  const proc = spawn(process.execPath, [...(opts.nodeArgs ?? []), ...tsxArgs(file, JSON.stringify(config))], {
    cwd: projectDir,
    stdio: ['ignore', 'ignore', fd, 'ipc'],
  });
  closeSync(fd);
  const tail = () => {
    try {
      const text = readFileSync(logFile, 'utf8');
      return text.slice(-4000);
    } catch {
      return '';
    }
  };
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${file} did not start in time: ${tail()}`)), opts.timeoutMs ?? 120_000);
    proc.once('message', (m) => {
      clearTimeout(timer);
      resolve(m as Record<string, unknown>);
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${file} exited with ${code}: ${tail()}`));
    });
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  return {
    proc,
    pid: proc.pid!,
    ready,
    async stop() {
      if (proc.exitCode !== null) return;
      try {
        if (proc.connected) proc.send('stop');
      } catch {
        // the child is on its way out already
      }
      const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
      if (!opts.logFile) rmSync(logFile, { force: true });
    },
  };
}

let children = 0;

/**
 * The service as users run it: `node bin/keyshare.js serve` (the built CLI) when dist/ is
 * current, else bench/lib/server-child.ts through tsx (which costs start-up time and about
 * 90 MB of RSS; the caller notes it). Logs (info, as serve defaults) go to a file.
 */
export async function startService(config: { data: string; staticDir?: string }, builtCli: boolean): Promise<Child> {
  if (!builtCli) return startChild(join(benchDir, 'lib/server-child.ts'), config);
  const port = await freePort();
  const logFile = join(tmpdir(), `keyshare-bench-${process.pid}-${++children}.log`);
  const fd = openSync(logFile, 'a');
  const args = [join(projectDir, 'bin/keyshare.js'), 'serve', '--data', config.data, '--listen', `127.0.0.1:${port}`];
  if (config.staticDir) args.push('--static-dir', config.staticDir);
  const proc = spawn(process.execPath, args, { cwd: projectDir, stdio: ['ignore', 'ignore', fd] });
  closeSync(fd);
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const end = Date.now() + 120_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`keyshare serve exited with ${proc.exitCode}: ${readFileSync(logFile, 'utf8').slice(-4000)}`);
    if (Date.now() > end) {
      proc.kill('SIGKILL');
      throw new Error('keyshare serve did not start in time');
    }
    const ok = await fetch(`${url}/readyz`).then((r) => r.ok, () => false);
    if (ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    proc,
    pid: proc.pid!,
    ready: { url },
    async stop() {
      if (proc.exitCode !== null) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
      rmSync(logFile, { force: true });
    },
  };
}

/** Resident set size of a process now and its peak (kB → bytes), from /proc. */
export function rssOf(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/** A free TCP port on the loopback (for processes that cannot report the one they bound). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** Runs a command to completion; resolves with its output and wall time. */
export function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const proc = spawn(cmd, args, { cwd: opts.cwd ?? projectDir, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-8000)));
    const timer = opts.timeoutMs ? setTimeout(() => proc.kill('SIGKILL'), opts.timeoutMs) : null;
    proc.once('error', reject);
    proc.once('close', (code) => {
      if (timer) clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: performance.now() - started });
    });
  });
}

/** Whether an executable is on PATH. */
export async function which(name: string): Promise<string | null> {
  const r = await run('sh', ['-c', `command -v ${name}`]).catch(() => null);
  return r && r.code === 0 ? r.stdout.trim() : null;
}
