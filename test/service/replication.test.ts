/**
 * Replication between replicas on one PostgreSQL database (issue 11, service/replication.ts),
 * with stand-in publishers: the lease picks one publisher, a follower's write reaches it by
 * `NOTIFY keyshare_changed`, its publishes reach the others by `NOTIFY keyshare_published`, and
 * another replica takes over when it steps down. test/e2e/replicas.test.ts runs real replicas.
 *
 * Needs Debian's postgresql: fails without it when CI is set, skips (visibly) otherwise.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PublishGate } from '../../service/repo/publisher.js';
import { Replication, type ReplicatedPublisher } from '../../service/replication.js';
import { POSTGRES_BIN_DIR, startPostgres, type RunningPostgres } from '../support/postgres.js';

// STYLE.md: a test that needs a system tool fails when the tool is missing and CI is set.
if (!POSTGRES_BIN_DIR && process.env.CI) throw new Error('PostgreSQL is not installed (Debian package postgresql): the replication tests cannot run in CI without it');

/** Records what replication asks of it; "publishes" a new version on notify when it leads. */
class StandIn implements ReplicatedPublisher {
  gate: PublishGate | null = null;
  published = 0;
  checks = 0;
  private version = 1;
  private readonly served = new Set<() => void>();

  setGate(gate: PublishGate): void {
    this.gate = gate;
  }
  async notify() {
    if (!this.gate!.leads()) {
      this.gate!.handOff();
      return null;
    }
    this.published++;
    this.version++;
    for (const l of this.served) l();
    return { timestampVersion: this.version, rolesSigned: [], bytesWritten: 0, documentsChanged: 0 };
  }
  onServedChange(listener: () => void) {
    this.served.add(listener);
    return () => this.served.delete(listener);
  }
  latestMetadata(role: string) {
    return role === 'timestamp' ? { role, version: this.version, bytes: Buffer.alloc(0), expires: '' } : undefined;
  }
  async checkExternalWrites() {
    this.checks++;
  }
  /** False: this replica lacks the online keys the root names (issue 24 row 4). */
  signs = true;
  canSign() {
    return this.signs;
  }
}

async function until(cond: () => boolean, what: string, maxMs = 20_000): Promise<void> {
  const deadline = Date.now() + maxMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.skipIf(!POSTGRES_BIN_DIR)('when replicas share one PostgreSQL database', () => {
  let db: RunningPostgres;
  const running: Replication[] = [];
  /** The store's meta table, shared as the database shares it. */
  const meta = new Map<string, string>();
  const sharedMeta = { getMeta: async (k: string) => meta.get(k) ?? null, setMeta: async (k: string, v: string) => void meta.set(k, v) };
  const replica = async (advertiseUrl?: string) => {
    const publisher = new StandIn();
    const replication = new Replication(publisher, { url: db.url, retryMs: 200, advertiseUrl, meta: sharedMeta });
    running.push(replication);
    await replication.start();
    return { publisher, replication };
  };

  beforeAll(async () => {
    db = await startPostgres();
  });
  afterAll(async () => {
    for (const r of running) await r.stop();
    await db?.stop();
  });

  it('lets one publish, hands the other\'s writes to it, tells the other of its publishes, and fails over', async () => {
    const a = await replica();
    await until(() => a.replication.isLeader(), 'a to lead');
    // Gaining the lease publishes what is pending.
    await until(() => a.publisher.published === 1, 'a to publish on taking the lease');
    const b = await replica();
    expect(b.publisher.gate!.leads()).toBe(false);

    // A write on the follower: it does not publish, the leader does.
    const checks = b.publisher.checks;
    expect(await b.publisher.notify()).toBeNull();
    await until(() => a.publisher.published === 2, 'a to publish b\'s write');
    expect(b.publisher.published).toBe(0);
    // ... and the follower hears of the leader's publish.
    await until(() => b.publisher.checks > checks, 'b to check the store after a\'s publish');

    // The leader steps down (its session ends): the follower takes over and publishes.
    await a.replication.stop();
    await until(() => b.replication.isLeader(), 'b to take over');
    await until(() => b.publisher.published === 1, 'b to publish on taking the lease');
    expect(a.replication.isLeader()).toBe(false);
  });

  it('names the publisher\'s advertised URL to the others (issue 24, NOT_PUBLISHER)', async () => {
    for (const r of running.splice(0)) await r.stop(); // the lease is free again
    const a = await replica('https://keyshare-a.internal');
    await until(() => a.replication.isLeader(), 'a to lead');
    const b = await replica('https://keyshare-b.internal');
    await until(() => b.publisher.gate!.publisherUrl?.() === 'https://keyshare-a.internal', 'b to learn the publisher URL');
    expect(a.publisher.gate!.publisherUrl?.()).toBe('https://keyshare-a.internal');
    await a.replication.stop();
    await until(() => b.replication.isLeader(), 'b to take over');
    expect(b.publisher.gate!.publisherUrl?.()).toBe('https://keyshare-b.internal');
    await until(() => meta.get('publisher_url') === JSON.stringify({ url: 'https://keyshare-b.internal' }), 'b to record its URL');
  });

  it('makes a leader that cannot sign give up the lease, and a replica that cannot sign never take it', async () => {
    for (const r of running.splice(0)) await r.stop();
    const a = await replica();
    await until(() => a.replication.isLeader(), 'a to lead');
    const stale = await replica();
    stale.publisher.signs = false;
    const c = await replica();
    // The leader loses its keys (a root with new online keys it does not hold): it steps down
    // within one lease check, and the replica that can sign takes over, never the stale one.
    a.publisher.signs = false;
    await until(() => !a.replication.isLeader(), 'a to give up the lease');
    await until(() => c.replication.isLeader(), 'c to take over');
    expect(stale.replication.isLeader()).toBe(false);
    expect(a.replication.isLeader()).toBe(false);
    await c.replication.stop();
    await new Promise((r) => setTimeout(r, 600));
    expect(stale.replication.isLeader()).toBe(false);
  });
});
