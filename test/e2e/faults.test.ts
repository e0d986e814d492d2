/**
 * Issue 24, operating under faults: failures are seen, not silent. On both database passes
 * unless a case names its dialect. Each case runs a real service (the HTTP app over the
 * instance) and checks what an operator sees: /readyz, /metrics, write responses, and what a
 * TUF client (tuf-js) accepts.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { openInstance, type Instance } from '../../service/instance.js';
import { startServer, type RunningServer } from '../../service/server.js';
import { configuredDatabase } from '../../service/config.js';
import { appApi, cleanupTempDirs, httpApi, newDataDir, TufClient } from '../support/service.js';
import { ON_POSTGRES, itSqlite } from '../support/database.js';
import { rawDb, sqlRows } from '../support/store.js';
import { isKeyshareError } from '../../service/errors.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
const BIN = join(process.cwd(), 'bin', 'keyshare.js');

const DAY = 86_400_000;
const open: Instance[] = [];
const servers: RunningServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.close().catch(() => {});
  for (const i of open) await i.close().catch(() => {});
  cleanupTempDirs();
});

async function readyz(app: { request: (p: string) => Response | Promise<Response> }) {
  const res = await app.request('/readyz');
  return { status: res.status, body: (await res.json()) as { status: string; reasons: string[]; warnings: { level: string; code: string; message: string }[]; database: string } };
}

describe('when this process cannot sign with the keys the root names (issue 24 row 4)', () => {
  it('is not ready, and a write acknowledged while publishing fails says so; the metrics show the failures', async () => {
    const { dataDir, token } = await newDataDir();
    // Two processes on one repository (one database); the second keeps the keys it loaded at start.
    const publisher = await openInstance({ dataDir });
    const stale = await openInstance({ dataDir });
    open.push(publisher, stale);
    expect((await appApi(publisher, token).api('POST', '/keys/timestamp/rotate')).status).toBe(200);
    // The second sees root v2, which names a timestamp key it does not hold.
    const failingSince = Date.now() / 1000;
    await stale.publisher.checkExternalWrites();
    await stale.publisher.idle();
    const { app, api } = appApi(stale, token);

    const r = await readyz(app);
    expect(r.status).toBe(503);
    expect(r.body.reasons.join()).toContain('online keys stale');

    const created = await api('POST', '/scopes', { scope: 'stale.example' });
    expect(created.status).toBe(201);
    expect(created.body.published).toBeNull();
    expect(created.headers.get('warning')).toMatch(/^199 keyshare "saved but not published: ONLINE_KEYS_STALE: /);

    const metrics = await (await app.request('/metrics')).text();
    expect(metrics).toMatch(/keyshare_publish_total\{outcome="error"\} [1-9]/);
    // The CLI says the write was saved but not published, and exits 1; with --no-wait, 0.
    const server = await startServer(stale, '127.0.0.1:0');
    servers.push(server);
    const cli = (...args: string[]) =>
      execFileAsync(process.execPath, [BIN, ...args, '--server', server.url, '--token', token], { env: { ...process.env, KEYSHARE_DATA: '' } }).then(
        (r) => ({ code: 0, ...r }),
        (e: { code: number; stdout: string; stderr: string }) => e,
      );
    const waited = await cli('scope', 'add', 'cli-waits.example');
    expect(waited.code).toBe(1);
    expect(waited.stderr.trim()).toMatch(/^keyshare: NOT_PUBLISHED: saved, but not published \(publishing fails: ONLINE_KEYS_STALE: /);
    const noWait = await cli('scope', 'add', 'cli-no-wait.example', '--no-wait');
    expect(noWait.code).toBe(0);
    expect(noWait.stdout).toContain('cli-no-wait.example');

    // The last success (if any) is from before the failures: what the documented alert watches.
    const lastSuccess = /^keyshare_last_publish_success_timestamp_seconds (\S+)$/m.exec(metrics)?.[1];
    if (lastSuccess !== undefined) expect(Number(lastSuccess)).toBeLessThanOrEqual(failingSince);
  });
});

describe('when the root nears and passes its expiry (issue 24 row 8)', () => {
  it('warns from 30 days, loudly from 7, and is not ready once it has expired', async () => {
    const { dataDir } = await newDataDir();
    let now = new Date();
    const instance = await openInstance({ dataDir, clock: () => now });
    open.push(instance);
    const logs: Record<string, unknown>[] = [];
    const { app } = appApi(instance, null);

    expect((await readyz(app)).body.warnings).toEqual([]);
    // The clock moves; the publisher re-signs what would expire (never the root: its keys are offline).
    now = new Date(Date.now() + 340 * DAY);
    await instance.publisher.notify();
    let r = await readyz(app);
    expect(r.status).toBe(200);
    expect(r.body.warnings).toEqual([expect.objectContaining({ level: 'warn', code: 'ROOT_EXPIRING', message: expect.stringMatching(/root v1 expires .* in 2[45] days/) })]);

    now = new Date(Date.now() + 360 * DAY);
    await instance.publisher.notify();
    r = await readyz(app);
    expect(r.status).toBe(200);
    expect(r.body.warnings[0]).toMatchObject({ level: 'error', code: 'ROOT_EXPIRING', message: expect.stringMatching(/^URGENT: /) });
    // ... and in the log, at error level, as the service starts.
    const server = await startServer(instance, '127.0.0.1:0', (e) => logs.push(e));
    servers.push(server);
    expect(logs).toContainEqual(expect.objectContaining({ level: 'error', code: 'ROOT_EXPIRING' }));

    now = new Date(Date.now() + 400 * DAY);
    await instance.publisher.notify();
    const res = await fetch(`${server.url}/readyz`);
    const body = (await res.json()) as { reasons: string[]; warnings: { code: string }[] };
    expect(res.status).toBe(503);
    expect(body.reasons.join()).toContain('expired: root v1');
    expect(body.warnings[0]!.code).toBe('ROOT_EXPIRED');
    await server.close();
  });
});

describe('when the stored repository is damaged (issue 24 row 10)', () => {
  const flipSignature = async (instance: Instance, role: string) => {
    const [row] = await sqlRows<{ version: number; bytes: Buffer }>(instance.store, 'SELECT version, bytes FROM tuf_metadata WHERE role = ? ORDER BY version DESC LIMIT 1', [role]);
    const md = JSON.parse(row!.bytes.toString('utf8'));
    const sig: string = md.signatures[0].sig;
    md.signatures[0].sig = sig.slice(0, 10) + (sig[10] === 'a' ? 'b' : 'a') + sig.slice(11);
    await sqlRows(instance.store, 'UPDATE tuf_metadata SET bytes = ? WHERE role = ? AND version = ?', [Buffer.from(JSON.stringify(md)), role, row!.version]);
  };

  it('re-signs a damaged timestamp and bin from the stored records before serving, and refuses a damaged root with STORE_DAMAGED', async () => {
    const { dataDir, token } = await newDataDir();
    let instance = await openInstance({ dataDir });
    expect((await appApi(instance, token).api('POST', '/scopes', { scope: 'damaged.example' })).status).toBe(201);
    const bin = (await sqlRows<{ role: string }>(instance.store, "SELECT role FROM tuf_metadata WHERE role LIKE 'bin-%' GROUP BY role HAVING MAX(version) > 1"))[0]!.role;
    await flipSignature(instance, 'timestamp');
    await flipSignature(instance, bin);
    await instance.close();

    instance = await openInstance({ dataDir });
    open.push(instance);
    expect(instance.repaired?.sort()).toEqual([bin, 'timestamp'].sort());
    const server = await startServer(instance, '127.0.0.1:0');
    servers.push(server);
    const client = TufClient.pinnedTo(server.url, dataDir);
    expect((await client.readJson('trust/damaged.example.json'))?.scope).toBe('damaged.example');
    await flipSignature(instance, 'root');
    await server.close();
    const refused = await openInstance({ dataDir }).then(
      () => null,
      (e) => e,
    );
    expect(isKeyshareError(refused) && refused.code).toBe('STORE_DAMAGED');
    expect(refused.message).toContain('root');
  });

  itSqlite('runs PRAGMA quick_check at start and reports what it found (SQLite)', async () => {
    const { dataDir } = await newDataDir();
    const instance = await openInstance({ dataDir });
    open.push(instance);
    expect(instance.storeCheck).toBe('ok');
    expect((await readyz(appApi(instance, null).app)).body.warnings).toEqual([]);
  });
});

describe('when the disk is full (issue 24 row 9)', () => {
  itSqlite('refuses writes with STORAGE_FULL (507) naming the data dir, and takes them again once there is room (SQLite)', async () => {
    const { dataDir, token } = await newDataDir();
    const instance = await openInstance({ dataDir });
    open.push(instance);
    const { api } = appApi(instance, token);
    const db = rawDb(instance.store);
    // SQLite's own limit on the file's pages makes the database full, as a full disk does.
    const pages = db.pragma('page_count', { simple: true }) as number;
    db.pragma(`max_page_count = ${pages}`);
    let refused: Awaited<ReturnType<typeof api>> | null = null;
    for (let i = 0; i < 200 && !refused; i++) {
      const r = await api('POST', '/scopes', { scope: `full-${i}.example`, level: 'audit' });
      if (r.status !== 201) refused = r;
    }
    expect(refused?.status).toBe(507);
    expect(refused?.body).toMatchObject({ code: 'STORAGE_FULL', message: expect.stringContaining(dataDir) });
    db.pragma('max_page_count = 1073741823');
    const again = await api('POST', '/scopes', { scope: 'room-again.example' });
    expect(again.status).toBe(201);
    await instance.publisher.flush();
    expect((await api('GET', '/scopes/room-again.example')).status).toBe(200);
  });
});

/** A TCP relay in front of PostgreSQL that can be cut (database down) and restored. */
class Relay {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  port = 0;
  constructor(private readonly target: { host: string; port: number }) {}
  async up(port = 0): Promise<void> {
    this.server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {});
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }
  async down(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }
}

