/**
 * Replicas (issue 11; CONTRACT.md "Settings"; docs/DEPLOYMENT.md "Replicas with PostgreSQL"):
 * real `keyshare serve` processes on one throw-away PostgreSQL database, each with its own copy
 * of one data dir. A write through either is served by both (tuf-js verifies it from each,
 * pinned to root.json); after SIGKILL of the publisher the survivor publishes within 10 s; and
 * a second publisher racing the leader never makes two contents of one version. A replica that
 * is not the publisher issues certificates and time-stamps once it holds the CA key (issue 18).
 * Runs the built CLI (bin/keyshare.js → dist/, built by `npm test`'s pretest).
 *
 * Needs Debian's postgresql: fails without it when CI is set, skips (visibly) otherwise.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFixtureText } from '../../fixtures/index.js';
import { openInstance, type Instance } from '../../service/instance.js';
import { generateKeyAndCsr } from '../../service/crypto/ca.js';
import { caKeyPath } from '../../service/ca/keys.js';
import { POSTGRES_BIN_DIR, startPostgres, type RunningPostgres } from '../support/postgres.js';
import { TufClient, cleanupTempDirs, httpApi, scopePath, tempDir, type Api } from '../support/service.js';

// STYLE.md: a test that needs a system tool fails when the tool is missing and CI is set.
if (!POSTGRES_BIN_DIR && process.env.CI) throw new Error('PostgreSQL is not installed (Debian package postgresql): the replica tests cannot run in CI without it');

const BIN = join(process.cwd(), 'bin', 'keyshare.js');
const CLEAN_ENV = { KEYSHARE_DATA: '', KEYSHARE_LISTEN: '', KEYSHARE_CONFIG: '', KEYSHARE_LOG_LEVEL: '', KEYSHARE_DATABASE_URL: '', KEYSHARE_STATIC_DIR: '' };

interface Replica {
  url: string;
  /** Its own copy of the data dir. */
  data: string;
  api: Api;
  child: ChildProcess;
  exit: Promise<unknown>;
  /** tuf-js pinned to root.json, reading from this replica only. */
  client: TufClient;
  stderr(): string;
}

