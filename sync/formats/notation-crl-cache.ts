/**
 * `fetch --format notation --notation-crl-cache DIR` (issue 4): entries for notation's CRL file
 * cache, so that `notation verify` finds the CRLs of keyshare's CA anchors without a network.
 * Pure: verified trust documents and CRL targets in, cache entries out; the decision whether
 * to replace an entry takes the existing file's bytes.
 *
 * The format is notation's, not ours. Facts (from the sources, not code, cited):
 * - notation v1.3.0 (January 2025) is the first release that checks CRLs and caches them
 *   (notation-go issue 425, notation-core-go issue 125; release notes "Support of CRL
 *   revocation check with built-in file cache"). Use v1.3.0 or later, not its release
 *   candidates: rc.1 could fail to write the cache (GHSA-qjh3-4j3h-vmwp), and development
 *   versions of FileCache named the fields `rawBaseCRL` / `rawDeltaCRL`.
 * - The cache root is `dir.CacheFS().SysPath(dir.PathCRLCache)`, i.e. `{NOTATION_CACHE}/crl`
 *   (notation `internal/revocation/revocation.go`; notation-go `dir`): on Linux
 *   `$XDG_CACHE_HOME/notation/crl` or `~/.cache/notation/crl`, on macOS
 *   `~/Library/Caches/notation/crl`, on Windows `%LocalAppData%\notation\crl` (Go
 *   `os.UserCacheDir`; notaryproject.dev "Notation directory structure").
 * - notation-go v1.3.0 `verifier/crl/crl.go` (`FileCache`), implementing notation-core-go
 *   `revocation/crl/cache.go` (`Cache`, keyed by the CRL URL):
 *   - the key is the URL of the CRL, as the certificate's CRL distribution point names it; the
 *     file name is the lower-case hex SHA-256 of that URL string (`fileName`);
 *   - the file is the JSON object `{"baseCRL": <DER>, "deltaCRL": <DER, omitted when none>}`,
 *     where Go's encoding/json writes a []byte as standard base64 with padding;
 *   - on read, baseCRL must parse as a CRL (x509.ParseRevocationList) and must have a
 *     nextUpdate (otherwise an error; notation's CLI then downloads); once nextUpdate has
 *     passed the entry is a cache miss, and notation downloads again: offline, that makes the
 *     revocation status unavailable. There is no other metadata (no fetch time, no max age).
 *   - writes go to a temporary file in the cache dir, renamed over the entry.
 */
import { compareCrlNumbers, parseCrl, type ParsedCrl } from '../../service/crypto/crl.js';
import { sha256Hex } from '../../service/crypto/encoding.js';
import type { TrustDocument } from '../../shared/types.js';

/** What notation reads, in one place (sources above). */
export const NOTATION_CRL_CACHE = {
  /** The first notation release that reads this cache. */
  notationVersion: '1.3.0',
  /** The sub-directory of notation's cache dir ({NOTATION_CACHE}) that holds the entries. */
  subdir: 'crl',
  /** The JSON field holding the base CRL's DER, base64. */
  baseCrlField: 'baseCRL',
  source: 'notaryproject/notation-go v1.3.0 verifier/crl/crl.go (FileCache)',
} as const;

/** The file name of the entry for a CRL URL: hex SHA-256 of the URL string. */
export function notationCrlCacheFileName(url: string): string {
  return sha256Hex(Buffer.from(url, 'utf8'));
}

/** The content of an entry: a base CRL and no delta CRL (keyshare publishes full CRLs). */
export function notationCrlCacheContent(der: Uint8Array): string {
  return JSON.stringify({ [NOTATION_CRL_CACHE.baseCrlField]: Buffer.from(der).toString('base64') });
}

/** The path under which the service serves an issuer's CRL (CONTRACT.md: `/crl/{issuer-hex}.crl`). */
export function servedCrlUrl(base: string, issuer: string): string {
  return `${base.replace(/\/+$/, '')}/crl/${issuer.replace(/^sha256:/, '')}.crl`;
}

