/**
 * Certificates from outside (admin API and console uploads, `apply`, upstream syncs, bundle
 * imports, `revoke cert`, `ca import`) are parsed here: in a worker of a small pool, within
 * PARSE_TIME_LIMIT_MS, never on the event loop (issue 16, finding 1). Over the limit the
 * worker is terminated and the input refused PARSE_TIMEOUT. Trusted data (what the service
 * accepted and stored, what it issued itself) keeps the synchronous parser of x509.ts.
 */
import { KeyshareError, Codes } from '../errors.js';
import { WorkerPool, workerModule } from './worker-pool.js';
import type { ParseTask } from './parse-worker.js';
import type { ParsedCertificate } from './x509.js';

/**
 * Real certificates (1-10 KiB, a dozen extensions) parse in well under a millisecond; crafted
 * ones inside the size and element caps took 0.1-1.1 s on a loaded 2-core machine. An accepted
 * certificate is read again on the event loop later, so the limit also bounds that cost.
 */
export const PARSE_TIME_LIMIT_MS = 250;
/** Two workers: one slow input does not hold up every other upload. */
const POOL_SIZE = 2;

let pool: WorkerPool | null = null;
const parsePool = () => (pool ??= new WorkerPool({ module: workerModule('parse-worker', import.meta.url), size: POOL_SIZE }));

function parse<T>(task: ParseTask, limitMs: number): Promise<T> {
  const timeout = () => new KeyshareError(Codes.PARSE_TIMEOUT, `the certificate took more than ${limitMs} ms to parse: refused (real certificates take under a millisecond)`);
  return parsePool().run<T>(task, limitMs, timeout, Codes.BAD_CERTIFICATE);
}

/** x509.ts parseCertificate, in the pool. */
export function parseUntrustedCertificate(input: string | Uint8Array, limitMs = PARSE_TIME_LIMIT_MS): Promise<ParsedCertificate> {
  return parse({ kind: 'certificate', input }, limitMs);
}

/** chain.ts parseCertificateChain (each member's key held to the allow-list), in the pool. */
export function parseUntrustedChain(input: string | Uint8Array, limitMs = PARSE_TIME_LIMIT_MS): Promise<ParsedCertificate[]> {
  return parse({ kind: 'chain', input }, limitMs);
}
