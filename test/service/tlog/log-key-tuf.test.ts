/**
 * Issue 23: the log key travels through TUF. The signed top-level targets state it (index.json's
 * `custom.keyshare.logKey`), so `fetch` verifies checkpoints from its first run against a key the
 * pinned root's chain authenticates, not the one a server or mirror announces at /log/key; a new
 * key stated there replaces the pinned one (rotation), and the history stays checked.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MetadataKind } from '@tufjs/models';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEntry } from '../../../shared/tlog/leaf.js';
import { NoteSigner, openNote, parseVerifierKey } from '../../../shared/tlog/note.js';
import { logKeyPath } from '../../../service/tlog/key.js';
import { proofFrom, runCli } from '../../sync/client/support.js';
import { parseTilePath } from '../../../shared/tlog/tiles.js';
import { logKeyStated, INDEX_TARGET } from '../../../shared/trust-index.js';
import { parseMetadata } from '../../../service/repo/tuf.js';
import { SqliteStore } from '../../../service/store/index.js';
import { TransparencyLog } from '../../../service/tlog/log.js';
import { fetchTrust, type FetchTrustOptions } from '../../../sync/client/index.js';
import { cleanupTempDirs, startTestService, tempDir, type TestService } from '../../support/service.js';
import { LogFetcher, codeOf } from './support.js';

let svc: TestService;


const served = async (path: string) => Buffer.from(await (await fetch(`${svc.url}/log/${path}`)).arrayBuffer());
const realKey = async () => (await served('key')).toString().trim();


async function change(name: string) {
  expect((await svc.api('POST', '/scopes', { scope: `registry.acme.io/${name}` })).status).toBe(201);
  await svc.instance.publisher.flush();
}

/** The service's entries (the first `size`) in a log of their own, signed by `signer`. */
async function copyLog(signer: NoteSigner, size?: number): Promise<TransparencyLog> {
  const log = new TransparencyLog(SqliteStore.memory(), signer);
  const entries = await svc.instance.store.listLogEntries(0, size ?? 1_000);
  await log.appendEntries(entries.map((data) => ({ data, timestampVersion: parseEntry(data).timestamp.version })));
  return log;
}

/** Serves `log` as /log/ would: the checkpoint, the proof (issue 17), the key given, and tiles. */
const serveLog = (log: TransparencyLog, key: string) => async (path: string) => {
  if (path === 'checkpoint') return Buffer.from((await log.checkpoint())!);
  if (path.startsWith('proof')) return Buffer.from((await log.proof(undefined, proofFrom(path)))!);
  if (path === 'key') return Buffer.from(key + '\n');
  const tile = parseTilePath(path);
  return tile ? log.tile(tile) : null;
};

const options = (fetcher: LogFetcher, cache = tempDir('keyshare-cache-')): FetchTrustOptions => ({
  server: svc.url,
  root: join(svc.dataDir, 'root.json'),
  cache,
  scopes: ['registry.acme.io'],
  fetcher,
});

beforeAll(async () => {
  svc = await startTestService();
  expect((await svc.api('POST', '/scopes', { scope: 'registry.acme.io' })).status).toBe(201);
  await svc.instance.publisher.flush();
});
afterAll(async () => {
  await svc?.close();
  cleanupTempDirs();
});

