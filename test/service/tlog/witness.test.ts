/**
 * Issue 23, witnesses, on loopback: one keyshare service (the log) sends each checkpoint to a
 * second keyshare service started with a witness (`serve --witness-for`), which cosigns it (C2SP
 * tlog-witness, tlog-cosignature); clients that require the witness accept the cosigned
 * checkpoint and refuse any other. A split view (a checkpoint inconsistent with the one the
 * witness cosigned) is refused by the witness, durably, and so by those clients.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCheckpoint } from '../../../shared/tlog/checkpoint.js';
import { Cosigner } from '../../../shared/tlog/cosignature.js';
import { parseEntry } from '../../../shared/tlog/leaf.js';
import { NoteSigner, signNote } from '../../../shared/tlog/note.js';
import { parseTilePath } from '../../../shared/tlog/tiles.js';
import { openInstance, type Instance } from '../../../service/instance.js';
import { ANY_ADDRESS } from '../../../service/net/outbound.js';
import { startServer, type RunningServer } from '../../../service/server.js';
import { SqliteStore } from '../../../service/store/index.js';
import { logKeyPath } from '../../../service/tlog/key.js';
import { TransparencyLog } from '../../../service/tlog/log.js';
import { Witness, loadWitnessKey, readLogKeys, witnessKeyPath } from '../../../service/tlog/witness.js';
import { WitnessConfig, Witnessing } from '../../../service/tlog/witnesses.js';
import { fetchTrust, type FetchTrustOptions } from '../../../sync/client/index.js';
import { cleanupTempDirs, eventually, newDataDir, startTestService, tempDir, type TestService } from '../../support/service.js';
import { runCli } from '../../sync/client/support.js';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { packageRoot } from '../../../service/util/paths.js';
import { cosignedBy, parseCosignerKey } from '../../../shared/tlog/cosignature.js';
import { parseVerifierKey } from '../../../shared/tlog/note.js';
import { LogFetcher, codeOf } from './support.js';

let log: TestService;
let witnessDir: string;
let w: { instance: Instance; server: RunningServer; url: string; witness: Witness };
let logKeyFile: string;
let witnessKey: string;


async function startWitness(): Promise<typeof w> {
  const instance = await openInstance({ dataDir: witnessDir, outbound: ANY_ADDRESS });
  const witness = new Witness(instance.store, loadWitnessKey(witnessDir, 'witness.test/w1'), readLogKeys([logKeyFile]));
  const server = await startServer(instance, '127.0.0.1:0', undefined, { witness });
  return { instance, server, url: server.url, witness };
}

const checkpoint = async () => (await fetch(`${log.url}/log/checkpoint`)).text();
const textOf = (note: string) => note.slice(0, note.indexOf('\n\n') + 1);
/** Waits until the log serves its newest checkpoint with the witness's cosignature. */
const cosigned = () => eventually(checkpoint, (n) => n.includes('\n— witness.test/w1 '), 10_000);
const addCheckpoint = async (body: string) => {
  const res = await fetch(`${w.url}/witness/add-checkpoint`, { method: 'POST', body });
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
};

async function change(name: string): Promise<void> {
  expect((await log.api('POST', '/scopes', { scope: `registry.acme.io/${name}` })).status).toBe(201);
  await log.instance.publisher.flush();
}


const options = (extra: Partial<FetchTrustOptions> = {}): FetchTrustOptions => ({
  server: log.url,
  root: join(log.dataDir, 'root.json'),
  cache: tempDir('keyshare-cache-'),
  scopes: ['registry.acme.io'],
  witnesses: [{ text: witnessKey, where: 'w1.vkey' }],
  witnessWaitMs: 0, // refusals at once; the wait has its own test
  ...extra,
});

/** The log's own history, forked: entry 1 rewritten, and `extra` more entries (what a lying log shows). */
async function forkedLog(extra: number): Promise<TransparencyLog> {
  const forked = new TransparencyLog(SqliteStore.memory(), NoteSigner.fromPrivateKey(readFileSync(logKeyPath(log.dataDir), 'utf8')));
  const real = await log.instance.store.listLogEntries(0, 1_000);
  const entries = real.map((data, i) => (i === 1 ? Buffer.from(data.toString().replace(/time \S+/, 'time 2000-01-01T00:00:00Z')) : data));
  for (let i = 0; i < extra; i++) entries.push(Buffer.from(entries.at(-1)!.toString().replace(/^timestamp (\d+)/m, (_, v) => `timestamp ${Number(v) + 1}`)));
  await forked.appendEntries(entries.map((data) => ({ data, timestampVersion: parseEntry(data).timestamp.version })));
  return forked;
}

