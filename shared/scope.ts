/**
 * Scope syntax and containment (CONTRACT.md "Scopes"). Pure.
 *
 *   *                      the default scope
 *   *.example.com          every registry host under example.com
 *   host[:port]            a registry (lower-case DNS name, IPv4 address or localhost)
 *   host[:port]/path/...   a namespace or repository (OCI path components)
 */
import { KeyshareError, SharedCodes as Codes } from './errors.js';

export const DEFAULT_SCOPE = '*';
/** OCI distribution: a repository name (with its registry) is at most 255 characters. */
export const MAX_SCOPE_LENGTH = 255;

export type ParsedScope =
  | { kind: 'default' }
  | { kind: 'wildcard'; domain: string }
  | { kind: 'registry'; registry: string }
  | { kind: 'path'; registry: string; path: string[] };

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
/** OCI distribution spec: path components of a repository name. */
const PATH_COMPONENT = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*$/;

function invalid(scope: string, why: string): KeyshareError {
  return new KeyshareError(Codes.SCOPE_INVALID, `invalid scope ${JSON.stringify(scope)}: ${why}`);
}

function isDnsName(host: string): boolean {
  if (host.length > 253) return false;
  const labels = host.split('.');
  return labels.every((l) => DNS_LABEL.test(l)) && !/^\d+$/.test(labels[labels.length - 1]!);
}

function checkRegistry(scope: string, registry: string): void {
  const m = /^([^:]*)(?::(\d{1,5}))?$/.exec(registry);
  if (!m) throw invalid(scope, 'the registry must be host[:port]');
  const [, host, port] = m;
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535 || port.startsWith('0'))) {
    throw invalid(scope, `port ${port} is out of range`);
  }
  if (host === 'localhost' || IPV4.test(host!) || isDnsName(host!)) return;
  if (host !== host!.toLowerCase()) throw invalid(scope, 'the registry host must be lower case');
  throw invalid(scope, `"${host}" is not a DNS name, an IPv4 address or localhost`);
}

/**
 * Valid scopes as parsed, kept (bench B9: a parent change recomputes every scope under it, and
 * its inheritance chain parses each scope about fifteen times). Results are shared: callers
 * only read them. Cleared when full, so that it stays bounded.
 */
const parsed = new Map<string, ParsedScope>();
const MAX_PARSED = 1 << 18;

/** Parses and validates a scope string; throws SCOPE_INVALID with the reason. */
export function parseScope(scope: string): ParsedScope {
  let p = parsed.get(scope);
  if (!p) {
    p = parseScopeOnce(scope);
    if (parsed.size >= MAX_PARSED) parsed.clear();
    parsed.set(scope, p);
  }
  return p;
}

function parseScopeOnce(scope: string): ParsedScope {
  if (typeof scope !== 'string' || scope.length === 0) throw invalid(String(scope), 'it is empty');
  if (scope.length > MAX_SCOPE_LENGTH) throw invalid(scope.slice(0, 40) + '…', `it is longer than ${MAX_SCOPE_LENGTH} characters`);
  if (scope === DEFAULT_SCOPE) return { kind: 'default' };
  if (scope !== scope.toLowerCase()) throw invalid(scope, 'scopes are lower case');
  if (scope.startsWith('*.')) {
    const domain = scope.slice(2);
    if (domain.includes('/') || domain.includes(':')) throw invalid(scope, 'a wildcard covers registry hosts only, without port or path');
    if (!isDnsName(domain)) throw invalid(scope, `"${domain}" is not a DNS name`);
    return { kind: 'wildcard', domain };
  }
  if (scope.includes('*')) throw invalid(scope, 'a wildcard is only allowed as a leading "*."');
  const [registry, ...path] = scope.split('/');
  checkRegistry(scope, registry!);
  if (path.length === 0) return { kind: 'registry', registry: registry! };
  for (const component of path) {
    if (component === '') throw invalid(scope, 'empty path component');
    if (!PATH_COMPONENT.test(component)) throw invalid(scope, `path component "${component}" is not a valid OCI repository component`);
  }
  return { kind: 'path', registry: registry!, path };
}

export function isValidScope(scope: string): boolean {
  try {
    parseScope(scope);
    return true;
  } catch {
    return false;
  }
}

/** Parses an image repository (host[:port]/path...), e.g. for `fetch --repository`. */
export function parseRepository(repository: string): ParsedScope & { kind: 'path' | 'registry' } {
  const parsed = parseScope(repository);
  if (parsed.kind !== 'path' && parsed.kind !== 'registry') {
    throw new KeyshareError(Codes.SCOPE_INVALID, `"${repository}" is not a repository (host[:port]/path)`);
  }
  return parsed;
}

function hostOf(registry: string): string {
  return registry.replace(/:\d+$/, '');
}

