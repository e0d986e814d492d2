/**
 * The publisher's gate (issue 11, service/replication.ts): a replica that does not hold the
 * publisher lease never signs or commits metadata, whether on a write, on its expiry timer or
 * in its check of the store; it hands changes off and serves what the leader published. Two
 * processes on one data dir stand in for two replicas on one database (the gate and the store's
 * CONFLICT are the same whatever the dialect; test/e2e/replicas.test.ts runs real replicas).
 */
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { openInstance, type Instance } from '../../../service/instance.js';
import type { PublishGate } from '../../../service/repo/publisher.js';
import { RootCeremony } from '../../../service/root-ceremony.js';
import { nextKeyPath } from '../../../service/repo/online-keys.js';
import { existsSync } from 'node:fs';
import { cleanupTempDirs, newDataDir } from '../../support/service.js';

afterAll(() => cleanupTempDirs());

const opened: Instance[] = [];
afterEach(async () => {
  for (const i of opened.splice(0)) await i.close();
});

async function open(dataDir: string, clock?: () => Date): Promise<Instance> {
  const instance = await openInstance({ dataDir, clock });
  opened.push(instance);
  return instance;
}

/** A gate the test flips; counts hand-offs. */
function gate(leads: boolean): PublishGate & { lead: boolean; handOffs: number } {
  const g = { lead: leads, handOffs: 0, leads: () => g.lead, handOff: () => void g.handOffs++ };
  return g;
}