async function until<T>(f: () => Promise<T | null | undefined | false>, what: string, maxMs = 30_000): Promise<T> {
  const deadline = Date.now() + maxMs;
  for (;;) {
    const v = await f().catch(() => null);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(!POSTGRES_BIN_DIR)('when two replicas serve one PostgreSQL database', () => {
  let db: RunningPostgres;
  let dataDir: string;
  let token: string;
  const replicas: Replica[] = [];

  /** `keyshare serve` on a copy of the data dir, on a free loopback port. */
  async function startReplica(): Promise<Replica> {
    const copy = join(tempDir(), 'data');
    cpSync(dataDir, copy, { recursive: true });
    const child = spawn(process.execPath, [BIN, 'serve', '--data', copy, '--listen', '127.0.0.1:0', '--database', db.url], {
      env: { ...process.env, ...CLEAN_ENV },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    const exit = new Promise((resolve) => child.once('exit', resolve));
    const url = await until(async () => {
      if (child.exitCode !== null) throw new Error(`serve exited ${child.exitCode}: ${err}`);
      return /keyshare serving (http:\/\/127\.0\.0\.1:\d+)\/tuf\//.exec(err)?.[1];
    }, 'the replica to listen', 60_000).catch((e) => {
      throw new Error(`${(e as Error).message}\n${err}`);
    });
    const r: Replica = { url, data: copy, api: httpApi(url, token), child, exit, client: TufClient.pinnedTo(url, dataDir), stderr: () => err };
    replicas.push(r);
    return r;
  }

  const leads = async (r: Replica) => ((await (await fetch(`${r.url}/readyz`)).json()) as { publisher: boolean }).publisher;

  /** tuf-js verifies the scope's trust document from this replica, with the anchor in it. */
  const servesAnchor = (r: Replica, scope: string, anchorId: string) =>
    until(async () => ((await r.client.readJson(`trust/${scope}.json`))?.anchors ?? []).some((a: { id: string }) => a.id === anchorId), `${r.url} to serve ${scope}`);

  /** A scope with one public-key anchor, written through one replica; returns the anchor ID. */
  async function writeThrough(r: Replica, scope: string, key = 'keys/ed25519.pub.pem'): Promise<string> {
    expect((await r.api('POST', '/scopes', { scope })).status).toBe(201);
    const added = await r.api('POST', `${scopePath(scope)}/anchors`, { publicKey: readFixtureText(key), name: 'ci' });
    expect(added.status).toBe(201);
    return added.body.anchor.id;
  }

  beforeAll(async () => {
    db = await startPostgres();
    dataDir = join(tempDir(), 'data');
    const init = spawnSync(process.execPath, [BIN, 'init', '--data', dataDir, '--database', db.url], { env: { ...process.env, ...CLEAN_ENV }, encoding: 'utf8', timeout: 60_000 });
    expect(init.status, init.stderr).toBe(0);
    token = readFileSync(join(dataDir, 'admin.token'), 'utf8').trim();
  }, 120_000);

  afterAll(async () => {
    for (const r of replicas) {
      r.child.kill('SIGKILL');
      await r.exit;
    }
    await db?.stop();
    cleanupTempDirs();
  });

  it('serves a write through either replica from both, verified by tuf-js', async () => {
    const [a, b] = [await startReplica(), await startReplica()];
    await until(async () => (await leads(a)) !== (await leads(b)), 'exactly one replica to publish');
    for (const [writer, scope] of [
      [a, 'registry.acme.io/team-a'],
      [b, 'registry.acme.io/team-b'],
    ] as const) {
      const id = await writeThrough(writer, scope);
      await Promise.all([servesAnchor(a, scope, id), servesAnchor(b, scope, id)]);
    }
  }, 120_000);

  it('fails over within 10 s when the publisher is killed, and the survivor publishes a write', async () => {
    const [a, b] = replicas;
    const leader = (await leads(a!)) ? a! : b!;
    const survivor = leader === a ? b! : a!;
    expect(await leads(survivor)).toBe(false);
    leader.child.kill('SIGKILL');
    await leader.exit;
    const killed = Date.now();
    // Issue 11: another replica takes over within 10 s.
    await until(() => leads(survivor), 'the survivor to take the lease', 10_000);
    expect(Date.now() - killed).toBeLessThan(10_000);
    expect(survivor.stderr()).toMatch(/this replica is now the publisher/);
    const id = await writeThrough(survivor, 'registry.acme.io/after-failover');
    await servesAnchor(survivor, 'registry.acme.io/after-failover', id);
  }, 120_000);

  it('never serves or stores two contents for one version while a second publisher races the leader', async () => {
    const survivor = replicas.find((r) => r.child.exitCode === null && r.child.signalCode === null)!;
    const other = await startReplica();
    // A second publisher that always publishes (no lease): as if it, too, believed it led.
    const errors: unknown[] = [];
    const rogue: Instance = await openInstance({ dataDir, database: db.url, onPublishError: (e) => errors.push(e) });
    const seen = new Map<string, string>();
    const conflicts: string[] = [];
    const record = (role: string, version: number, bytes: Uint8Array) => {
      const key = `${role}@${version}`;
      const digest = createHash('sha256').update(bytes).digest('hex');
      if ((seen.get(key) ?? digest) !== digest) conflicts.push(key);
      seen.set(key, digest);
    };
    const get = async (r: Replica, path: string) => {
      const res = await fetch(`${r.url}/tuf/${path}`);
      return res.status === 200 ? Buffer.from(await res.arrayBuffer()) : null;
    };
    const sampleTimestamps = async (r: Replica) => {
      const ts = await get(r, 'timestamp.json');
      if (ts) record('timestamp', JSON.parse(ts.toString('utf8')).signed.version, ts);
    };
    try {
      let racing = true;
      const sampler = (async () => {
        while (racing) await Promise.all([survivor, other].map(sampleTimestamps));
      })();
      const N = 8;
      await Promise.all([
        ...[survivor, other].map(async (r, n) => {
          for (let k = 0; k < N; k++) expect((await r.api('POST', '/scopes', { scope: `r${k}.replica-${n}.acme.io` })).status).toBe(201);
        }),
        (async () => {
          for (let k = 0; k < N; k++) {
            await rogue.store.createScope({ scope: `r${k}.rogue.acme.io`, inherit: true, level: null }, new Date());
            await rogue.publisher.notify();
          }
        })(),
      ]);
      // Every write lands: whichever publisher wins, nothing stays unpublished.
      await until(async () => (await rogue.store.listDirty()).length === 0 && (await rogue.store.listTrustDocs()).length >= 3 * N, 'every write to be published');
      racing = false;
      await sampler;
      // Both replicas converge on the stored version.
      const stored = (await rogue.store.latestMetadata('timestamp'))!;
      await until(async () => (await Promise.all([survivor, other].map((r) => get(r, 'timestamp.json')))).every((b) => b?.equals(stored.bytes)), 'both replicas to serve the stored timestamp');

      // One content per (role, version): across both replicas' served metadata and the database.
      for (const role of ['timestamp', 'snapshot', 'targets']) {
        for (const m of await rogue.store.listMetadataVersions(role)) record(role, m.version, m.bytes);
      }
      for (const r of [survivor, other]) {
        await sampleTimestamps(r);
        for (const role of ['snapshot', 'targets']) {
          for (const m of await rogue.store.listMetadataVersions(role)) {
            const served = await get(r, `${m.version}.${role}.json`);
            if (served) record(role, m.version, served);
          }
        }
      }
      expect(conflicts).toEqual([]);
      // They did race: the store refused some commits built on a base that had moved (CONFLICT), and nothing else failed.
      expect(errors.length).toBeGreaterThan(0);
      expect(errors.filter((e) => (e as { code?: string }).code !== 'CONFLICT')).toEqual([]);
    } finally {
      await rogue.close();
    }
  }, 180_000);

  it('issues on a replica that is not the publisher once it holds the CA key, and says CA_KEY_UNAVAILABLE until then (issue 18, docs/DEPLOYMENT.md)', async () => {
    const live = replicas.filter((r) => r.child.exitCode === null && r.child.signalCode === null);
    const leader = await until(async () => {
      for (const r of live) if (await leads(r)) return r;
      return null;
    }, 'a publisher');
    const follower = await startReplica();
    expect(await leads(follower)).toBe(false);
    const scope = 'registry.acme.io/signed';
    expect((await leader.api('POST', '/scopes', { scope })).status).toBe(201);
    const created = await leader.api('POST', '/ca', { name: 'release', scopes: [scope] });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const signer = await leader.api('POST', '/tokens', { role: 'signer', scopes: [scope] });
    const issue = async () => httpApi(follower.url, signer.body.token)('POST', '/ca/release/certificates', { csr: (await generateKeyAndCsr()).csrPem });
    const dir = tempDir();
    writeFileSync(join(dir, 'data'), 'x');
    expect(spawnSync('openssl', ['ts', '-query', '-data', join(dir, 'data'), '-sha256', '-cert', '-out', join(dir, 'q.tsq')]).status).toBe(0);
    const timestamp = () => fetch(`${follower.url}/tsa`, { method: 'POST', headers: { 'content-type': 'application/timestamp-query' }, body: readFileSync(join(dir, 'q.tsq')) });
    // The keys are in the leader's data dir only: the follower refuses, and changes nothing.
    const refused = await issue();
    expect([refused.status, refused.body.code]).toEqual([503, 'CA_KEY_UNAVAILABLE']);
    expect((await timestamp()).status).toBe(503);
    // Copied as after `key rotate`: the follower issues and time-stamps, still not the publisher.
    for (const name of ['release', 'tsa']) cpSync(caKeyPath(leader.data, name), caKeyPath(follower.data, name));
    const issued = await issue();
    expect(issued.status, JSON.stringify(issued.body)).toBe(201);
    expect(issued.body.issuer).toBe(created.body.id);
    const ts = await timestamp();
    expect([ts.status, ts.headers.get('content-type')]).toEqual([200, 'application/timestamp-reply']);
    expect(await leads(follower)).toBe(false);
  }, 120_000);
});
