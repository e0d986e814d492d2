/**
 * Crash consistency: `keyshare serve` (the built CLI) is killed with SIGKILL at random moments
 * while admins write (scopes, anchors, revocations, apply files, CRLs), while it syncs an
 * upstream (federate) whose trust keeps changing, and while a `keyshare bundle import` runs
 * next to it on the same data dir. After every restart:
 *  - the served repository verifies with tuf-js, for a fresh client and for one that kept its
 *    metadata across every crash (so versions never went backwards);
 *  - every change acknowledged to a client (a 2xx answer, an import that exited 0) is served;
 *  - nothing half-applied is visible: an apply file's scopes are all there or none, a
 *    bundle's scopes are those of one whole bundle, the upstream's those of one whole version
 *    of it, and the database and the repository agree.
 * At the end: SQLite's integrity check and the audit chain.
 *
 * One campaign is a loop of lives: start, write until a random moment, kill, verify. The
 * short form runs in `npm test`; `npm run soak` runs hundreds of kills
 * (KEYSHARE_CRASH_KILLS).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expect } from 'vitest';
import { parseCrl } from '../../service/crypto/index.js';
import { trustTargetPath } from '../../service/domain/scope.js';
import { dbPath, openInstance } from '../../service/instance.js';
import { SqliteStore } from '../../service/store/index.js';
import { ON_POSTGRES } from '../support/database.js';
import { exportBundle } from '../../service/federation/bundle/export.js';
import { CRL_CA_PEM, mintCrl } from '../support/crl-mint.js';
import { newDataDir, startTestService, tempDir, TufClient, type TestService } from '../support/service.js';

const BIN = resolve('bin', 'keyshare.js');
const BASE = 'crash.test';

/** A small deterministic PRNG (mulberry32), so a failing campaign can be replayed from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const cleanEnv = () => {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('KEYSHARE_')) env[k] = v;
  return env;
};

interface Serve {
  child: ChildProcess;
  url: string;
  exited: Promise<void>;
}

async function startServe(dataDir: string): Promise<Serve> {
  const child = spawn(process.execPath, [BIN, 'serve', '--data', dataDir, '--listen', '127.0.0.1:0', '--allow-private-upstreams'], {
    env: { ...cleanEnv(), KEYSHARE_LOG_LEVEL: 'error' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  const exited = new Promise<void>((ok) => child.on('exit', () => ok()));
  const url = await new Promise<string>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`serve did not start in 90 s: ${stderr}`)), 90_000);
    child.stderr!.on('data', (d) => {
      stderr += d;
      const m = /keyshare serving (http:\/\/[^/\s]+)\/tuf\//.exec(stderr);
      if (m) {
        clearTimeout(timer);
        ok(m[1]!);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`serve exited with ${code} before serving: ${stderr}`));
    });
  });
  return { child, url, exited };
}

function pemKey(): { pem: string } {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { pem: publicKey.export({ format: 'pem', type: 'spki' }).toString() };
}

/** What the campaign knows about each change: acknowledged, or in flight when the process died. */
interface Ledger {
  scopes: Set<string>;
  /** scope -> anchor IDs acknowledged there. */
  anchors: Map<string, Set<string>>;
  revokedKeys: Set<string>;
  /** Every apply file sent: its scopes, and whether it was acknowledged. */
  applies: { scopes: string[]; acked: boolean }[];
  crlNumber: number;
  crlAcked: number;
  /** Bundle k holds the origin scopes 1..k; the highest acknowledged, the highest attempted. */
  bundleAcked: number;
  bundleTried: number;
  /** The upstream defines u1..uN.upstream.test (N grows); a sync acknowledged when it had `upstreamAcked` of them. */
  upstreamScopes: number;
  upstreamAcked: number;
}

export interface CampaignOptions {
  kills: number;
  seed: number;
  /** Longest time a life runs before its kill (ms). */
  maxLifeMs?: number;
  log?: (line: string) => void;
}

export interface CampaignResult {
  kills: number;
  acknowledged: number;
  inFlight: number;
  scopes: number;
}

