/**
 * Issue 23: the transparency log of published versions, served and checked end to end. The
 * service appends one entry per timestamp version and serves a signed checkpoint and tiles
 * (C2SP tlog-tiles); `fetch` accepts a timestamp only with an inclusion proof in a checkpoint
 * consistent with the one it verified last. A split view, a rollback of the log, an unlogged
 * timestamp and a vanished log are refused.
 */
import { createHash } from 'node:crypto';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DownloadHTTPError } from 'tuf-js/dist/error.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCheckpoint } from '../../../shared/tlog/checkpoint.js';
import { parseEntry } from '../../../shared/tlog/leaf.js';
import { nodesNeeded, treeHash } from '../../../shared/tlog/merkle.js';
import { NoteSigner, openNote, parseVerifierKey } from '../../../shared/tlog/note.js';
import { decodeBundle, decodeTile, parseTilePath, tileKey, tilePath, tileReader, tilesFor, tileWidth } from '../../../shared/tlog/tiles.js';
import { isKeyshareError } from '../../../service/errors.js';
import { SqliteStore } from '../../../service/store/index.js';
import { logKeyPath } from '../../../service/tlog/key.js';
import { TransparencyLog } from '../../../service/tlog/log.js';
import { auditLog } from '../../../sync/client/log-audit.js';
import { logGetter } from '../../../sync/client/log-state.js';
import { fetchTrust, HttpFetcher, type FetchTrustOptions } from '../../../sync/client/index.js';
import { cleanupTempDirs, scopePath, startTestService, tempDir, type TestService } from '../../support/service.js';
import { errorCode, proofFrom, runCli } from '../../sync/client/support.js';
import { LogFetcher, codeOf } from './support.js';

let svc: TestService;


const get = async (path: string) => {
  const res = await fetch(`${svc.url}/log/${path}`);
  return { status: res.status, type: res.headers.get('content-type'), cache: res.headers.get('cache-control'), bytes: Buffer.from(await res.arrayBuffer()) };
};

/** One published change: a new scope. */
async function change(name: string): Promise<void> {
  expect((await svc.api('POST', '/scopes', { scope: `registry.acme.io/${name}` })).status).toBe(201);
  await svc.instance.publisher.flush();
}