async function until(cond: () => boolean | Promise<boolean>, what: string, maxMs = 20_000): Promise<void> {
  const deadline = Date.now() + maxMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const storedVersion = async (i: Instance) => (await i.store.latestMetadata('timestamp'))!.version;
const scope = (name: string) => ({ scope: name, inherit: true, level: null });

describe('when this replica does not hold the publisher lease', () => {
  it('hands a write off instead of publishing it, and serves the version the leader publishes', async () => {
    const { dataDir } = await newDataDir();
    const leader = await open(dataDir);
    const follower = await open(dataDir);
    const g = gate(false);
    follower.publisher.setGate(g);
    const commit = vi.spyOn(follower.store, 'commitPublish');
    const before = await storedVersion(follower);

    await follower.store.createScope(scope('registry.acme.io'), new Date());
    expect(await follower.publisher.notify()).toBeNull();
    expect(g.handOffs).toBe(1);
    await follower.publisher.checkExternalWrites();
    expect(commit).not.toHaveBeenCalled();
    expect(await storedVersion(follower)).toBe(before);
    expect(follower.publisher.leads()).toBe(false);

    // The leader publishes the follower's write; the follower's check of the store reloads it.
    const published = await leader.publisher.notify();
    expect(published?.timestampVersion).toBe(before + 1);
    await follower.publisher.checkExternalWrites();
    await follower.publisher.idle();
    expect(follower.publisher.latestMetadata('timestamp')!.bytes.equals(leader.publisher.latestMetadata('timestamp')!.bytes)).toBe(true);
    expect(commit).not.toHaveBeenCalled();
  });

  it('does not re-sign expiring roles on its timer', async () => {
    const { dataDir } = await newDataDir();
    // Two days on, every timestamp has expired: a publisher would re-sign at once.
    const later = () => new Date(Date.now() + 2 * 86_400_000);
    const follower = await open(dataDir, later);
    follower.publisher.setGate(gate(false));
    const commit = vi.spyOn(follower.store, 'commitPublish');
    // Each check of the store for other processes' writes reads its change sequence.
    const checks = vi.spyOn(follower.store, 'changeSeq');
    follower.publisher.start(5, 5);
    await until(() => checks.mock.calls.length >= 20, 'twenty ticks of both timers');
    follower.publisher.stop();
    await follower.publisher.idle();
    expect(commit).not.toHaveBeenCalled();
  });

  it('refuses a root publish, a tenant or a key rotation with NOT_PUBLISHER, signing nothing', async () => {
    const { dataDir } = await newDataDir();
    const follower = await open(dataDir);
    follower.publisher.setGate(gate(false));
    const root = follower.publisher.latestMetadata('root')!;
    await expect(follower.publisher.publishRoot(root, null as never)).rejects.toMatchObject({ code: 'NOT_PUBLISHER' });
    const persist = vi.fn(async () => {});
    await expect(follower.publisher.publishTenant(null as never, null as never, persist)).rejects.toMatchObject({ code: 'NOT_PUBLISHER' });
    expect(persist).not.toHaveBeenCalled();
    // `key rotate` stages a key in this data dir: refused before it makes one or stages a root.
    const ceremony = new RootCeremony({ dataDir, store: follower.store, publisher: follower.publisher });
    await expect(ceremony.rotate('timestamp')).rejects.toMatchObject({ code: 'NOT_PUBLISHER' });
    await expect(ceremony.status()).rejects.toMatchObject({ code: 'NO_PROPOSAL' });
    expect(existsSync(nextKeyPath(dataDir, 'timestamp'))).toBe(false);
  });

  it('publishes on its own once it gains the lease, building on what the last leader published', async () => {
    const { dataDir } = await newDataDir();
    const leader = await open(dataDir);
    const follower = await open(dataDir);
    const g = gate(false);
    follower.publisher.setGate(g);
    await leader.store.createScope(scope('a.acme.io'), new Date());
    const first = (await leader.publisher.notify())!.timestampVersion;
    await follower.store.createScope(scope('b.acme.io'), new Date());
    expect(await follower.publisher.notify()).toBeNull();
    g.lead = true;
    expect((await follower.publisher.notify())?.timestampVersion).toBe(first + 1);
    expect((await follower.store.listTrustDocs()).map((d) => d.scope).sort()).toEqual(['a.acme.io', 'b.acme.io']);
  });
});

describe('when another replica rotated an online key', () => {
  it('refuses to sign with the key the new root no longer names, even once it leads', async () => {
    const { dataDir } = await newDataDir();
    const leader = await open(dataDir);
    const errors: unknown[] = [];
    const follower = await openInstance({ dataDir, onPublishError: (e) => errors.push(e) });
    opened.push(follower);
    const g = gate(false);
    follower.publisher.setGate(g);
    // Development keys: the rotation is signed and published at once.
    await new RootCeremony({ dataDir, store: leader.store, publisher: leader.publisher }).rotate('timestamp');
    const commit = vi.spyOn(follower.store, 'commitPublish');
    await follower.store.createScope(scope('registry.acme.io'), new Date());
    g.lead = true;
    expect(await follower.publisher.notify()).toBeNull();
    expect(errors).toMatchObject([{ code: 'ONLINE_KEYS_STALE' }]);
    expect(commit).not.toHaveBeenCalled();
  });
});

describe('when two replicas both believe they hold the lease', () => {
  it('lets only the first commit of a version land: the other gets CONFLICT and then serves the first', async () => {
    const { dataDir } = await newDataDir();
    const a = await open(dataDir);
    const errors: unknown[] = [];
    const b = await openInstance({ dataDir, onPublishError: (e) => errors.push(e) });
    opened.push(b);
    await a.store.createScope(scope('a.acme.io'), new Date());
    await b.store.createScope(scope('b.acme.io'), new Date());
    // b signs its version first; a publishes the same version number before b commits.
    const commit = b.store.commitPublish.bind(b.store);
    vi.spyOn(b.store, 'commitPublish').mockImplementationOnce(async (c) => {
      expect((await a.publisher.notify())?.timestampVersion).toBe(c.baseTimestampVersion + 1);
      return commit(c);
    });
    const base = await storedVersion(a);
    expect(await b.publisher.notify()).toBeNull();
    expect(errors).toMatchObject([{ code: 'CONFLICT' }]);
    // One content per (role, version): what a stored is what both serve once b reloads.
    await b.publisher.checkExternalWrites();
    await b.publisher.idle();
    for (const role of ['timestamp', 'snapshot', 'targets']) {
      const stored = await a.store.latestMetadata(role);
      expect(a.publisher.latestMetadata(role)!.bytes.equals(stored!.bytes)).toBe(true);
      expect(b.publisher.latestMetadata(role)!.bytes.equals(stored!.bytes)).toBe(true);
    }
    // Nothing was lost: a's version carries both changes (one store), and nothing is left to publish.
    await b.publisher.flush();
    expect(await storedVersion(a)).toBe(base + 1);
    expect(await a.store.listDirty()).toEqual([]);
    expect((await a.store.listTrustDocs()).map((d) => d.scope).sort()).toEqual(['a.acme.io', 'b.acme.io']);
  });
});