describe('the log key in the signed targets', () => {
  it("is stated in index.json's entry of the top-level targets, from init on", async () => {
    const targets = parseMetadata(MetadataKind.Targets, svc.instance.publisher.latestMetadata('targets')!.bytes).signed;
    expect(logKeyStated(targets.targets[INDEX_TARGET]?.custom)).toBe(await realKey());
    // From the first version on: no publish was needed to state it.
    const v1 = await svc.instance.store.getMetadata('targets', 1);
    expect(logKeyStated(parseMetadata(MetadataKind.Targets, v1!.bytes).signed.targets[INDEX_TARGET]?.custom)).toBe(await realKey());
  });

  it('makes a first fetch refuse a log signed by another key, even one that /log/key announces (no trust on first use)', async () => {
    const name = parseVerifierKey(await realKey()).name;
    const attacker = NoteSigner.generate(name);
    const fetcher = new LogFetcher();
    fetcher.serve = serveLog(await copyLog(attacker), attacker.verifierKey());
    expect(await codeOf(fetchTrust(options(fetcher)))).toBe('LOG_INCONSISTENT');
    fetcher.serve = null;
    const ok = await fetchTrust(options(fetcher));
    expect(ok.log).toBeTruthy();
  });

  it('replaces a pinned key with the one the targets state (rotation), still checking the history against the kept checkpoint', async () => {
    const fetcher = new LogFetcher();
    const cache = tempDir('keyshare-cache-');
    await fetchTrust(options(fetcher, cache));
    // As if this client had verified the log under an earlier key: its pinned key and checkpoint are the old key's.
    const name = parseVerifierKey(await realKey()).name;
    const old = NoteSigner.generate(name);
    const size = await svc.instance.store.logSize();
    writeFileSync(join(cache, 'log', 'key'), old.verifierKey() + '\n');
    writeFileSync(join(cache, 'log', 'checkpoint'), (await (await copyLog(old, size)).checkpoint())!);
    await change('rotated');
    expect(await codeOf(fetchTrust(options(fetcher, cache)))).toBe('accepted');
    expect(readFileSync(join(cache, 'log', 'key'), 'utf8').trim()).toBe(await realKey());

    // A kept checkpoint of another history, under the old key: the new key does not wash it away.
    const other = tempDir('keyshare-cache-');
    await fetchTrust(options(fetcher, other));
    const forked = new TransparencyLog(SqliteStore.memory(), old);
    const entries = await svc.instance.store.listLogEntries(0, size);
    await forked.appendEntries(entries.map((data, i) => ({ data: i === 0 ? Buffer.from(data.toString().replace(/time \S+/, 'time 2000-01-01T00:00:00Z')) : data, timestampVersion: parseEntry(data).timestamp.version })));
    writeFileSync(join(other, 'log', 'key'), old.verifierKey() + '\n');
    writeFileSync(join(other, 'log', 'checkpoint'), (await forked.checkpoint())!);
    await change('rotated-2');
    expect(await codeOf(fetchTrust(options(fetcher, other)))).toBe('LOG_INCONSISTENT');
  });

  it('is rotated by `keyshare key rotate log`: the targets state the new key, clients that pinned the old one and fresh ones accept, log verify too (the built CLI)', async () => {
    const fetcher = new LogFetcher();
    const cache = tempDir('keyshare-cache-');
    await fetchTrust(options(fetcher, cache));
    const before = await realKey();
    const env = { KEYSHARE_SERVER: svc.url, KEYSHARE_TOKEN: svc.token };
    const r = await runCli(['key', 'rotate', 'log', '--json'], { env });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { previous: string; key: string; timestampVersion: number };
    expect(out.previous).toBe(before);
    expect(out.key).not.toBe(before);
    const key = parseVerifierKey(out.key);
    expect(key.name).toBe(parseVerifierKey(before).name); // the same log
    expect(await realKey()).toBe(out.key);
    expect(readFileSync(logKeyPath(svc.dataDir), 'utf8')).toMatch(new RegExp(`^PRIVATE\\+KEY\\+${key.name.replace('/', '\\/')}\\+`));
    const targets = parseMetadata(MetadataKind.Targets, svc.instance.publisher.latestMetadata('targets')!.bytes).signed;
    expect(logKeyStated(targets.targets[INDEX_TARGET]?.custom)).toBe(out.key);
    expect(svc.instance.publisher.latestMetadata('timestamp')!.version).toBe(out.timestampVersion);

    // The rotation's checkpoint is signed by both keys (a client that has not read the new targets yet still verifies it).
    const transition = (await served('checkpoint')).toString();
    expect(openNote(transition, [parseVerifierKey(before)]).verified).toHaveLength(1);
    expect(openNote(transition, [key]).verified).toHaveLength(1);
    // The client that pinned the old key takes the stated one, its kept checkpoint checked with the old.
    expect(await codeOf(fetchTrust(options(fetcher, cache)))).toBe('accepted');
    expect(readFileSync(join(cache, 'log', 'key'), 'utf8').trim()).toBe(out.key);
    expect(await codeOf(fetchTrust(options(fetcher)))).toBe('accepted');
    // After the rotation's publish, the old key signs no more checkpoints.
    await change('after-rotation');
    const note = (await served('checkpoint')).toString();
    expect(() => openNote(note, [parseVerifierKey(before)])).toThrow();
    expect(openNote(note, [key]).verified).toHaveLength(1);
    expect(await codeOf(fetchTrust(options(fetcher, cache)))).toBe('accepted');
    const verify = await runCli(['log', 'verify', '--server', svc.url, '--root', join(svc.dataDir, 'root.json'), '--json']);
    expect(verify.code, verify.stderr).toBe(0);
    expect((await runCli(['key', 'rotate', 'log', '--pkcs11', 'pkcs11:token=x'], { env })).stderr).toMatch(/BAD_REQUEST/);
  });
});
