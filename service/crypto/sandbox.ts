/**
 * Untrusted OpenPGP keys are parsed and their self-signatures verified in a worker thread with
 * a CPU time limit (issue 16, finding 1): whatever slipped past the allow-list
 * (pgp-packets.ts) costs at most PGP_TIME_LIMIT_MS of one worker, never the event loop. A
 * worker that runs over is terminated and the next parse starts a new one.
 *
 * The worker's code is inline (eval), so that it runs the same from sources and from dist/; it
 * only calls openpgp.js and reports plain facts, and pgp.ts makes every decision.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { KeyshareError, Codes } from '../errors.js';

export const PGP_TIME_LIMIT_MS = 2_000;

/** What openpgp.js says about the keys in some input. */
export interface PgpFacts {
  keys: number;
  private: boolean;
  version: number;
  fingerprint: string;
  /** ms since the epoch; 'never'; or null when no valid self-signature gives an expiry. */
  expiry: number | 'never' | null;
  userIds: string[];
  armored: string;
  binary: Uint8Array;
  created: number;
}

// Dynamic imports only: eval code runs as CommonJS or as an ES module depending on the parent's flags.
const WORKER = `
(async () => {
const { parentPort, workerData } = await import('node:worker_threads');
const loaded = await import(workerData.openpgp);
const openpgp = loaded.default ?? loaded;
parentPort.postMessage({ ready: true });
parentPort.on('message', async ({ id, armored, binary }) => {
  try {
    const keys = armored !== undefined ? await openpgp.readKeys({ armoredKeys: armored }) : await openpgp.readKeys({ binaryKeys: binary });
    const key = keys[0];
    if (keys.length !== 1) return parentPort.postMessage({ id, facts: { keys: keys.length, private: keys.some((k) => k.isPrivate()) } });
    const expiry = await key.getExpirationTime().catch(() => null);
    parentPort.postMessage({ id, facts: {
      keys: 1,
      private: key.isPrivate(),
      version: key.keyPacket.version,
      fingerprint: key.getFingerprint().toLowerCase(),
      expiry: expiry instanceof Date ? expiry.getTime() : expiry === Infinity ? 'never' : null,
      userIds: key.getUserIDs(),
      armored: key.armor(),
      binary: key.write(),
      created: key.getCreationTime().getTime(),
    } });
  } catch (e) {
    parentPort.postMessage({ id, error: String((e && e.message) || e) });
  }
});
})();
`;

interface Pending {
  resolve: (f: PgpFacts) => void;
  reject: (e: unknown) => void;
  timer: NodeJS.Timeout;
  /** performance.now() at which the parse is over its limit. */
  deadline: number;
  limitMs: number;
}

let worker: Worker | null = null;
/** Resolves once the current worker has loaded openpgp.js: its start-up does not count against a parse's limit. */
let ready: Promise<void> = Promise.resolve();
let nextId = 0;
const pending = new Map<number, Pending>();
/** One parse at a time: the time limit is then the parse's own CPU time. */
let queue: Promise<unknown> = Promise.resolve();

function startWorker(): Worker {
  const w = new Worker(WORKER, { eval: true, workerData: { openpgp: pathToFileURL(createRequire(import.meta.url).resolve('openpgp')).href } });
  let started!: () => void;
  ready = new Promise<void>((resolve) => (started = resolve));
  w.on('message', (m: { id: number; ready?: true; facts?: PgpFacts; error?: string }) => {
    if (m.ready) return started();
    const p = pending.get(m.id);
    if (!p) return;
    // An answer at or past the limit is over it, even when its timer has not run yet.
    if (performance.now() >= p.deadline) return overLimit(w, p.limitMs);
    pending.delete(m.id);
    clearTimeout(p.timer);
    if (pending.size === 0) w.unref();
    if (m.error !== undefined) p.reject(new KeyshareError(Codes.BAD_PGP_KEY, 'not a valid OpenPGP public key', { cause: new Error(m.error) }));
    else p.resolve({ ...m.facts!, binary: m.facts!.binary && new Uint8Array(m.facts!.binary) });
  });
  w.on('error', (e) => fail(w, new KeyshareError(Codes.INTERNAL, 'the OpenPGP worker failed', { cause: e })));
  w.on('exit', () => {
    started();
    fail(w, new KeyshareError(Codes.INTERNAL, 'the OpenPGP worker stopped'));
  });
  w.unref();
  return w;
}

/** Over the limit: this worker is spent; the next parse gets a new one. */
function overLimit(w: Worker, limitMs: number): void {
  fail(w, new KeyshareError(Codes.BAD_PGP_KEY, `the OpenPGP key took more than ${limitMs} ms to parse and verify`));
  void w.terminate();
}

function fail(w: Worker, err: KeyshareError): void {
  if (worker !== w) return;
  worker = null;
  for (const [id, p] of pending) {
    clearTimeout(p.timer);
    pending.delete(id);
    p.reject(err);
  }
}

async function run(input: { armored: string } | { binary: Uint8Array }, limitMs: number): Promise<PgpFacts> {
  const w = (worker ??= startWorker());
  w.ref();
  await ready;
  if (worker !== w) throw new KeyshareError(Codes.INTERNAL, 'the OpenPGP worker stopped');
  const id = nextId++;
  return new Promise<PgpFacts>((resolve, reject) => {
    const timer = setTimeout(() => overLimit(w, limitMs), limitMs);
    pending.set(id, { resolve, reject, timer, deadline: performance.now() + limitMs, limitMs });
    w.ref();
    w.postMessage({ id, ...input });
  });
}

/** Parses and verifies OpenPGP input in the worker, within `limitMs`. */
export function pgpFactsInWorker(input: { armored: string } | { binary: Uint8Array }, limitMs = PGP_TIME_LIMIT_MS): Promise<PgpFacts> {
  const result = queue.then(() => run(input, limitMs));
  queue = result.catch(() => {});
  return result;
}
