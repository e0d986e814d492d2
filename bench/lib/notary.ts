/**
 * B10 (issue 25): the client side against Debian's Notary v1, side by side in one run. keyshare
 * (a service with 100 scopes, the built CLI) and notary-server (memory storage, local signing,
 * plain HTTP on 127.0.0.1) with a repository of 100 targets, then, interleaved with `node -e 0`
 * in every round (medians; ratios are the medians of the per-round ratios):
 *
 *   write → served   `keyshare anchor add` (its answer waits for the publish) / `notary add -p`
 *   cold read        `keyshare fetch` of one scope, empty cache / `notary lookup`, fresh trust dir
 *   warm read        `keyshare fetch`, nothing changed / `notary lookup` with its trust dir
 *
 * and the servers' reads: req/s of each one's timestamp.json (keyshare `/tuf/timestamp.json`,
 * notary-server `/v2/{gun}/_trust/tuf/timestamp.json`), B1's load, interleaved round by round.
 *
 * Needs `notary` and `notary-server` on the PATH (Debian: `apt-get install notary`).
 */
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildState, keyPool, scopeName } from './fixture.js';
import { freePort, run, startService, which } from './proc.js';
import { cliCommand, interleaved, type Subject } from './client.js';
import { interleavedLoad, perRoundRatio, type LoadRounds, type LoadTool } from './load.js';
import type { Row } from './report.js';
import { fmtMs, median, sig } from './stats.js';

const ENTRIES = 100;
const GUN = 'registry.bench.example/app';
/** notary reads key passphrases from these (no prompt); set in this process's env, which every timed command gets. */
const NOTARY_PASSPHRASES = { NOTARY_ROOT_PASSPHRASE: 'bench', NOTARY_TARGETS_PASSPHRASE: 'bench', NOTARY_SNAPSHOT_PASSPHRASE: 'bench', NOTARY_DELEGATION_PASSPHRASE: 'bench' };