describe.runIf(ON_POSTGRES)('when the PostgreSQL database goes down (issue 24 row 5)', () => {
  it('reports database: down in /readyz (503), keyshare_database_up 0 in /metrics (200), and DATABASE_UNAVAILABLE with Retry-After on writes; then recovers', async () => {
    const { dataDir, token } = await newDataDir();
    const url = new URL(configuredDatabase(dataDir)!);
    const relay = new Relay({ host: url.hostname, port: Number(url.port) });
    await relay.up();
    url.host = `127.0.0.1:${relay.port}`;
    const instance = await openInstance({ dataDir, database: url.toString() });
    open.push(instance);
    const server = await startServer(instance, '127.0.0.1:0', () => {}, { database: url.toString() });
    servers.push(server);
    const api = httpApi(server.url, token);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);

    await relay.down();
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ status: 'not ready', database: 'down' });
    const metrics = await fetch(`${server.url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/^keyshare_database_up 0$/m);
    const write = await api('POST', '/scopes', { scope: 'db-down.example' });
    expect(write.status).toBe(503);
    expect(write.body.code).toBe('DATABASE_UNAVAILABLE');
    expect(write.headers.get('retry-after')).toMatch(/^\d+$/);

    await relay.up(relay.port);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    expect(await (await fetch(`${server.url}/metrics`)).text()).toMatch(/^keyshare_database_up 1$/m);
    expect((await api('POST', '/scopes', { scope: 'db-back.example' })).status).toBe(201);
    await server.close();
  });
});
