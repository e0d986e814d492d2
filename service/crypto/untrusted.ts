/**
 * Certificates from outside (admin API and console uploads, `apply`, upstream syncs, bundle
 * imports, `revoke cert`, `ca import`) are parsed here: in a worker of a small pool, within
 * PARSE_TIME_LIMIT_MS, never on the event loop (issue 16, finding 1). Over the limit the
 * worker is terminated and the input refused PARSE_TIMEOUT. Trusted data (what the service
 * accepted and stored, what it issued itself) keeps the synchronous parser of x509.ts, which
 * remembers what it parsed and what the worker accepted: the caps of x509-screen.ts bound its
 * first parse, the memo every later one.
 */
import { sha256Hex } from '../../shared/hash.js';
import { KeyshareError, Codes } from '../errors.js';
import { WorkerPool, workerModule } from './worker-pool.js';
import type { ParseTask } from './parse-worker.js';
import { rememberCertificate, type ParsedCertificate } from './x509.js';

/**
 * Real certificates (1-10 KiB, a dozen extensions) parse in a millisecond or two; crafted
 * ones inside the old element cap (8,192) took 0.1-1.1 s on a loaded 2-core machine; within
 * today's (x509-screen.ts) tens of ms. The limit is the backstop for what the caps miss.
 */
export const PARSE_TIME_LIMIT_MS = 500;
/** Two workers: one slow input does not hold up every other upload. */
const POOL_SIZE = 2;

let pool: WorkerPool | null = null;
const parsePool = () => (pool ??= new WorkerPool({ module: workerModule('parse-worker', import.meta.url), size: POOL_SIZE }));

/**
 * Recent outcomes by input: one upload is read twice (its audit target, then the anchor), and
 * a slow one should cost one time limit, not two. A few entries, for a few seconds.
 */
const RECENT = { entries: 8, ms: 5_000 };
const recent = new Map<string, { at: number; result: Promise<unknown> }>();

function parse<T>(task: ParseTask, limitMs: number): Promise<T> {
  const key = `${task.kind}\n${limitMs}\n${typeof task.input}\n${sha256Hex(task.input)}`;
  const now = Date.now();
  const hit = recent.get(key);
  if (hit && now - hit.at < RECENT.ms) return hit.result as Promise<T>;
  const timeout = () => new KeyshareError(Codes.PARSE_TIMEOUT, `the certificate took more than ${limitMs} ms to parse: refused (real certificates take under a millisecond)`);
  const result = parsePool().run<T>(task, limitMs, timeout, Codes.BAD_CERTIFICATE);
  result.catch(() => {});
  recent.delete(key);
  recent.set(key, { at: now, result });
  if (recent.size > RECENT.entries) recent.delete(recent.keys().next().value!);
  return result;
}

/** Starts the pool's workers and waits until they have loaded (else the first parse starts them). */
export function warmParsePool(): Promise<void> {
  return parsePool().warm();
}

/**
 * x509.ts parseCertificate, in the pool. What the worker accepted goes into x509.ts's memo:
 * later reads of it on the event loop (the stored anchor, published) cost no parse at all.
 */
export async function parseUntrustedCertificate(input: string | Uint8Array, limitMs = PARSE_TIME_LIMIT_MS): Promise<ParsedCertificate> {
  const cert = await parse<ParsedCertificate>({ kind: 'certificate', input }, limitMs);
  rememberCertificate(cert);
  return cert;
}

/** chain.ts parseCertificateChain (each member's key held to the allow-list), in the pool; remembered likewise. */
export async function parseUntrustedChain(input: string | Uint8Array, limitMs = PARSE_TIME_LIMIT_MS): Promise<ParsedCertificate[]> {
  const chain = await parse<ParsedCertificate[]>({ kind: 'chain', input }, limitMs);
  chain.forEach(rememberCertificate);
  return chain;
}