const options = (fetcher: LogFetcher, extra: Partial<FetchTrustOptions> = {}): FetchTrustOptions => ({
  server: svc.url,
  root: join(svc.dataDir, 'root.json'),
  cache: tempDir('keyshare-cache-'),
  scopes: ['registry.acme.io'],
  fetcher,
  ...extra,
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

describe('the served log', () => {
  it('has one entry per published timestamp version, signed by the log key, with tiles that give the signed root', async () => {
    const key = parseVerifierKey((await get('key')).bytes.toString());
    const cpRes = await get('checkpoint');
    expect(cpRes.type).toBe('text/plain; charset=utf-8');
    expect(cpRes.cache).toBe('public, max-age=1');
    const cp = parseCheckpoint(openNote(cpRes.bytes.toString(), [key]).text);
    expect(cp.origin).toBe(key.name);
    const timestamps = await svc.instance.store.listMetadataVersions('timestamp');
    expect(cp.size).toBe(timestamps.length);

    const bundle = await get(tilePath({ level: 'entries', index: 0, width: cp.size }));
    expect(bundle.cache).toBe('public, max-age=31536000, immutable');
    const entries = decodeBundle(bundle.bytes, cp.size).map(parseEntry);
    expect(entries.map((e) => e.timestamp.version)).toEqual(timestamps.map((t) => t.version));
    expect(entries.map((e) => e.timestamp.sha256)).toEqual(timestamps.map((t) => createHash('sha256').update(t.bytes).digest('hex')));

    const tiles = new Map<string, Uint8Array[]>();
    for (const t of tilesFor(nodesNeeded((r) => treeHash(cp.size, r)), cp.size)) tiles.set(tileKey(t), decodeTile((await get(tilePath(t))).bytes, t.width));
    expect(Buffer.from(treeHash(cp.size, tileReader(tiles))).equals(Buffer.from(cp.root))).toBe(true);
  });

  it('serves no tile wider than the tree, and refuses non-canonical paths', async () => {
    const size = parseCheckpoint((await get('checkpoint')).bytes.toString().split('\n\n')[0] + '\n').size;
    expect((await get(tilePath({ level: 0, index: 0, width: size + 1 }))).status).toBe(404);
    expect((await get('tile/0/000')).status).toBe(404); // the full tile does not exist yet
    expect((await get('tile/0/0')).status).toBe(404);
    expect((await get(`tile/0/000.p/${size}`)).status).toBe(200);
  });

  it('keeps the log key 0600 in the data dir', () => {
    expect(readFileSync(logKeyPath(svc.dataDir), 'utf8')).toMatch(/^PRIVATE\+KEY\+keyshare\/[0-9a-f]{16}\+/);
  });
});

describe('fetch and the log', () => {
  it('accepts a logged timestamp, pins the log, and checks consistency on the next fetch', async () => {
    const fetcher = new LogFetcher();
    const o = options(fetcher);
    const first = await fetchTrust(o);
    expect(first.log?.index).toBe(first.log!.size - 1);
    await change('one');
    const second = await fetchTrust(o);
    expect(second.log!.size).toBeGreaterThan(first.log!.size);
    expect(second.metadata.timestampVersion).toBeGreaterThan(first.metadata.timestampVersion);
    expect(readFileSync(join(o.cache!, 'log', 'checkpoint'), 'utf8')).toBe((await get('checkpoint')).bytes.toString());
  });

  it('refuses a split view: a history that does not extend the checkpoint it verified (LOG_INCONSISTENT)', async () => {
    const fetcher = new LogFetcher();
    const o = options(fetcher);
    await fetchTrust(o);
    await change('two');
    // The service (with its own log key) shows this client another history: the same entries but one, rewritten.
    const forked = new TransparencyLog(SqliteStore.memory(), NoteSigner.fromPrivateKey(readFileSync(logKeyPath(svc.dataDir), 'utf8')));
    const real = await svc.instance.store.listLogEntries(0, 1_000);
    await forked.appendEntries(
      real.map((data, i) => {
        const e = i === 1 ? Buffer.from(data.toString().replace(/time \S+/, 'time 2000-01-01T00:00:00Z')) : data;
        return { data: e, timestampVersion: parseEntry(e).timestamp.version };
      }),
    );
    const forkedServe = async (path: string) =>
      path === 'checkpoint' ? Buffer.from((await forked.checkpoint())!) : path.startsWith('proof') ? Buffer.from((await forked.proof(undefined, proofFrom(path)))!) : path === 'key' ? (await get('key')).bytes : forked.tile(parseTilePath(path)!);
    fetcher.serve = forkedServe;
    expect(await codeOf(fetchTrust(o))).toBe('LOG_INCONSISTENT');
    // The same through checkpoint and tiles, from a server without /log/proof.
    fetcher.serve = async (path) => (path.startsWith('proof') ? null : forkedServe(path));
    expect(await codeOf(fetchTrust(o))).toBe('LOG_INCONSISTENT');
    fetcher.serve = forkedServe;
    // A client that never saw the real log accepts the fork: that is what the witnesses are for.
    expect((await fetchTrust(options(fetcher))).log).toBeTruthy();
  });

  it('refuses a rollback of the log, an unlogged timestamp, and a log that vanished', async () => {
    const fetcher = new LogFetcher();
    const o = options(fetcher);
    const old = (await get('checkpoint')).bytes;
    const oldProof = (await get('proof')).bytes;
    await change('three');
    await fetchTrust(o);
    await change('four');
    fetcher.serve = async (path) => (path === 'checkpoint' ? old : path.startsWith('proof') ? oldProof : (await get(path)).bytes);
    expect(await codeOf(fetchTrust(o))).toBe('LOG_INCONSISTENT');
    // A fresh client shown a checkpoint without the current timestamp (the old proof, with the
    // current timestamp.json in it). Shown an older state whole, it takes it, as TUF does on
    // first contact: the timestamp's expiry bounds that.
    const stale = JSON.parse(oldProof.toString()) as Record<string, unknown>;
    stale.timestamp = (await get('proof').then((r) => JSON.parse(r.bytes.toString()) as Record<string, unknown>)).timestamp;
    fetcher.serve = async (path) => (path === 'checkpoint' ? old : path.startsWith('proof') ? Buffer.from(JSON.stringify(stale)) : (await get(path)).bytes);
    expect(await codeOf(fetchTrust(options(fetcher)))).toBe('NOT_LOGGED');
    // The same through checkpoint and tiles, from a server without /log/proof.
    fetcher.serve = async (path) => (path === 'checkpoint' ? old : path.startsWith('proof') ? null : (await get(path)).bytes);
    expect(await codeOf(fetchTrust(o))).toBe('LOG_INCONSISTENT');
    expect(await codeOf(fetchTrust(options(fetcher)))).toBe('NOT_LOGGED');
    fetcher.serve = async () => null;
    expect(await codeOf(fetchTrust(o))).toBe('NOT_LOGGED');
    expect(await codeOf(fetchTrust(options(fetcher, { requireLog: true })))).toBe('NOT_LOGGED');
    // Even a fresh client: the signed targets state the log key, which announces the log.
    expect(await codeOf(fetchTrust(options(fetcher)))).toBe('NOT_LOGGED');
  });

  it('checks a new timestamp with one log request, /log/proof, whose proof it verifies (issue 17)', async () => {
    const paths: string[] = [];
    const fetcher = new LogFetcher();
    fetcher.serve = async (path) => (paths.push(path), (await get(path)).bytes);
    const o = options(fetcher);
    const first = await fetchTrust(o);
    expect(paths).toEqual(['proof']);
    // An empty cache takes timestamp.json from the proof: no request for it.
    expect(fetcher.requests.filter((u) => u.endsWith('/timestamp.json'))).toEqual([]);
    expect(first.log?.index).toBe(first.log!.size - 1);
    await change('five');
    await change('six');
    await change('seven');
    paths.length = 0;
    expect((await fetchTrust(o)).log!.size).toBeGreaterThan(first.log!.size + 2);
    // Issue 23: the consistency proof from the kept checkpoint comes in the same answer (?from=): no tiles.
    expect(paths).toEqual([`proof?from=${first.log!.size}`]);
    paths.length = 0;
    await fetchTrust(o);
    expect(paths).toEqual([]);

    // A proof that does not verify against the signed root is refused, whatever else is served.
    const real = JSON.parse((await get('proof')).bytes.toString()) as { inclusion: string[]; entry: string; timestamp: string };
    const forged = (edit: (p: typeof real) => void) => {
      const p = structuredClone(real);
      edit(p);
      fetcher.serve = async (path) => (path.startsWith('proof') ? Buffer.from(JSON.stringify(p)) : (await get(path)).bytes);
      return fetchTrust(options(fetcher));
    };
    expect(real.inclusion.length).toBeGreaterThan(0);
    expect(await codeOf(forged((p) => (p.inclusion[0] = Buffer.alloc(32, 7).toString('base64'))))).toBe('NOT_LOGGED');
    expect(await codeOf(forged((p) => (p.entry = Buffer.from(Buffer.from(p.entry, 'base64').toString().replace(/time \S+/, 'time 2000-01-01T00:00:00Z')).toString('base64'))))).toBe('NOT_LOGGED');
    expect(await codeOf(forged((p) => (p.inclusion = ['not a hash'])))).toBe('NOT_LOGGED');
    // The timestamp it carries is verified by tuf-js like any download.
    const altered = await codeOf(forged((p) => (p.timestamp = Buffer.from(Buffer.from(p.timestamp, 'base64').toString().replace(/"version":(\d+)/, (_, v) => `"version":${Number(v) + 1}`)).toString('base64'))));
    expect(altered).toBe('BAD_SIGNATURE');
    // A server without /log/proof: the checkpoint and the tiles, as before (no /log/key: the
    // signed targets state the key).
    paths.length = 0;
    fetcher.serve = async (path) => (paths.push(path), path.startsWith('proof') ? null : (await get(path)).bytes);
    expect((await fetchTrust(options(fetcher))).log).toBeTruthy();
    expect(paths.slice(0, 2)).toEqual(['proof', 'checkpoint']);
    expect(paths).not.toContain('key');
  });

  it('serves the consistency proof from a kept checkpoint with ?from=, verified against both signed roots (issue 23)', async () => {
    const fetcher = new LogFetcher();
    const o = options(fetcher);
    const kept = (await fetchTrust(o)).log!.size;
    await change('eight');
    const size = kept + 1;
    const served = JSON.parse((await get(`proof?from=${kept}`)).bytes.toString()) as { from: number; consistency: string[] };
    expect(served.from).toBe(kept);
    expect(served.consistency.length).toBeGreaterThan(0);
    // It leaves out timestamp.json: the client asking has just refreshed it through TUF.
    expect(served).not.toHaveProperty('timestamp');
    expect(JSON.parse((await get('proof')).bytes.toString())).not.toHaveProperty('consistency');
    expect(JSON.parse((await get('proof')).bytes.toString())).toHaveProperty('timestamp');
    expect(JSON.parse((await get(`proof?from=${size}`)).bytes.toString())).toMatchObject({ from: size, consistency: [] });
    for (const bad of ['0', String(size + 1), 'abc', '-1', '1.5', '', '1e3', '9'.repeat(16)]) {
      const res = await get(`proof?from=${bad}`);
      expect([bad, res.status]).toEqual([bad, 400]);
      expect((JSON.parse(res.bytes.toString()) as { code: string }).code).toBe('BAD_REQUEST');
    }

    const paths: string[] = [];
    const serveEdited = (edit: (p: Record<string, unknown>) => void) => async (path: string) => {
      paths.push(path);
      if (!path.startsWith('proof')) return (await get(path)).bytes;
      const p = JSON.parse((await get(path)).bytes.toString()) as Record<string, unknown>;
      edit(p);
      return Buffer.from(JSON.stringify(p));
    };
    // A forged consistency hash fails against the signed roots: refused, not retried from the tiles.
    const copy = () => {
      const cache = tempDir('keyshare-cache-');
      cpSync(o.cache!, cache, { recursive: true });
      return { ...o, cache };
    };
    fetcher.serve = serveEdited((p) => ((p.consistency as string[])[0] = Buffer.alloc(32, 7).toString('base64')));
    expect(await codeOf(fetchTrust(copy()))).toBe('LOG_INCONSISTENT');
    fetcher.serve = serveEdited((p) => (p.consistency = []));
    expect(await codeOf(fetchTrust(copy()))).toBe('LOG_INCONSISTENT');
    // Malformed (too many hashes): refused as any malformed /log/proof.
    fetcher.serve = serveEdited((p) => (p.consistency = Array.from({ length: 65 }, () => Buffer.alloc(32).toString('base64'))));
    expect(await codeOf(fetchTrust(copy()))).toBe('NOT_LOGGED');
    // An answer without it (an older server, a static dir), or for another size: the tiles give it.
    for (const edit of [(p: Record<string, unknown>) => (delete p.from, delete p.consistency), (p: Record<string, unknown>) => (p.from = 1)]) {
      paths.length = 0;
      fetcher.serve = serveEdited(edit);
      expect((await fetchTrust(copy())).log!.size).toBe(size);
      expect(paths[0]).toBe(`proof?from=${kept}`);
      expect(paths.filter((p) => p.startsWith('tile/')).length).toBeGreaterThan(0);
    }
    // A log now shorter than the kept checkpoint (a restore from a backup) answers 400 to ?from=:
    // asked again without it, the client names the rollback.
    const short = new TransparencyLog(SqliteStore.memory(), NoteSigner.fromPrivateKey(readFileSync(logKeyPath(svc.dataDir), 'utf8')));
    const entries = await svc.instance.store.listLogEntries(0, kept - 1);
    await short.appendEntries(entries.map((data) => ({ data, timestampVersion: parseEntry(data).timestamp.version })));
    paths.length = 0;
    fetcher.serve = async (path) => {
      paths.push(path);
      if (!path.startsWith('proof')) return path === 'checkpoint' ? Buffer.from((await short.checkpoint())!) : short.tile(parseTilePath(path)!);
      try {
        return Buffer.from((await short.proof(undefined, proofFrom(path)))!);
      } catch (e) {
        throw isKeyshareError(e) && e.code === 'BAD_REQUEST' ? new DownloadHTTPError(`download failed: HTTP 400 for ${path}`, 400) : e;
      }
    };
    expect(await codeOf(fetchTrust(copy()))).toBe('LOG_INCONSISTENT');
    expect(paths.slice(0, 2)).toEqual([`proof?from=${kept}`, 'proof']);
    // The real answer: one request, accepted.
    paths.length = 0;
    fetcher.serve = serveEdited(() => undefined);
    expect((await fetchTrust(o)).log!.size).toBe(size);
    expect(paths).toEqual([`proof?from=${kept}`]);
  });

  it('refuses a checkpoint not signed by the pinned --log-key', async () => {
    const other = NoteSigner.generate('keyshare/0000000000000000');
    const fetcher = new LogFetcher();
    expect(await codeOf(fetchTrust(options(fetcher, { logKey: other.verifierKey() })))).toBe('LOG_INCONSISTENT');
    expect((await fetchTrust(options(fetcher, { logKey: (await get('key')).bytes.toString().trim(), requireLog: true }))).log).toBeTruthy();
  });

  it('is what `keyshare fetch --require-log --log-key FILE` checks (the built CLI)', async () => {
    const keyFile = join(tempDir(), 'log.vkey');
    writeFileSync(keyFile, (await get('key')).bytes);
    const args = ['fetch', '--server', svc.url, '--root', join(svc.dataDir, 'root.json'), '--format', 'json', '--require-log', '--log-key', keyFile, '--json'];
    const ok = await runCli([...args, '--out', join(tempDir(), 'out'), '--cache', tempDir()]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).log.size).toBeGreaterThan(1);
    writeFileSync(keyFile, NoteSigner.generate(parseVerifierKey((await get('key')).bytes.toString()).name).verifierKey());
    const refused = await runCli([...args, '--out', join(tempDir(), 'out'), '--cache', tempDir()]);
    expect(errorCode(refused)).toBe('LOG_INCONSISTENT');
  });
});

describe('keyshare log verify', () => {
  it('verifies every entry against the signed root and the served TUF files (the built CLI)', async () => {
    const r = await runCli(['log', 'verify', '--server', svc.url, '--root', join(svc.dataDir, 'root.json'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.size).toBe((await svc.instance.store.listMetadataVersions('timestamp')).length);
    expect(report.gaps).toEqual([]);
    expect(report.served.mismatched).toEqual([]);
    expect(report.served.checked).toBeGreaterThan(1);
  });

  it('takes the log key from the signed targets (--root), never from the server alone; a --log-key that is not the stated one is refused', async () => {
    expect(errorCode(await runCli(['log', 'verify', '--server', svc.url]))).toBe('CONFIG_INVALID');
    const other = join(tempDir(), 'other.vkey');
    writeFileSync(other, NoteSigner.generate(parseVerifierKey((await get('key')).bytes.toString()).name).verifierKey());
    expect(errorCode(await runCli(['log', 'verify', '--server', svc.url, '--root', join(svc.dataDir, 'root.json'), '--log-key', other]))).toBe('LOG_INCONSISTENT');
    // Without --root, a --log-key given out of band is the key: this one signed no checkpoint.
    expect(errorCode(await runCli(['log', 'verify', '--server', svc.url, '--log-key', other]))).toBe('LOG_INCONSISTENT');
  });

  it('finds an entry that differs from the served snapshot, and a log that does not extend --from', async () => {
    const fetcher = new HttpFetcher();
    const key = parseVerifierKey((await get('key')).bytes.toString());
    const real = await svc.instance.store.listLogEntries(0, 1_000);
    const forked = new TransparencyLog(SqliteStore.memory(), NoteSigner.fromPrivateKey(readFileSync(logKeyPath(svc.dataDir), 'utf8')));
    await forked.appendEntries(
      real.map((data, i) => {
        const e = i === real.length - 1 ? Buffer.from(data.toString().replace(/(snapshot \d+ sha256:)\S+/, `$1${'0'.repeat(64)}`)) : data;
        return { data: e, timestampVersion: parseEntry(e).timestamp.version };
      }),
    );
    const forkedGet = async (path: string) => (path === 'checkpoint' ? Buffer.from((await forked.checkpoint())!) : forked.tile(parseTilePath(path)!));
    const tuf = logGetter(`${svc.url}/tuf`, fetcher, '');
    const report = await auditLog({ get: forkedGet, tuf, key });
    expect(report.served.mismatched).toContainEqual({ index: real.length - 1, file: expect.stringMatching(/\.snapshot\.json$/) });
    const realCheckpoint = (await get('checkpoint')).bytes.toString();
    expect(await codeOf(auditLog({ get: forkedGet, tuf, key, from: realCheckpoint }))).toBe('LOG_INCONSISTENT');
    expect((await auditLog({ get: logGetter(svc.url, fetcher), tuf, key, from: realCheckpoint })).served.mismatched).toEqual([]);
  });
});
