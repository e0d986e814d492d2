/**
 * Which scopes a change makes dirty, and which trust documents a dirty scope alters (issue 22:
 * the rule is written once, here; the store records the marks, the publisher reads them). Pure.
 *
 * A dirty key is a scope, or `crl:<issuer anchor ID>` for a CRL target (published byte for
 * byte). The default scope `*` contains every scope, so marking it makes every document dirty.
 */
import { DEFAULT_SCOPE } from './scope.js';
import { cmp } from './trust.js';

/** Marks everything dirty: a change that applies everywhere (e.g. a revocation without scope). */
export const ALL_SCOPES = DEFAULT_SCOPE;
/** Dirty keys `crl:<issuer anchor ID>` mark a CRL target, not a scope. */
export const CRL_DIRTY_PREFIX = 'crl:';

/** A write that can change what the repository publishes, as the store reports it. */
export type TrustChange =
  /** A scope created, redefined (inherit, level, source) or deleted. */
  | { of: 'scope'; scope: string }
  /** An anchor added, replaced or removed at its scope. */
  | { of: 'anchor'; scope: string }
  /** A local block of an upstream anchor added or lifted at its scope. */
  | { of: 'anchor-block'; scope: string }
  /** A revocation; one without a scope applies everywhere. */
  | { of: 'revocation'; scope?: string | null }
  /**
   * A CRL stored for its issuer: `first` (the issuer had none), `urlChanged`, `revokedChanged`
   * (another set of revoked serials, which can revoke anchors).
   */
  | { of: 'crl'; issuer: string; first: boolean; urlChanged: boolean; revokedChanged: boolean }
  /** The URL an issuer's CRL is fetched from, set to another value. */
  | { of: 'crl-url'; issuer: string };

/** The dirty keys a change marks. */
export function dirtyKeys(change: TrustChange): string[] {
  switch (change.of) {
    case 'scope':
    case 'anchor':
    case 'anchor-block':
      return [change.scope];
    case 'revocation':
      return [change.scope ?? ALL_SCOPES];
    case 'crl':
      // Trust documents list each CRL's issuer and URL (`crls[]`), and its serials revoke anchors.
      return change.first || change.urlChanged || change.revokedChanged ? [crlKey(change.issuer), ALL_SCOPES] : [crlKey(change.issuer)];
    case 'crl-url':
      return [ALL_SCOPES];
  }
}

const crlKey = (issuer: string) => `${CRL_DIRTY_PREFIX}${issuer}`;

/** The dirty keys that are scopes (the others mark CRL targets). */
export const dirtyScopesOf = (keys: readonly string[]): string[] => keys.filter((k) => !k.startsWith(CRL_DIRTY_PREFIX));

/**
 * The scopes whose trust documents the dirty scopes alter: the dirty scopes themselves and
 * every defined scope under one of them (CONTRACT.md "Scopes": a scope inherits from the scopes
 * that contain it), once each, in code-unit order. `sorted` is every defined scope, in that
 * order: they are marked by index, without a set of 100k strings to grow and sort (bench B9).
 */
export function affectedScopes(dirtyScopes: readonly string[], sorted: readonly string[]): string[] {
  const marked = new Uint8Array(sorted.length);
  const undefinedDirty = new Set<string>();
  const wide = new Set(dirtyScopes.filter((d) => d === DEFAULT_SCOPE || d.startsWith('*.')));
  if (wide.size > 0) {
    // The default scope or a wildcard contains scopes by their host: look at every scope.
    const under = wildcardTest(wide);
    for (let i = 0; i < sorted.length; i++) if (under(sorted[i]!)) marked[i] = 1;
  }
  for (const d of dirtyScopes) {
    const at = lowerBound(sorted, d);
    if (sorted[at] === d) marked[at] = 1;
    else undefinedDirty.add(d);
    if (wide.has(d)) continue;
    // A registry or path scope contains exactly the scopes that extend it by whole path
    // components (`acme.io/team` does not contain `acme.io/teamwork`): one sorted run.
    const prefix = `${d}/`;
    for (let i = lowerBound(sorted, prefix); i < sorted.length && sorted[i]!.startsWith(prefix); i++) marked[i] = 1;
  }
  const out: string[] = [];
  for (let i = 0; i < sorted.length; i++) if (marked[i] === 1) out.push(sorted[i]!);
  if (undefinedDirty.size === 0) return out;
  // Dirty scopes no longer defined (their documents are deleted) go in their places.
  return [...out, ...undefinedDirty].sort(cmp);
}

/**
 * Whether one of `wide` (`*` or `*.domain` scopes) strictly contains `scope`: the same answer as
 * `ancestorCandidates(scope).some((a) => wide.has(a))`, without building the candidates (bench
 * B9: a change at `*.domain` asks it of every defined scope).
 */
export function underWildcard(scope: string, wide: ReadonlySet<string>): boolean {
  return wildcardTest(wide)(scope);
}

/** Few wildcards are matched as host suffixes, without a string a scope (bench B9); many, by the host's labels. */
const FEW_WILDCARDS = 4;

/** underWildcard(scope, wide) as a test built once for many scopes. */
function wildcardTest(wide: ReadonlySet<string>): (scope: string) => boolean {
  const everywhere = wide.has(DEFAULT_SCOPE);
  // `*.b.c` as `.b.c`: a host under it ends with that, after one label at least.
  const suffixes = wide.size <= FEW_WILDCARDS ? [...wide].map((w) => w.slice(1)) : null;
  return (scope) => {
    if (scope === DEFAULT_SCOPE) return false;
    if (everywhere) return true;
    // The host: a wildcard's domain, or a registry's name without its port (scope.ts hostOf).
    let start = 0;
    let end = scope.length;
    if (scope.startsWith('*.')) start = 2;
    else {
      const slash = scope.indexOf('/');
      if (slash >= 0) end = slash;
      const colon = scope.lastIndexOf(':', end - 1);
      if (colon >= 0) end = colon;
    }
    if (suffixes) return suffixes.some((x) => end - x.length > start && scope.startsWith(x, end - x.length));
    // a.b.c is under *.b.c and *.c.
    for (let dot = scope.indexOf('.', start); dot >= 0 && dot < end; dot = scope.indexOf('.', dot + 1)) if (wide.has(`*${scope.slice(dot, end)}`)) return true;
    return false;
  };
}

/** The first index in `sorted` whose string is not less than `key` (binary search). */
export function lowerBound(sorted: readonly string[], key: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
