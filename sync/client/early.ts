/**
 * The first requests of an online `keyshare fetch`, started as soon as the command line is
 * parsed (issue 25: start-up). The client's code, `node:crypto` and tuf-js load, the pin is
 * hashed and the cache locked and read before fetch-trust.ts asks for its first files; these
 * requests run on the server meanwhile, and the fetch takes their answers from
 * `HttpFetcher.requestEarly` when it asks for the very same URLs (the same GETs, caps and
 * errors; only sooner). Nothing here is trusted: a guess that turns out wrong (another root
 * version under the lock, a cache another fetch changed) is an answer no fetch takes, and the
 * fetch asks for what it needs itself.
 *
 * Which files a fetch asks for first (fetch-trust.ts):
 * - a cache with timestamp.json: the probe for root N+1 (TUF 5.3.3) and timestamp.json (5.4),
 *   together (unchanged.ts, and the fetcher's prefetchTimestamp);
 * - an empty cache: the probe, and the log's proof, which carries timestamp.json (issue 23,
 *   log-state.ts prefetchProof).
 * N is the version of the cached root, or of the pinned one when none is cached.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { defaultConfig } from 'tuf-js/dist/config.js';
import { MAX_CHECKPOINT_BYTES, MAX_ROOT_BYTES } from '../../shared/fetch.js';
import { cacheLayout, defaultCacheDir, normalizeServer } from './cache.js';
import { HttpFetcher } from './fetcher.js';

export function requestFirstFiles(options: { server: string; root: string; cache?: string }): void {
  let server: string;
  let layout;
  let version: number | null;
  try {
    server = normalizeServer(options.server);
    layout = cacheLayout(options.cache ?? defaultCacheDir(server));
    const cachedRoot = join(layout.metadataDir, 'root.json');
    version = rootVersion(existsSync(cachedRoot) ? cachedRoot : options.root);
  } catch {
    return; // the fetch reports it
  }
  if (version === null) return;
  HttpFetcher.requestEarly(`${server}/tuf/${version + 1}.root.json`, defaultConfig.rootMaxLength);
  if (existsSync(join(layout.metadataDir, 'timestamp.json'))) HttpFetcher.requestEarly(`${server}/tuf/timestamp.json`, defaultConfig.timestampMaxLength);
  else HttpFetcher.requestEarly(`${server}/log/proof`, MAX_CHECKPOINT_BYTES);
}

/** `signed.version` of a root file, unverified (it only names the probe's URL); null if unreadable. */
function rootVersion(file: string): number | null {
  if (statSync(file).size > MAX_ROOT_BYTES) return null;
  const version = (JSON.parse(readFileSync(file, 'utf8')) as { signed?: { version?: unknown } }).signed?.version;
  return Number.isSafeInteger(version) && (version as number) >= 1 ? (version as number) : null;
}
