/**
 * OLPC canonical JSON (TUF spec 4.2: what is signed), written in one pass: the same bytes as
 * @tufjs/canonical-json's `canonicalize`, which builds an array of parts for every value (the
 * audit digest of 100k scopes and the signing of 1,024 bins at once, bench B4). Anything
 * canonical JSON cannot encode (a float, undefined) goes to `canonicalize`, which refuses it.
 */
import { canonicalize } from '@tufjs/canonical-json';

/** A string as canonicalize writes it: only `\\` and `"` are escaped. */
export function canonicalString(s: string): string {
  return /[\\"]/.test(s) ? `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"` : `"${s}"`;
}

export function canonicalJson(v: unknown): string {
  if (typeof v === 'string') return canonicalString(v);
  if (v === null || typeof v === 'boolean' || Number.isInteger(v)) return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${canonicalString(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return canonicalize(v as never);
}
