/**
 * Test support: notation's CRL file cache as notation reads it, written down once from the
 * source, independently of keyshare's writer (notation itself is not installed here).
 *
 * notaryproject/notation-go v1.3.0, verifier/crl/crl.go (FileCache), the cache notation v1.3.0
 * opens at {NOTATION_CACHE}/crl (notation internal/revocation/revocation.go):
 * - an entry's file name is the lower-case hex SHA-256 of the CRL URL (`fileName`);
 * - its content is JSON `{"baseCRL": <base64 DER>, "deltaCRL": <optional>}` (`fileCacheContent`,
 *   Go encoding/json: []byte as standard base64), the base CRL parsed by x509.ParseRevocationList.
 */
import { createHash } from 'node:crypto';

export const NOTATION_CRL_CACHE_FORMAT = {
  subdir: 'crl',
  fileName: (url: string): string => createHash('sha256').update(url, 'utf8').digest('hex'),
  /** The base CRL's DER in an entry; throws when notation could not decode it. */
  baseCrl(content: string): Buffer {
    const value = JSON.parse(content) as Record<string, unknown>;
    if (typeof value.baseCRL !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value.baseCRL)) throw new Error('no base64 baseCRL');
    const extra = Object.keys(value).filter((k) => k !== 'baseCRL' && k !== 'deltaCRL');
    if (extra.length > 0) throw new Error(`fields notation does not know: ${extra.join(', ')}`);
    return Buffer.from(value.baseCRL, 'base64');
  },
} as const;
