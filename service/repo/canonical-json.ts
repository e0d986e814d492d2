/**
 * Canonical JSON, the OLPC dialect that TUF signs (TUF spec 4.2) and @tufjs/canonical-json
 * writes: keys sorted, no whitespace, integers only, and in strings only `\` and `"` escaped.
 * The same string as its `canonicalize`, written into one accumulator instead of an array of
 * parts joined per value: a parent change re-signs every bin, 10k target entries at 10k scopes
 * (bench B9). What it cannot encode is refused with the same TypeError.
 */
export function canonicalJson(value: unknown): string {
  return write('', value);
}

function write(out: string, v: unknown): string {
  if (typeof v === 'string') return out + quoted(v);
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
    for (let i = 0; i < keys.length; i++) out = write(`${i > 0 ? out + ',' : out}${quoted(keys[i]!)}:`, o[keys[i]!]);
    return out + '}';
  }
  throw new TypeError(`cannot encode ${String(v)}`);
}

const quoted = (s: string) => (/[\\"]/.test(s) ? `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"` : `"${s}"`);