export async function runCampaign(options: CampaignOptions): Promise<CampaignResult> {
  const random = prng(options.seed);
  const log = options.log ?? (() => {});
  const { dataDir, token } = await newDataDir();
  const originBundles = await makeBundles(Math.max(2, Math.ceil(options.kills / 3)));

  // The CA whose CRLs the campaign adds, and a base scope every revocation shows in.
  const setup = await openInstance({ dataDir });
  await setup.service.createScope({ scope: BASE });
  const ca = await setup.service.addAnchor(BASE, { certificate: CRL_CA_PEM(), type: 'ca' });
  await setup.close();
  const caHex = ca.anchor.id.slice('sha256:'.length);

  const ledger: Ledger = {
    scopes: new Set([BASE]),
    anchors: new Map([[BASE, new Set([ca.anchor.id])]]),
    revokedKeys: new Set(),
    applies: [],
    crlNumber: 0,
    crlAcked: 0,
    bundleAcked: 0,
    bundleTried: 0,
    upstreamScopes: 0,
    upstreamAcked: 0,
  };
  // An upstream keyshare service (in this process: it is never killed) whose trust keeps growing.
  const upstream = await startTestService();
  const upstreamGrows = async () => {
    const scope = `u${ledger.upstreamScopes + 1}.upstream.test`;
    const r = await upstream.api('POST', '/apply', { scopes: [{ scope, anchors: [{ publicKey: pemKey().pem }] }] });
    if (r.status !== 200) throw new Error(`the upstream refused ${scope}: ${JSON.stringify(r.body)}`);
    ledger.upstreamScopes++;
  };
  await upstreamGrows();
  const stats = { acknowledged: 0, inFlight: 0 };
  // One outside client keeps its trusted metadata across every crash: versions must never go back.
  const lasting = TufClient.pinnedTo('http://invalid', dataDir);
  let n = 0;

  try {
  for (let life = 0; life < options.kills; life++) {
    const serve = await startServe(dataDir);
    if (life > 0) await verify(serve.url, dataDir, token, ledger, lasting, caHex);
    if (life === 0) {
      // Followed in federate mode; the service also polls it and follows its change feed on its own.
      const r = await fetch(`${serve.url}/api/v1/upstreams`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'hq', url: upstream.url, root: readFileSync(join(upstream.dataDir, 'root.json'), 'utf8'), mode: 'federate' }),
      });
      if (r.status >= 300) throw new Error(`upstream add: ${r.status} ${await r.text()}`);
      ledger.upstreamAcked = 1;
    }
    const api = (method: string, path: string, body?: unknown) =>
      fetch(`${serve.url}/api/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(60_000),
      });
    let importer: ChildProcess | null = null;
    let dead = false;
    const lifeMs = Math.floor(random() * (options.maxLifeMs ?? 1500));

    let writeError: unknown = null;
    const writes = (async () => {
      while (!dead) {
        const kind = random();
        const id = ++n;
        // Each write: what it changes, and what to record once it is acknowledged.
        let send: () => Promise<Response>;
        let onAck: () => void;
        let onTry = () => {};
        if (kind < 0.25) {
          const scope = `s${id}.${BASE}`;
          send = () => api('POST', '/scopes', { scope });
          onAck = () => ledger.scopes.add(scope);
        } else if (kind < 0.45) {
          const scope = BASE;
          const key = pemKey();
          let anchorId = '';
          send = async () => {
            const r = await api('POST', `/scopes/${encodeURIComponent(scope)}/anchors`, { publicKey: key.pem, name: `k${id}` });
            if (r.ok) anchorId = (await r.clone().json()).anchor.id;
            return r;
          };
          onAck = () => ledger.anchors.get(scope)!.add(anchorId);
        } else if (kind < 0.6) {
          const keyId = `sha256:${randomBytes(32).toString('hex')}`;
          send = () => api('POST', '/revocations', { kind: 'key', id: keyId, reason: 'keyCompromise' });
          onAck = () => ledger.revokedKeys.add(keyId);
        } else if (kind < 0.78) {
          const scopes = ['a', 'b', 'c'].map((x) => `${x}${id}.apply.${BASE}`);
          const entry = { scopes, acked: false };
          onTry = () => ledger.applies.push(entry);
          send = () => api('POST', '/apply', { scopes: scopes.map((scope) => ({ scope, anchors: [{ publicKey: pemKey().pem }] })) });
          onAck = () => {
            entry.acked = true;
            for (const s of scopes) ledger.scopes.add(s);
          };
        } else if (kind < 0.84) {
          const number = ++ledger.crlNumber;
          const der = await mintCrl(number);
          send = () => api('POST', '/crls', { crl: der.toString('base64'), encoding: 'base64' });
          onAck = () => (ledger.crlAcked = Math.max(ledger.crlAcked, number));
        } else if (kind < 0.9) {
          // The upstream changes, then this service syncs it (it may also sync on its own, any time).
          if (random() < 0.6) await upstreamGrows();
          const had = ledger.upstreamScopes;
          send = async () => {
            const r = await api('POST', '/upstreams/hq/sync');
            const results = r.ok ? ((await r.clone().json()) as { results: { ok: boolean }[] }).results : [];
            if (r.ok && !results.every((x) => x.ok)) throw new Error(`sync failed: ${await r.text()}`);
            return r;
          };
          onAck = () => (ledger.upstreamAcked = Math.max(ledger.upstreamAcked, had));
        } else {
          if (importer || ledger.bundleTried >= originBundles.files.length) continue;
          const k = ++ledger.bundleTried;
          const child = spawn(process.execPath, [BIN, 'bundle', 'import', originBundles.files[k - 1]!, '--root', originBundles.root, '--data', dataDir], {
            env: cleanEnv(),
            stdio: 'ignore',
          });
          importer = child;
          void new Promise<number | null>((ok) => child.on('exit', (code) => ok(code))).then((code) => {
            importer = null;
            if (code === 0) {
              stats.acknowledged++;
              ledger.bundleAcked = Math.max(ledger.bundleAcked, k);
            } else stats.inFlight++;
          });
          continue;
        }
        onTry();
        try {
          const r = await send();
          if (r.ok) {
            stats.acknowledged++;
            onAck();
          } else if (r.status >= 500) throw new Error(`${r.status} ${await r.text()}`);
        } catch (e) {
          if (!dead) throw e;
          stats.inFlight++; // cut off by the kill: it may or may not have landed, but wholly or not at all
        }
      }
    })().catch((e) => {
      writeError = e;
    });

    await new Promise((r) => setTimeout(r, lifeMs));
    dead = true;
    serve.child.kill('SIGKILL');
    (importer as ChildProcess | null)?.kill('SIGKILL');
    await serve.exited;
    await writes;
    if (writeError) throw writeError;
    log(`life ${life + 1}/${options.kills}: killed after ${lifeMs} ms; ${stats.acknowledged} acknowledged, ${stats.inFlight} cut off so far`);
  }

  } finally {
    await upstream.close();
  }
  // A last start: everything verified once more, including every trust document.
  const serve = await startServe(dataDir);
  try {
    await verify(serve.url, dataDir, token, ledger, lasting, caHex, true);
    const audit = await (await fetch(`${serve.url}/api/v1/audit/verify`, { headers: { authorization: `Bearer ${token}` } })).json();
    expect(audit, 'the audit chain survives the crashes').toMatchObject({ ok: true });
  } finally {
    serve.child.kill('SIGTERM');
    await serve.exited;
  }
  // SQLite's own integrity check of the file the kills hit; PostgreSQL's durability is the server's, checked above through the service.
  if (!ON_POSTGRES) {
    const store = SqliteStore.open(dbPath(dataDir));
    try {
      expect(store.rawForTests().pragma('integrity_check', { simple: true })).toBe('ok');
    } finally {
      await store.close();
    }
  }
  return { kills: options.kills, ...stats, scopes: ledger.scopes.size };
}

async function verify(url: string, dataDir: string, token: string, ledger: Ledger, lasting: TufClient, caHex: string, full = false): Promise<void> {
  // The served repository verifies for a client that kept its metadata across the crashes.
  // Right after a start the service may sync its upstream on its own, committing and then
  // publishing: read until the database and the repository agree (every stored scope served).
  lasting.url = url;
  const storedScopes = async () =>
    new Set(((await (await fetch(`${url}/api/v1/scopes`, { headers: { authorization: `Bearer ${token}` } })).json()).scopes as { scope: string }[]).map((s) => s.scope));
  let served = new Set<string>();
  let stored = new Set<string>();
  for (let attempt = 0; attempt < 100; attempt++) {
    stored = await storedScopes();
    served = new Set((await lasting.readIndex()).scopes.map((s) => s.scope));
    if ([...stored].every((s) => served.has(s)) && [...served].every((s) => stored.has(s))) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  expect(served, 'stored scopes = served scopes').toEqual(stored);
  // A fresh client, pinned to root.json only, verifies it too.
  const fresh = TufClient.pinnedTo(url, dataDir);
  const freshIndex = await fresh.readIndex();
  for (const s of ledger.scopes) expect(freshIndex.scopes.some((x) => x.scope === s), `a fresh client sees ${s}`).toBe(true);

  // Every acknowledged scope is served.
  for (const s of ledger.scopes) expect(served.has(s), `acknowledged scope ${s} is served`).toBe(true);
  // Nothing half-applied: an apply file's scopes are all served or none.
  for (const a of ledger.applies) {
    const present = a.scopes.filter((s) => served.has(s));
    expect([0, a.scopes.length], `apply ${a.scopes.join(', ')}: ${present.length} of ${a.scopes.length} served`).toContain(present.length);
  }
  // A bundle's scopes are those of one whole bundle (k holds origin scopes 1..k), at least the acknowledged one.
  const bundleScopes = [...served].filter((s) => s.endsWith('.origin.test')).map((s) => Number(/^b(\d+)\./.exec(s)![1]));
  const k = Math.max(0, ...bundleScopes);
  expect(bundleScopes.sort((x, y) => x - y), 'the scopes of one whole bundle').toEqual(Array.from({ length: k }, (_, i) => i + 1));
  expect(k).toBeGreaterThanOrEqual(ledger.bundleAcked);
  expect(k).toBeLessThanOrEqual(ledger.bundleTried);
  // The upstream's scopes are those of one whole version of it (u1..uj), at least the acknowledged sync's.
  const fromUpstream = [...served].flatMap((s) => /^u(\d+)\.upstream\.test$/.exec(s)?.[1] ?? []).map(Number).sort((x, y) => x - y);
  const j = fromUpstream.length;
  expect(fromUpstream, 'the scopes of one whole version of the upstream').toEqual(Array.from({ length: j }, (_, i) => i + 1));
  expect(j).toBeGreaterThanOrEqual(ledger.upstreamAcked);
  expect(j).toBeLessThanOrEqual(ledger.upstreamScopes);


  // The base scope: its acknowledged anchors and every acknowledged revocation, and the newest CRL.
  const base = await lasting.readJson(trustTargetPath(BASE));
  const anchorIds = new Set(base.anchors.map((a: { id: string }) => a.id));
  for (const id of ledger.anchors.get(BASE)!) expect(anchorIds.has(id), `acknowledged anchor ${id}`).toBe(true);
  const revoked = new Set(base.revoked.keys.map((r: { id: string }) => r.id));
  for (const id of ledger.revokedKeys) expect(revoked.has(id), `acknowledged revocation ${id}`).toBe(true);
  if (ledger.crlAcked > 0) {
    const crl = parseCrl(await lasting.readTarget(`crl/${caHex}.crl`) as Buffer);
    expect(parseInt(crl.crlNumber!, 16), 'the newest acknowledged CRL (or a later one) is served').toBeGreaterThanOrEqual(ledger.crlAcked);
  }
  if (full) {
    for (const s of served) {
      const doc = await lasting.readJson(trustTargetPath(s));
      expect(doc.scope).toBe(s);
      if (s.includes('.apply.')) expect(doc.anchors.filter((a: { definedAt: string }) => a.definedAt === s)).toHaveLength(1);
    }
  }
}

/** An origin repository and bundles 1..count of it: bundle k defines the scopes b1..bk.origin.test. */
async function makeBundles(count: number): Promise<{ root: string; files: string[] }> {
  const { dataDir } = await newDataDir();
  const dir = tempDir('keyshare-crash-bundles-');
  const files: string[] = [];
  for (let k = 1; k <= count; k++) {
    const origin = await openInstance({ dataDir });
    await origin.service.createScope({ scope: `b${k}.origin.test` });
    await origin.service.addAnchor(`b${k}.origin.test`, { publicKey: pemKey().pem });
    await origin.close();
    const file = join(dir, `${k}.tar`);
    await exportBundle({ dataDir, out: file });
    files.push(file);
  }
  return { root: join(dataDir, 'root.json'), files };
}
