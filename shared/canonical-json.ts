/**
 * Canonical JSON, the OLPC dialect that TUF signs (TUF spec 4.2) and @tufjs/canonical-json
 * writes: keys sorted, no whitespace, integers only, and in strings only `\` and `"` escaped.
 * The same string as its `canonicalize`, written into one accumulator instead of an array of
 * parts joined per value: a parent change re-signs every bin (bench B9), an apply of 100k scopes
 * digests the whole state and signs 1,024 bins at once (bench B4). What it cannot encode is
 * refused with the same TypeError.
 */
export function canonicalJson(value: unknown): string {
  return write('', value);
}

/** A string as canonicalize writes it: only `\\` and `"` are escaped. */
export function canonicalString(s: string): string {
  return /[\\"]/.test(s) ? `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"` : `"${s}"`;
}

function write(out: string, v: unknown): string {
  if (typeof v === 'string') return out + canonicalString(v);
  if (v === null || typeof v === 'boolean' || Number.isInteger(v)) return out + JSON.stringify(v);
  if (Array.isArray(v)) {
    out += '[';
    for (let i = 0; i < v.length; i++) out = write(i > 0 ? out + ',' : out, v[i]);
    return out + ']';
  }
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o).sort();
    out += '{';
    for (let i = 0; i < keys.length; i++) out = write(`${i > 0 ? out + ',' : out}${canonicalString(keys[i]!)}:`, o[keys[i]!]);
    return out + '}';
  }
  throw new TypeError(`cannot encode ${String(v)}`);
}
