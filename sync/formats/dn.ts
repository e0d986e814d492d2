/**
 * Notation trusted identities (trust-store-trust-policy.md, "Trusted Identities Constraints"):
 * `*`, or `x509.subject: <DN>` where the DN (RFC 4514) has single-valued, unique RDNs and at
 * least C, ST and O. Identities of one policy must not overlap: one DN whose attributes are a
 * subset of another's matches every certificate the other matches.
 */

export const X509_SUBJECT = 'x509.subject:';
const MANDATORY = ['C', 'ST', 'O'];

export type ParsedDn = Map<string, string>;

/** Parses the DN of an `x509.subject:` identity; returns an error message when notation would refuse it. */
export function parseSubjectIdentity(identity: string): ParsedDn | string {
  if (!identity.startsWith(X509_SUBJECT)) return 'it is neither "*" nor "x509.subject: ..."';
  const rdns = splitUnescaped(identity.slice(X509_SUBJECT.length), ',;');
  const dn: ParsedDn = new Map();
  for (const rdn of rdns) {
    // Multi-valued RDNs (`A=1+B=2`) are not supported by notation.
    if (splitUnescaped(rdn, '+').length > 1) return 'it has a multi-valued RDN';
    const eq = rdn.indexOf('=');
    if (eq <= 0) return `"${rdn.trim()}" is not an attribute=value pair`;
    const type = rdn.slice(0, eq).trim();
    const value = unescapeValue(rdn.slice(eq + 1));
    if (type === '' || value === '') return `"${rdn.trim()}" is not an attribute=value pair`;
    if (dn.has(type)) return `attribute ${type} appears twice`;
    dn.set(type, value);
  }
  for (const m of MANDATORY) if (!dn.has(m)) return `it lacks the mandatory ${m} attribute (C, ST and O are required)`;
  return dn;
}

/** True when every attribute of `a` is in `b` with the same value: `a` matches all that `b` matches. */
export function isSubsetDn(a: ParsedDn, b: ParsedDn): boolean {
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

/** Splits on any of `seps` that is not escaped with a backslash. */
function splitUnescaped(s: string, seps: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\' && i + 1 < s.length) {
      cur += c + s[i + 1];
      i++;
    } else if (seps.includes(c)) {
      out.push(cur);
      cur = '';
    } else {
      cur += c;
    }
  }
  out.push(cur);
  return out;
}

/** RFC 4514 2.4: `\` escapes one special character or is followed by two hex digits; unescaped outer spaces are dropped. */
function unescapeValue(raw: string): string {
  let start = 0;
  while (start < raw.length && raw[start] === ' ') start++;
  let end = raw.length;
  while (end > start && raw[end - 1] === ' ' && !isEscaped(raw, end - 1)) end--;
  const chars = Array.from(raw.slice(start, end)); // code points
  const bytes: number[] = [];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    const hex = (chars[i + 1] ?? '') + (chars[i + 2] ?? '');
    if (c === '\\' && /^[0-9a-fA-F]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      const ch = c === '\\' && i + 1 < chars.length ? chars[++i]! : c;
      bytes.push(...Buffer.from(ch, 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

function isEscaped(s: string, i: number): boolean {
  let n = 0;
  for (let j = i - 1; j >= 0 && s[j] === '\\'; j--) n++;
  return n % 2 === 1;
}
