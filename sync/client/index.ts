/**
 * The client library (what `keyshare fetch`, an init container or an admission controller
 * imports): verified fetch of trust documents over TUF, the cache, and writing --out.
 * Pair it with a writer from sync/formats.
 */
export { fetchTrust, normalizeServer, INDEX_TARGET, type FetchTrustOptions, type FetchTrustResult, type FetchMetadataInfo } from './fetch-trust.js';
export { FetchCodes, NotCachedError, toFetchError } from './errors.js';
export { HttpFetcher, CacheFetcher, type HttpFetcherOptions } from './fetcher.js';
export { cacheLayout, defaultCacheDir, serverFolder, type CacheLayout, type CacheState } from './cache.js';
export { readPinnedRoot } from './cache-root.js';
export { selectScopes, parseTrustDocument, type Selection } from './select.js';
export { writeOutDir, checkOutDir, outManifest, MANIFEST, type OutManifest } from './out-dir.js';
export { KeyshareError, isKeyshareError } from '../../shared/errors.js';