/** Whether scope `outer` contains `inner` (reflexive). Whole path components only. */
export function scopeContains(outer: string, inner: string): boolean {
  if (outer === inner) return true;
  const o = parseScope(outer);
  if (o.kind === 'default') return true;
  const i = parseScope(inner);
  switch (o.kind) {
    case 'wildcard': {
      const suffix = '.' + o.domain;
      if (i.kind === 'wildcard') return i.domain.endsWith(suffix);
      if (i.kind === 'registry' || i.kind === 'path') return hostOf(i.registry).endsWith(suffix);
      return false;
    }
    case 'registry':
      return (i.kind === 'registry' || i.kind === 'path') && i.registry === o.registry;
    case 'path':
      return (
        i.kind === 'path' &&
        i.registry === o.registry &&
        i.path.length >= o.path.length &&
        o.path.every((c, k) => i.path[k] === c)
      );
  }
}

/** Higher is more specific: default < wildcard (longer domain first) < registry < namespace < repository. */
export function scopeSpecificity(scope: string): number {
  const p = parseScope(scope);
  switch (p.kind) {
    case 'default':
      return 0;
    case 'wildcard':
      return 1 + p.domain.split('.').length;
    case 'registry':
      return 1000;
    case 'path':
      return 1000 + p.path.length;
  }
}

/** The most specific of `defined` that contains `target` (and is not `target` itself when strict). */
export function mostSpecificContaining(target: string, defined: Iterable<string>, strict = false): string | null {
  let best: string | null = null;
  let bestRank = -1;
  for (const s of defined) {
    if (strict && s === target) continue;
    if (!scopeContains(s, target)) continue;
    const rank = scopeSpecificity(s);
    if (rank > bestRank) {
      best = s;
      bestRank = rank;
    }
  }
  return best;
}

/** CONTRACT.md: the scope for a repository is the most specific defined scope that contains it. */
export function resolveRepositoryScope(repository: string, defined: Iterable<string>): string | null {
  parseRepository(repository);
  return mostSpecificContaining(repository, defined);
}

/**
 * The scopes that could be the scope of `repository`, most specific first (CONTRACT.md
 * "Scopes": the most specific defined scope that contains it): the repository itself, its
 * parent paths, its registry, each `*.domain` over its host, then `*`. Each contains the
 * repository, and no two are equally specific, so the first defined one is its scope.
 */
export function repositoryCandidates(repository: string): string[] {
  parseRepository(repository);
  return [repository, ...ancestorCandidates(repository)].sort((a, b) => scopeSpecificity(b) - scopeSpecificity(a));
}

/** Target path of a scope's trust document (CONTRACT.md target files). */
export function trustTargetPath(scope: string): string {
  return scope === DEFAULT_SCOPE ? 'trust/_default.json' : `trust/${scope}.json`;
}

/**
 * Every scope string that could strictly contain `scope`: '*', the wildcards over its host's
 * parent domains, its registry, and its parent paths. Lets callers find ancestors by lookup.
 */
export function ancestorCandidates(scope: string): string[] {
  const p = parseScope(scope);
  if (p.kind === 'default') return [];
  const out = [DEFAULT_SCOPE];
  const host = p.kind === 'wildcard' ? p.domain : hostOf(p.registry);
  // a.b.c is under *.b.c and *.c; the wildcard *.b.c is under *.c. An IPv4 address is under no wildcard.
  // (Built from the dots' positions, without splitting and joining: bench B9 asks it of every governed scope.)
  if (!IPV4.test(host)) for (let i = host.indexOf('.'); i >= 0; i = host.indexOf('.', i + 1)) out.push('*' + host.slice(i));
  if (p.kind === 'path') {
    out.push(p.registry);
    let parent = p.registry;
    for (let i = 0; i < p.path.length - 1; i++) out.push((parent = `${parent}/${p.path[i]}`));
  }
  return out;
}

/**
 * The most specific of ancestorCandidates(scope), null for '*': its parent path, its registry's
 * nearest wildcard (or '*'), or a wildcard's next wider one. Each candidate's own nearest is the
 * next, so walking them gives ancestorCandidates(scope), most specific first; siblings share the
 * walk above their nearest (bench B9: a parent change asks for the ancestors of each scope under it).
 */
export function nearestCandidate(scope: string): string | null {
  if (scope === DEFAULT_SCOPE) return null;
  let host: string;
  if (scope.startsWith('*.')) host = scope.slice(2);
  else {
    const slash = scope.lastIndexOf('/');
    if (slash >= 0) return scope.slice(0, slash);
    const colon = scope.lastIndexOf(':');
    host = colon >= 0 ? scope.slice(0, colon) : scope;
    if (IPV4.test(host)) return DEFAULT_SCOPE;
  }
  const dot = host.indexOf('.');
  return dot >= 0 ? `*${host.slice(dot)}` : DEFAULT_SCOPE;
}
