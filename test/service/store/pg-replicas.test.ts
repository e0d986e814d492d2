/**
 * The building blocks of replicas on PostgreSQL (issue 11; test/service/replication.test.ts and
 * test/e2e/replicas.test.ts test them wired): the publisher lease (an advisory lock) and
 * new-version notices (LISTEN/NOTIFY), against Debian's PostgreSQL started by the test, and
 * which `--database` settings are taken.
 *
 * Needs Debian's postgresql: fails without it when CI is set, skips (visibly) otherwise.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { PublisherLease } from '../../../service/store/pg/lease.js';
import { PublishListener, notifyPublished } from '../../../service/store/pg/notify.js';
import { databaseKind, supportedDatabase } from '../../../service/store/database.js';
import { POSTGRES_BIN_DIR, startPostgres, type RunningPostgres } from '../../support/postgres.js';
import pg from 'pg';

// STYLE.md: a test that needs a system tool fails when the tool is missing and CI is set.
if (!POSTGRES_BIN_DIR && process.env.CI) {
  throw new Error('PostgreSQL is not installed (Debian package postgresql): the replica tests cannot run in CI without it');
}

/** Waits for `cond`, with a generous bound for a loaded machine (the 10 s failover bound is checked separately). */
async function until(cond: () => boolean, what: string, maxMs = 30_000): Promise<void> {
  const deadline = Date.now() + maxMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('when --database names a database', () => {
  it('takes postgres:// and refuses a SQLite file outside the data dir with CONFIG_INVALID, without echoing the setting', () => {
    expect(databaseKind(null)).toBe('embedded');
    expect(supportedDatabase(null)).toBe('embedded');
    expect(supportedDatabase('postgresql://ks:secret@db/keyshare')).toBe('postgres');
    let error: any;
    try {
      supportedDatabase('/srv/secret/keyshare.db');
    } catch (e) {
      error = e;
    }
    expect(error?.code).toBe('CONFIG_INVALID');
    expect(error.message).toMatch(/^database: a SQLite file outside the data dir is not supported/);
    expect(error.message).not.toContain('secret');
  });
});

describe.skipIf(!POSTGRES_BIN_DIR)('when replicas share one PostgreSQL database', () => {
  let db: RunningPostgres;
  const leases: PublisherLease[] = [];
  const lease = (name = 'keyshare-publisher-test') => {
    const l = new PublisherLease({ url: db.url, name, retryMs: 200 });
    leases.push(l);
    return l;
  };

  beforeAll(async () => {
    db = await startPostgres();
  });
  afterAll(async () => {
    for (const l of leases) await l.stop();
    await db?.stop();
  });

  it('gives the publisher lease to exactly one of them, and to the other when it steps down', async () => {
    const a = lease();
    const b = lease();
    a.start();
    await until(() => a.isLeader(), 'a to lead');
    b.start();
    const tries = b.attempts;
    await until(() => b.attempts >= tries + 3, 'b to try three times');
    expect([a.isLeader(), b.isLeader()]).toEqual([true, false]);
    await a.stop();
    await until(() => b.isLeader(), 'b to take over');
    expect(a.isLeader()).toBe(false);
    await b.stop();
  });

  it('fails over within 10 s when the publisher is killed (SIGKILL)', async () => {
    const holder = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '../../support/pg-lease-holder.ts'), db.url], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    holder.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    const exited = new Promise((r) => holder.once('exit', r));
    try {
      await until(() => out.includes('leader\n'), 'the child to lead', 60_000);
      const survivor = new PublisherLease({ url: db.url, retryMs: 500 });
      leases.push(survivor);
      survivor.start();
      const tries = survivor.attempts;
      await until(() => survivor.attempts >= tries + 2, 'the survivor to try');
      expect(survivor.isLeader()).toBe(false);

      holder.kill('SIGKILL');
      await exited;
      const killedAt = Date.now();
      await until(() => survivor.isLeader(), 'the survivor to take over', 10_000);
      expect(Date.now() - killedAt).toBeLessThan(10_000);
    } finally {
      if (holder.exitCode === null) holder.kill('SIGKILL');
    }
  });

  it('tells every listening replica about a new version, and asks for a resync after connecting', async () => {
    const notices: ({ payload: string } | { resync: true })[] = [];
    const listener = new PublishListener({ url: db.url, onNotice: (n) => notices.push(n) });
    await listener.start();
    expect(notices).toEqual([{ resync: true }]);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await notifyPublished(client, 42);
      await until(() => notices.length === 2, 'the notice');
      expect(notices[1]).toEqual({ payload: '42' });
      // The listener's session is cut: it reconnects and asks for a resync (notices may have been lost).
      await client.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'keyshare-publish-listener'");
      await until(() => notices.filter((n) => 'resync' in n).length === 2, 'the resync after reconnecting');
      await notifyPublished(client, 43);
      await until(() => notices.some((n) => 'payload' in n && n.payload === '43'), 'the notice after reconnecting');
    } finally {
      await client.end();
      await listener.stop();
    }
  });
});
