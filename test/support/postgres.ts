/**
 * Debian's PostgreSQL for tests: a throw-away cluster in a temp dir, on a free 127.0.0.1 port,
 * started and stopped by the test itself (no system service). As root, initdb and postgres
 * run as the `postgres` user, since PostgreSQL refuses to run as root.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { dirname } from 'node:path';
import { freePort } from './nginx.js';
import { toolPath } from './system-tools.js';

/** The newest PostgreSQL's bin dir (./system-tools.ts detects it for the tests and the global setup alike). */
export const POSTGRES_BIN_DIR = ((p) => (p ? dirname(p) : null))(toolPath('postgres'));

export interface RunningPostgres {
  /** postgres://keyshare@127.0.0.1:PORT/keyshare */
  url: string;
  stop(): Promise<void>;
}

function runAs(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

export async function startPostgres(options: { maxConnections?: number } = {}): Promise<RunningPostgres> {
  if (!POSTGRES_BIN_DIR) throw new Error('PostgreSQL is not installed (Debian package postgresql)');
  const dir = mkdtempSync(join(tmpdir(), 'keyshare-pg-'));
  const user = runAs();
  if (user.uid !== undefined) chownSync(dir, user.uid, user.gid!);
  const data = join(dir, 'data');
  execFileSync(join(POSTGRES_BIN_DIR, 'initdb'), ['-D', data, '-U', 'keyshare', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync'], {
    ...user,
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const port = await freePort();
  const args = ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1'];
  // A test cluster: durability does not matter, a loaded machine does.
  for (const s of ['fsync=off', 'synchronous_commit=off', 'full_page_writes=off', `max_connections=${options.maxConnections ?? 40}`, 'shared_buffers=16MB']) args.push('-c', s);
  const child: ChildProcess = spawn(join(POSTGRES_BIN_DIR, 'postgres'), args, { ...user, cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const admin = `postgres://keyshare@127.0.0.1:${port}/postgres`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`postgres exited: ${stderr}`);
    const c = new pg.Client({ connectionString: admin });
    try {
      await c.connect();
      await c.query('CREATE DATABASE keyshare');
      await c.end();
      break;
    } catch (e) {
      await c.end().catch(() => {});
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`postgres did not start: ${(e as Error).message}\n${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return {
    url: `postgres://keyshare@127.0.0.1:${port}/keyshare`,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGINT'); // fast shutdown
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The test run's cluster: the one the vitest global setup started when the run is on
 * PostgreSQL (test/support/postgres-global.ts: KEYSHARE_TEST_POSTGRES_URL), else one of this
 * test file's own (stop it in afterAll; stopping the run's cluster is a no-op).
 */
export async function testPostgres(): Promise<RunningPostgres> {
  const url = process.env.KEYSHARE_TEST_POSTGRES_URL;
  return url ? { url, stop: async () => {} } : startPostgres();
}

let databases = 0;

/** A fresh, empty database on `server` (CREATE DATABASE), and its URL. */
export async function freshDatabase(server: RunningPostgres, options = ''): Promise<string> {
  const name = `ks_${process.pid}_${++databases}`;
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name} ${options}`);
  } finally {
    await admin.end();
  }
  const url = new URL(server.url);
  url.pathname = `/${name}`;
  return url.toString();
}