async function startNotaryServer(bin: string, work: string): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freePort();
  const config = join(work, 'notary-server.json');
  writeFileSync(
    config,
    JSON.stringify({
      server: { http_addr: `127.0.0.1:${port}` },
      trust_service: { type: 'local', hostname: '', port: '', key_algorithm: 'ecdsa' },
      storage: { backend: 'memory' },
      logging: { level: 'error' },
    }),
  );
  const proc = spawn(bin, ['-config', config], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  for (let i = 0; ; i++) {
    if (proc.exitCode !== null) throw new Error(`notary-server exited with ${proc.exitCode}`);
    if (i > 300) {
      proc.kill('SIGKILL');
      throw new Error('notary-server did not start in time');
    }
    if (await fetch(`${url}/_notary_server/health`).then((r) => r.ok, () => false)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    async stop() {
      if (proc.exitCode !== null) return;
      proc.kill('SIGTERM');
      await exited;
    },
  };
}

export async function benchNotary(work: string, rounds: number, load: LoadTool, readRounds: LoadRounds, log: (s: string) => void): Promise<Row[]> {
  const [notary, notaryServer] = await Promise.all([which('notary'), which('notary-server')]);
  if (!notary || !notaryServer) throw new Error('B10 needs Debian\'s notary and notary-server on the PATH (apt-get install notary)');
  const cli = cliCommand();
  if (!cli.built) throw new Error('B10 times the built CLI: run `npm run build` first');
  mkdirSync(work, { recursive: true });
  Object.assign(process.env, NOTARY_PASSPHRASES);

  log(`  B10: keyshare with ${ENTRIES} scopes, notary-server with ${ENTRIES} targets`);
  const state = await buildState(join(work, 'keyshare-data'), ENTRIES, keyPool(8));
  const service = await startService({ data: state.dataDir }, true);
  const ns = await startNotaryServer(notaryServer, work);
  try {
    const url = service.ready.url as string;
    const clientConfig = join(work, 'notary-client.json');
    writeFileSync(clientConfig, JSON.stringify({ remote_server: { url: ns.url } }));
    const payload = join(work, 'payload.txt');
    writeFileSync(payload, 'bench\n');
    const adminTrust = join(work, 'notary-admin');
    const notaryArgs = (trustDir: string, ...args: string[]) => ['-c', clientConfig, '-d', trustDir, ...args];
    const must = async (cmd: string, args: string[]) => {
      const r = await run(cmd, args, { timeoutMs: 120_000 });
      if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
    };
    await must(notary, notaryArgs(adminTrust, 'init', GUN, '-p'));
    for (let i = 0; i < ENTRIES; i++) await must(notary, notaryArgs(adminTrust, 'add', GUN, `t${i}`, payload));
    await must(notary, notaryArgs(adminTrust, 'publish', GUN));

    const fetchArgs = (cache: string) => [...cli.argv, 'fetch', '--server', url, '--root', state.rootPath, '--out', join(work, 'out'), '--format', 'json', '--scope', scopeName(0), '--cache', cache];
    const warmCache = join(work, 'cache-warm');
    const warmTrust = join(work, 'notary-warm');
    await must(process.execPath, fetchArgs(warmCache));
    await must(notary, notaryArgs(warmTrust, 'lookup', GUN, 't0'));

    // Reads: a fresh cache or trust dir per cold run; the warm ones keep theirs.
    let colds = 0;
    const reads = await interleaved(
      rounds,
      log,
      {
        node: [process.execPath, ['-e', '0']],
        ksCold: () => [process.execPath, fetchArgs(join(work, `cache-cold-${++colds}`))],
        notaryCold: () => [notary, notaryArgs(join(work, `notary-cold-${colds}`), 'lookup', GUN, 't0')],
        ksWarm: [process.execPath, fetchArgs(warmCache)],
        notaryWarm: [notary, notaryArgs(warmTrust, 'lookup', GUN, 't0')],
      },
      'B10',
    );
    // Writes: each one a new entry, published before the command returns.
    const keys = join(work, 'keys');
    mkdirSync(keys, { recursive: true });
    let writes = 0;
    let notaryWrites = 0;
    const write = await interleaved(
      rounds,
      log,
      {
        node: [process.execPath, ['-e', '0']],
        ksWrite: () => {
          const key = join(keys, `k${++writes}.pub.pem`);
          writeFileSync(key, generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }));
          return [process.execPath, [...cli.argv, 'anchor', 'add', scopeName(writes % ENTRIES), '--key', key, '--server', url, '--token', state.token, '--json']];
        },
        notaryWrite: (): [string, string[]] => [notary, notaryArgs(adminTrust, 'add', GUN, `w${++notaryWrites}`, payload, '-p')],
      } satisfies Record<string, Subject>,
      'B10',
    );

    const ratio = (k: number[], base: number[]) => median(k.map((ms, i) => ms / base[i]!));
    const rows: Row[] = [];
    const pair = (figure: string, ks: number[], node: number[], notaryMs: number[], goal: number) => {
      const r = ratio(ks, node);
      rows.push({
        id: 'B10',
        figure: `${figure}: keyshare against \`node -e 0\``,
        value: fmtMs(median(ks)),
        baseline: `node -e 0: ${fmtMs(median(node))}`,
        ratio: `${sig(r, 2)}×`,
        goal: `≤ ${goal}× node`,
        status: r <= goal ? 'met' : 'missed',
        data: { samplesMs: { keyshare: ks, node } },
      });
      rows.push({
        id: 'B10',
        figure: `${figure}: keyshare against Notary v1 (Debian)`,
        value: fmtMs(median(ks)),
        baseline: `notary: ${fmtMs(median(notaryMs))}`,
        ratio: `${sig(ratio(ks, notaryMs), 2)}×`,
        goal: 'report',
        status: 'info',
        data: { samplesMs: { keyshare: ks, notary: notaryMs } },
      });
    };
    // Issue 25: the servers' reads stay ≥ 3× notary-server's.
    const served = await interleavedLoad(
      load,
      [
        { name: 'keyshare', url: `${url}/tuf/timestamp.json` },
        { name: 'notary-server', url: `${ns.url}/v2/${GUN}/_trust/tuf/timestamp.json` },
      ],
      readRounds,
      log,
      'B10 reads',
    );
    const readRatio = perRoundRatio(served, 'keyshare', 'notary-server');
    rows.push({
      id: 'B10',
      figure: 'reads: req/s of timestamp.json, keyshare against notary-server (Debian)',
      value: `${Math.round(median(served.get('keyshare')!))} req/s`,
      baseline: `notary-server ${Math.round(median(served.get('notary-server')!))} req/s`,
      ratio: `${sig(readRatio, 2)}×`,
      goal: '≥ 3× notary-server',
      status: readRatio >= 3 ? 'met' : 'missed',
      data: { samples: Object.fromEntries(served), ...readRounds },
    });
    pair(`CLI write → served, ${ENTRIES} entries (\`anchor add\` / \`notary add -p\`)`, write.ksWrite!, write.node!, write.notaryWrite!, 1.5);
    pair('cold read of one entry, empty cache (`fetch --scope` / `notary lookup`)', reads.ksCold!, reads.node!, reads.notaryCold!, 2);
    pair('warm read, no change (`fetch` / `notary lookup`)', reads.ksWarm!, reads.node!, reads.notaryWarm!, 1.5);
    return rows;
  } finally {
    await ns.stop();
    await service.stop();
  }
}
