/**
 * `--database postgres://...` from the CLI (issue 11): `init` bootstraps the repository into
 * PostgreSQL (keys in the data dir), `serve` serves it, a copy of the data dir serves the same
 * repository without initialising it again, and an empty data dir over a database that holds a
 * repository is refused. The URL (here with a password) never appears in any output. Runs the
 * built CLI (bin/keyshare.js → dist/, built by `npm test`'s pretest) against a throw-away
 * cluster (test/support/postgres.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanupTempDirs, tempDir } from '../support/service.js';
import { POSTGRES_BIN_DIR, freshDatabase, testPostgres, type RunningPostgres } from '../support/postgres.js';

const BIN = join(process.cwd(), 'bin', 'keyshare.js');

// STYLE.md: a test that needs a system tool fails when the tool is missing and CI is set.
if (!POSTGRES_BIN_DIR && process.env.CI) throw new Error('PostgreSQL is not installed (Debian package postgresql)');

/** The environment of a child: no database setting inherited from the test run. */
const ENV = { ...process.env, KEYSHARE_DATABASE_URL: '' };

function keyshare(args: string[], env: Record<string, string | undefined> = ENV) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env, timeout: 60_000 });
}

/** Starts `keyshare serve` and waits for the line that gives its URL. */
function serve(args: string[], env: Record<string, string | undefined> = ENV): Promise<{ url: string; output: () => string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [BIN, 'serve', '--listen', '127.0.0.1:0', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${out}`)), 30_000);
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${out}`)));
    child.stderr.on('data', (d) => {
      out += d.toString();
      const m = /keyshare serving (http:\/\/\S+?)\/tuf\//.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({
          url: m[1]!,
          output: () => out,
          stop: async () => {
            child.kill('SIGTERM');
            await exited;
          },
        });
      }
    });
  });
}

afterAll(() => cleanupTempDirs());

it('refuses a SQLite file outside the data dir with CONFIG_INVALID, without echoing it or creating the data dir', () => {
  const data = join(tempDir(), 'data');
  const r = keyshare(['serve', '--data', data, '--listen', '127.0.0.1:0', '--database', '/srv/secret/keyshare.db']);
  expect(r.status).toBe(1);
  const lines = r.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^keyshare: CONFIG_INVALID: database: a SQLite file outside the data dir is not supported/);
  expect(r.stderr).not.toContain('secret');
  expect(existsSync(data)).toBe(false);
});

it('says DATABASE_UNAVAILABLE, without the URL, when PostgreSQL cannot be reached', () => {
  const data = join(tempDir(), 'data');
  const r = keyshare(['init', '--data', data, '--database', 'postgres://ks:secret@127.0.0.1:1/keyshare']);
  expect(r.status).toBe(1);
  expect(r.stderr.trim()).toMatch(/^keyshare: DATABASE_UNAVAILABLE: cannot open the PostgreSQL database: /);
  expect(r.stderr).not.toContain('secret');
});

describe.skipIf(!POSTGRES_BIN_DIR)('when the database is PostgreSQL', () => {
  let cluster: RunningPostgres;
  let url: string;
  let first: string;
  const outputs: string[] = [];

  beforeAll(async () => {
    cluster = await testPostgres();
    // A password in the URL (the test cluster trusts loopback and ignores it): it must never be printed.
    const u = new URL(await freshDatabase(cluster));
    u.password = 'hunter2-secret';
    url = u.toString();
    first = join(tempDir(), 'first');
  });
  afterAll(async () => {
    await cluster?.stop();
    for (const o of outputs) expect(o).not.toContain('hunter2-secret');
  });

  it('init bootstraps the repository into it, with the keys in the data dir and no keyshare.db', () => {
    const r = keyshare(['init', '--data', first, '--database', url]);
    outputs.push(r.stdout + r.stderr);
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(join(first, 'root.json'))).toBe(true);
    expect(existsSync(join(first, 'keys'))).toBe(true);
    expect(existsSync(join(first, 'keyshare.db'))).toBe(false);
  });

  it('serves it with the URL from the environment, and a copy of the data dir serves the same repository without initialising it again', async () => {
    const copy = join(tempDir(), 'copy');
    cpSync(first, copy, { recursive: true });
    const token = readFileSync(join(first, 'admin.token'), 'utf8').trim();
    const a = await serve(['--data', first], { ...ENV, KEYSHARE_DATABASE_URL: url });
    // The copy names the database in its keyshare.yaml instead.
    writeFileSync(join(copy, 'keyshare.yaml'), `database: ${JSON.stringify(url)}\n`);
    const b = await serve(['--data', copy]);
    try {
      const created = await fetch(`${a.url}/api/v1/scopes`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ scope: 'registry.acme.io', inherit: true }),
      });
      expect(created.status).toBe(201);
      // Written through one, read through the other: one database.
      const listed = await fetch(`${b.url}/api/v1/scopes`, { headers: { authorization: `Bearer ${token}` } });
      expect(((await listed.json()) as { scopes: { scope: string }[] }).scopes.map((s) => s.scope)).toContain('registry.acme.io');
      for (const s of [a, b]) expect(await (await fetch(`${s.url}/tuf/1.root.json`)).text()).toBe(readFileSync(join(first, 'root.json'), 'utf8'));
      expect(existsSync(join(copy, 'keyshare.db'))).toBe(false);
    } finally {
      await a.stop();
      await b.stop();
      outputs.push(a.output(), b.output());
    }
  });

  it('refuses to initialise an empty data dir over it, with init or with serve, saying ALREADY_INITIALIZED', () => {
    const empty = join(tempDir(), 'empty');
    for (const args of [['init', '--data', empty, '--database', url], ['serve', '--data', empty, '--listen', '127.0.0.1:0', '--database', url]]) {
      const r = keyshare(args);
      outputs.push(r.stdout + r.stderr);
      expect(r.status).toBe(1);
      expect(r.stderr.trim()).toMatch(/^keyshare: ALREADY_INITIALIZED: the database already holds a keyshare repository/);
      expect(existsSync(join(empty, 'root.json'))).toBe(false);
      expect(existsSync(join(empty, 'keys'))).toBe(false);
    }
  });

  it('refuses a copy of the data dir over an empty database with NOT_INITIALIZED, rather than serve nothing', async () => {
    const copy = join(tempDir(), 'copy');
    cpSync(first, copy, { recursive: true });
    const r = keyshare(['serve', '--data', copy, '--listen', '127.0.0.1:0', '--database', await freshDatabase(cluster)]);
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toMatch(/^keyshare: NOT_INITIALIZED: the database holds no keyshare repository/);
  });

  it('refuses backup with BACKUP_NOT_EMBEDDED and points to pg_dump', () => {
    const r = keyshare(['backup', '--data', first, '--database', url, '--out', join(tempDir(), 'b.tar')]);
    outputs.push(r.stdout + r.stderr);
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toMatch(/^keyshare: BACKUP_NOT_EMBEDDED: .*pg_dump/);
  });
});