export interface NotationCrlCacheEntry {
  /** The CRL URL this entry answers for. */
  url: string;
  /** The file name inside `{NOTATION_CACHE}/crl`. */
  file: string;
  /** The CA anchor ID the CRL belongs to. */
  issuer: string;
  der: Uint8Array;
  content: string;
}

export interface NotationCrlCacheInput {
  documents: TrustDocument[];
  /** The verified CRL targets, DER by target path (fetchTrust with `crls: true`). */
  crls: ReadonlyMap<string, Uint8Array>;
  /**
   * Base URLs of keyshare services whose `/crl/{issuer-hex}.crl` certificates may name: the
   * --server fetched from, and each --crl-url-base.
   */
  bases: string[];
}

/**
 * One entry per URL a certificate of each CA may name as its CRL distribution point: the
 * service's stable URL under each base, and the CA's own URL (`crls[].urls`) when the trust
 * document carries it. Sorted by URL; a CA listed by several scopes gets its entries once.
 */
export function notationCrlCacheEntries(input: NotationCrlCacheInput): { entries: NotationCrlCacheEntry[]; warnings: string[] } {
  const byUrl = new Map<string, NotationCrlCacheEntry>();
  const warnings: string[] = [];
  for (const doc of input.documents) {
    for (const crl of doc.crls ?? []) {
      const der = input.crls.get(crl.target);
      if (!der) {
        warnings.push(`notation: the CRL ${crl.target} of scope ${doc.scope} was not fetched; not in the CRL cache`);
        continue;
      }
      const urls = [...input.bases.map((b) => servedCrlUrl(b, crl.issuer)), ...(crl.urls ?? [])];
      for (const url of urls) {
        const seen = byUrl.get(url);
        if (seen && seen.issuer !== crl.issuer) {
          warnings.push(`notation: the CRL URL ${url} is given for two CAs (${seen.issuer}, ${crl.issuer}); cached for the first only`);
          continue;
        }
        if (!seen) byUrl.set(url, { url, file: notationCrlCacheFileName(url), issuer: crl.issuer, der, content: notationCrlCacheContent(der) });
      }
    }
  }
  const entries = [...byUrl.values()].sort((a, b) => (a.url < b.url ? -1 : a.url > b.url ? 1 : 0));
  return { entries, warnings };
}

export type NotationCrlCacheAction = 'written' | 'unchanged' | 'kept-newer';

function tryParse(der: Uint8Array): ParsedCrl | null {
  try {
    return parseCrl(der);
  } catch {
    return null;
  }
}

/** The base CRL's DER of an existing entry, or null when it is not one notation could read. */
function existingBaseCrl(existing: Uint8Array): Uint8Array | null {
  try {
    const value = JSON.parse(Buffer.from(existing).toString('utf8')) as unknown;
    const b64 = (value as Record<string, unknown> | null)?.[NOTATION_CRL_CACHE.baseCrlField];
    return typeof b64 === 'string' ? new Uint8Array(Buffer.from(b64, 'base64')) : null;
  } catch {
    return null;
  }
}

/**
 * Whether to write `der` over an existing entry (null: there is none). An entry for the same
 * CA that is newer stays: a higher CRL number (RFC 5280 5.2.3: CRL numbers only go up) or,
 * without comparable numbers, a later thisUpdate. An entry notation could not use, or one of
 * another CA, is replaced.
 */
export function notationCrlCacheDecision(existing: Uint8Array | null, der: Uint8Array): Exclude<NotationCrlCacheAction, 'written'> | 'write' {
  if (existing === null) return 'write';
  const old = existingBaseCrl(existing);
  if (old === null) return 'write';
  if (Buffer.from(old).equals(Buffer.from(der))) {
    return Buffer.from(existing).toString('utf8') === notationCrlCacheContent(der) ? 'unchanged' : 'write';
  }
  const was = tryParse(old);
  const now = tryParse(der);
  if (!was || !now || was.issuer !== now.issuer) return 'write';
  if (was.crlNumber !== null && now.crlNumber !== null) {
    const order = compareCrlNumbers(was.crlNumber, now.crlNumber);
    if (order !== 0) return order > 0 ? 'kept-newer' : 'write';
  }
  return was.thisUpdate.getTime() > now.thisUpdate.getTime() ? 'kept-newer' : 'write';
}