let staticDir: string;

beforeAll(async () => {
  staticDir = join(tempDir('keyshare-static-'), 'static');
  log = await startTestService({ server: { staticDir } });
  expect((await log.api('POST', '/scopes', { scope: 'registry.acme.io' })).status).toBe(201);
  await log.instance.publisher.flush();
  logKeyFile = join(tempDir(), 'log.vkey');
  writeFileSync(logKeyFile, await (await fetch(`${log.url}/log/key`)).text());
  witnessDir = (await newDataDir()).dataDir;
  w = await startWitness();
  witnessKey = (await (await fetch(`${w.url}/witness/key`)).text()).trim();
}, 60_000);
afterAll(async () => {
  await w?.server.close();
  await log?.close();
  cleanupTempDirs();
});

describe('a keyshare witness on loopback', () => {
  it('serves its cosignature/v1 key, kept 0600 in its data dir', () => {
    expect(witnessKey).toMatch(/^witness\.test\/w1\+[0-9a-f]{8}\+B[A-Za-z0-9+/]{43}$/); // base64(0x04 || key)
    expect(readFileSync(witnessKeyPath(witnessDir), 'utf8')).toMatch(/^PRIVATE\+KEY\+witness\.test\/w1\+/);
    expect(statSync(witnessKeyPath(witnessDir)).mode & 0o777).toBe(0o600);
  });

  it('cosigns the log once added; fetch with a 1-of-1 witness policy accepts, and keeps accepting as the log grows', async () => {
    const before = await checkpoint();
    expect(before).not.toContain('— witness.test/w1');
    // Without the cosignature the client refuses.
    expect(await codeOf(fetchTrust(options()))).toBe('NOT_WITNESSED');
    const added = await log.api('POST', '/witnesses', { name: 'w1', url: `${w.url}/witness`, key: witnessKey });
    expect(added.status, JSON.stringify(added.body)).toBe(201);
    expect(textOf(await cosigned())).toBe(textOf(before));
    const o = options({ witnessThreshold: 1 });
    const first = await fetchTrust(o);
    expect(first.log?.witnessedBy).toEqual(['witness.test/w1']);
    // A publish: the log sends the new checkpoint with a consistency proof from the size the witness cosigned.
    await change('one');
    await change('two');
    const after = await cosigned();
    expect(parseCheckpoint(textOf(after)).size).toBeGreaterThan(first.log!.size);
    expect((await w.witness.state(parseCheckpoint(textOf(after)).origin)).size).toBe(parseCheckpoint(textOf(after)).size);
    expect((await fetchTrust(o)).log?.witnessedBy).toEqual(['witness.test/w1']);
    const listed = await log.api('GET', '/witnesses');
    expect(listed.body.witnesses).toMatchObject([{ name: 'w1', cosigned: true, lastError: null }]);
  });

  it('serves /log/proof with the same cosigned checkpoint, so that `fetch --witness` checks the log in one request', async () => {
    const note = await cosigned();
    const proof = JSON.parse(await (await fetch(`${log.url}/log/proof`)).text()) as { checkpoint: string };
    expect(proof.checkpoint).toBe(note);
    const fetcher = new LogFetcher();
    const got = await fetchTrust(options({ fetcher }));
    expect(got.log?.witnessedBy).toEqual(['witness.test/w1']);
    expect(fetcher.asked).toEqual(['proof']);
    // A proof whose checkpoint lost its cosignatures (a server that forgot them) is refused.
    const bare = new LogFetcher();
    bare.serve = async (path) => (path === 'proof' ? Buffer.from(JSON.stringify({ ...proof, checkpoint: note.slice(0, note.indexOf('— witness.test/w1')) })) : null);
    expect(await codeOf(fetchTrust(options({ fetcher: bare })))).toBe('NOT_WITNESSED');
  });

  it('closes the freshness gap: a publish serves its version once its checkpoint is cosigned, and a client reads an uncosigned checkpoint again (bounded)', async () => {
    await cosigned();
    await change('fresh');
    // No waiting here: the publish collected the cosignature before serving the new timestamp.
    const served = await checkpoint();
    expect(served).toContain('\n— witness.test/w1 ');
    const ts = log.instance.publisher.latestMetadata('timestamp')!.version;
    const fresh = await fetchTrust(options());
    expect(fresh.log?.witnessedBy).toEqual(['witness.test/w1']);
    expect(fresh.metadata.timestampVersion).toBe(ts);

    // A checkpoint read before its cosignatures came (a publish elsewhere, a witness slower than the publish's wait):
    // the client reads it again, each time checked in full, until it is cosigned or the wait ends.
    const fetcher = new LogFetcher();
    let reads = 0;
    fetcher.serve = async (path) => {
      // A server without /log/proof (issue 17), so that the checkpoint is read on its own.
      if (path === 'proof') return null;
      if (path !== 'checkpoint') return (await fetch(`${log.url}/log/${path}`)).arrayBuffer().then((b) => new Uint8Array(b));
      reads++;
      return Buffer.from(reads < 3 ? served.replace(/— witness\.test\/w1 .*\n/, '') : served);
    };
    expect(await codeOf(fetchTrust(options({ fetcher })))).toBe('NOT_WITNESSED');
    reads = 0;
    expect((await fetchTrust(options({ fetcher, witnessWaitMs: 4_000 }))).log?.witnessedBy).toEqual(['witness.test/w1']);
    expect(reads).toBe(3);
  });

  it('copies the cosigned checkpoint into --static-dir (the bytes /log/checkpoint serves), and a client with the witness policy accepts the copy', async () => {
    await change('static');
    const served = await cosigned();
    const copy = () => readFileSync(join(staticDir, 'log', 'checkpoint'), 'utf8');
    // The cosignature comes after the publish: the copy follows the witnesses' round.
    expect(await eventually(async () => copy(), (c) => c === served, 10_000)).toBe(served);
    expect(readFileSync(join(staticDir, 'log', 'key'), 'utf8')).toBe(readFileSync(logKeyFile, 'utf8'));
    const fetcher = new LogFetcher();
    fetcher.serve = async (path) => {
      try {
        return readFileSync(join(staticDir, 'log', path));
      } catch {
        return null;
      }
    };
    expect((await fetchTrust(options({ fetcher }))).log?.witnessedBy).toEqual(['witness.test/w1']);
  });

  it('refuses a bad witness: not a cosignature/v1 key, a taken name, not an http(s) URL', async () => {
    const logKey = readFileSync(logKeyFile, 'utf8').trim();
    expect(await log.api('POST', '/witnesses', { name: 'x', url: `${w.url}/witness`, key: logKey })).toMatchObject({ status: 400, body: { code: 'BAD_PUBLIC_KEY' } });
    expect(await log.api('POST', '/witnesses', { name: 'w1', url: `${w.url}/witness`, key: witnessKey })).toMatchObject({ status: 409, body: { code: 'CONFLICT' } });
    expect(await log.api('POST', '/witnesses', { name: 'x', url: 'ftp://witness.example/w', key: witnessKey })).toMatchObject({ status: 400, body: { code: 'BAD_REQUEST' } });
    expect(await log.api('POST', '/witnesses', { name: 'a b', url: `${w.url}/witness`, key: witnessKey })).toMatchObject({ status: 400 });
    expect(await log.api('DELETE', '/witnesses/nope')).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
    expect((await log.api('GET', '/witnesses')).body.witnesses.map((x: { name: string }) => x.name)).toEqual(['w1']);
  });

  it('refuses a checkpoint without enough cosignatures of the witnesses a client names (NOT_WITNESSED)', async () => {
    await cosigned();
    const stranger = Cosigner.generate('witness.test/other').verifierKey();
    expect(await codeOf(fetchTrust(options({ witnesses: [{ text: stranger, where: 'x' }] })))).toBe('NOT_WITNESSED');
    const two = [{ text: witnessKey, where: 'w1' }, { text: stranger, where: 'x' }];
    expect(await codeOf(fetchTrust(options({ witnesses: two })))).toBe('NOT_WITNESSED');
    expect((await fetchTrust(options({ witnesses: two, witnessThreshold: 1 }))).log?.witnessedBy).toEqual(['witness.test/w1']);
    expect(await codeOf(fetchTrust(options({ witnesses: two, witnessThreshold: 3 })))).toBe('CONFIG_INVALID');
    expect(await codeOf(fetchTrust(options({ witnesses: [{ text: 'nonsense', where: 'x' }] })))).toBe('CONFIG_INVALID');
  });

  it('never cosigns a split view: the forked history gets 422/409, the witness state stays, and clients requiring it refuse the fork', async () => {
    const real = parseCheckpoint(textOf(await cosigned()));
    const state = await w.witness.state(real.origin);
    expect(state.size).toBe(real.size);
    const forked = await forkedLog(1);
    const note = (await forked.checkpoint())!;
    // The log (lying) asks the witness: from the size it cosigned, with a proof from its forked tree.
    const proof = (await forked.consistencyProof(real.size, real.size + 1)).map((h) => Buffer.from(h).toString('base64') + '\n').join('');
    const refused = await addCheckpoint(`old ${real.size}\n${proof}\n${note}`);
    expect(refused.status).toBe(422);
    // From size 0 (a log that forgot): 409, naming the size the witness cosigned.
    const conflict = await addCheckpoint(`old 0\n\n${note}`);
    expect(conflict).toMatchObject({ status: 409, type: 'text/x.tlog.size', text: `${real.size}\n` });
    // The same size with another root: 409 too.
    const same = await forkedLog(0);
    expect((await addCheckpoint(`old ${real.size}\n\n${(await same.checkpoint())!}`)).status).toBe(409);
    expect(await w.witness.state(real.origin)).toEqual(state);

    // The service's own witnessing, run over the forked log, records the refusal.
    const store = SqliteStore.memory();
    const config = new WitnessConfig(store);
    await config.add({ name: 'w1', url: `${w.url}/witness`, vkey: witnessKey });
    await new Witnessing(forked, config, { outbound: ANY_ADDRESS }).run();
    expect((await config.list())[0]).toMatchObject({ cosignature: null, lastError: expect.stringMatching(/^HTTP 422/) });

    // A client that never saw the real log, shown a fork that holds the current timestamp (entry 1 rewritten), is refused when it requires the witness ...
    const forkNote = (await same.checkpoint())!;
    const fetcher = new LogFetcher();
    // The fork's /log/proof carries the same note as its /log/checkpoint (issue 17's one-request check).
    const serveFork = (cp: string) => async (path: string) =>
      path === 'proof' ? Buffer.from((await same.proof(async () => cp))!) : path === 'checkpoint' ? Buffer.from(cp) : path === 'key' ? Buffer.from(readFileSync(logKeyFile)) : same.tile(parseTilePath(path)!);
    fetcher.serve = serveFork(forkNote);
    expect(await codeOf(fetchTrust(options({ fetcher })))).toBe('NOT_WITNESSED');
    // ... even with the cosignature line of the real checkpoint copied onto the fork,
    const realNote = await cosigned();
    fetcher.serve = serveFork(forkNote + realNote.slice(realNote.indexOf('— witness.test/w1')));
    expect(await codeOf(fetchTrust(options({ fetcher })))).toBe('NOT_WITNESSED');
    // while a client without a witness policy accepts it: that is what witnesses are for.
    expect((await fetchTrust(options({ fetcher, witnesses: [] }))).log).toBeTruthy();
  });

  it('answers malformed, unknown-log and badly signed requests with 400, 404 and 403', async () => {
    const cp = textOf(await checkpoint());
    const key = NoteSigner.fromPrivateKey(readFileSync(logKeyPath(log.dataDir), 'utf8'));
    expect((await addCheckpoint('nonsense')).status).toBe(400);
    expect((await addCheckpoint(`old 01\n\n${signNote(cp, [key])}`)).status).toBe(400);
    const size = parseCheckpoint(cp).size;
    expect((await addCheckpoint(`old ${size + 1}\n\n${signNote(cp, [key])}`)).status).toBe(400);
    const other = NoteSigner.generate('keyshare/0000000000000000');
    expect((await addCheckpoint(`old 0\n\n${signNote(cp.replace(/^.*\n/, 'keyshare/0000000000000000\n'), [other])}`)).status).toBe(404);
    const impostor = NoteSigner.generate(key.name);
    expect((await addCheckpoint(`old 0\n\n${signNote(cp, [impostor])}`)).status).toBe(403);
    const big = await fetch(`${w.url}/witness/add-checkpoint`, { method: 'POST', body: 'x'.repeat(70 * 1024) });
    expect(big.status).toBe(413);
  });

  it('cosigns one of two concurrent requests from the same state, and answers the other 409 (check and record are atomic)', async () => {
    const fresh = new Witness(SqliteStore.memory(), Cosigner.generate('witness.test/fresh'), readLogKeys([logKeyFile]));
    const small = await forkedLog(0);
    const [a, b] = await Promise.all([fresh.addCheckpoint(`old 0\n\n${await checkpoint()}`), fresh.addCheckpoint(`old 0\n\n${(await small.checkpoint())!}`)]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
  });

  it('keeps its state across a restart', async () => {
    const cp = parseCheckpoint(textOf(await cosigned()));
    await w.server.close();
    w = await startWitness();
    const again = await addCheckpoint(`old 0\n\n${await checkpoint()}`);
    expect(again).toMatchObject({ status: 409, text: `${cp.size}\n` });
  });

  it('is what `keyshare witness add|ls|rm`, `fetch --witness` and `log show` do (the built CLI)', async () => {
    const env = { KEYSHARE_SERVER: log.url, KEYSHARE_TOKEN: log.token };
    const keyFile = join(tempDir(), 'w1.vkey');
    writeFileSync(keyFile, witnessKey + '\n');
    const added = await runCli(['witness', 'add', 'w2', '--url', `${w.url}/witness`, '--key', keyFile], { env });
    // The same witness under a second name: it is the same key, so the log's state is already there (409 once, then a cosignature).
    expect(added.code, added.stderr).toBe(0);
    const ls = await runCli(['witness', 'ls', '--json'], { env });
    expect(JSON.parse(ls.stdout).witnesses.map((x: { name: string }) => x.name)).toEqual(['w1', 'w2']);
    expect((await runCli(['witness', 'rm', 'w2'], { env })).code).toBe(0);
    expect((await runCli(['witness', 'rm', 'w2'], { env })).stderr).toMatch(/NOT_FOUND/);
    await cosigned();
    const args = ['fetch', '--server', log.url, '--root', join(log.dataDir, 'root.json'), '--format', 'json', '--json', '--witness', keyFile, '--witness-threshold', '1'];
    const ok = await runCli([...args, '--out', join(tempDir(), 'out'), '--cache', tempDir()]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).log.witnessedBy).toEqual(['witness.test/w1']);
    const other = join(tempDir(), 'other.vkey');
    writeFileSync(other, Cosigner.generate('witness.test/other').verifierKey());
    const refused = await runCli([...args.slice(0, -4), '--witness', other, '--out', join(tempDir(), 'out'), '--cache', tempDir()]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^keyshare: NOT_WITNESSED: /);

    const ts = (await log.instance.store.listMetadataVersions('timestamp')).at(-1)!.version;
    const show = await runCli(['log', 'show', String(ts), '--server', log.url, '--log-key', logKeyFile, '--json']);
    expect(show.code, show.stderr).toBe(0);
    const report = JSON.parse(show.stdout);
    expect(report.entry.timestamp.version).toBe(ts);
    expect(report.served).toEqual({ snapshot: 'match', timestamp: 'match' });
    expect(report.previousVersion).toBeLessThan(ts);
    const human = await runCli(['log', 'show', '2', '--server', log.url, '--root', join(log.dataDir, 'root.json')]);
    expect(human.stdout).toMatch(/^timestamp v2 is entry \d+ of the log keyshare\/[0-9a-f]{16} .*inclusion proof of \d+ hashes verified\n/);
    expect(human.stdout).toMatch(/keyshare diff --from \d+ --to 2/);
    const missing = await runCli(['log', 'show', String(ts + 100), '--server', log.url, '--root', join(log.dataDir, 'root.json')]);
    expect(missing.stderr).toMatch(/^keyshare: NOT_LOGGED: /);
  });

  it('is what `keyshare serve --witness-for LOG_KEY_FILE --witness-name NAME` runs (the built CLI)', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const p = (probe.address() as { port: number }).port;
        probe.close(() => resolve(p));
      });
    });
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('KEYSHARE_')) env[k] = v;
    const data = join(tempDir(), 'data');
    const child = spawn(process.execPath, [join(packageRoot(), 'bin', 'keyshare.js'), 'serve', '--data', data, '--listen', `127.0.0.1:${port}`, '--witness-for', logKeyFile, '--witness-name', 'witness.test/cli'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    try {
      const url = `http://127.0.0.1:${port}`;
      const vkey = await eventually(async () => (await fetch(`${url}/witness/key`)).text(), (t) => t.startsWith('witness.test/cli+'), 30_000);
      expect(vkey, stderr).toMatch(/^witness\.test\/cli\+/);
      const note = await checkpoint();
      const res = await fetch(`${url}/witness/add-checkpoint`, { method: 'POST', body: `old 0\n\n${note}` });
      const line = await res.text();
      expect(res.status, line).toBe(200);
      expect(cosignedBy(note + line, parseVerifierKey(readFileSync(logKeyFile, 'utf8')), [parseCosignerKey(vkey)])).toEqual(['witness.test/cli']);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  });
});
