/**
 * Source chains: where federated trust comes from, carried in the `source` field of trust
 * documents (per anchor, and per document for a federated scope), so that a downstream can
 * tell its own trust coming back round a loop. Pure.
 *
 *   source := path (", " path)*          several paths when several upstreams define it
 *   path   := hop (" " hop)*             nearest hop first
 *   hop    := "upstream:" NAME "@" ORIGIN     an online upstream, as the service that follows it names it
 *           | "bundle:" ORIGIN                the origin of imported bundles
 *
 * ORIGIN is a repository's identity: 32 hex of the SHA-256 of its version 1 root (shared/bundle/
 * format.ts originOf), the same for every root rotation. A service republishing federated
 * trust prefixes its hop for the upstream to every path, and drops every path that already
 * passes through itself (A follows B follows A: A's trust never comes back into A). Paths are
 * at most MAX_HOPS long and an item keeps at most MAX_PATHS of them, so a loop or a long chain
 * of services cannot grow a document without bound.
 */
import { ORIGIN_PATTERN } from '../../shared/bundle/format.js';

export const MAX_HOPS = 8;
export const MAX_PATHS = 8;
export const UPSTREAM_PREFIX = 'upstream:';
export const BUNDLE_PREFIX = 'bundle:';
/** An upstream's name: also its path segment under /mirrors/. */
export const UPSTREAM_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

const HOP = /^(?:upstream:([A-Za-z0-9][A-Za-z0-9._-]{0,63})@([0-9a-f]{32})|bundle:([0-9a-f]{32}))$/;

export interface Hop {
  /** Who brought it here: `upstream:<name>` or `bundle:<origin>`. */
  owner: string;
  origin: string;
}

/** The hop for an online upstream named `name` whose repository has identity `origin`. */
export function upstreamHop(name: string, origin: string): string {
  return `${UPSTREAM_PREFIX}${name}@${origin}`;
}

/** The hop (and owner) for the origin of imported bundles. */
export function bundleHop(origin: string): string {
  return `${BUNDLE_PREFIX}${origin}`;
}

export function parseHop(token: string): Hop | null {
  const m = HOP.exec(token);
  if (!m) return null;
  return m[3] ? { owner: `${BUNDLE_PREFIX}${m[3]}`, origin: m[3] } : { owner: `${UPSTREAM_PREFIX}${m[1]}`, origin: m[2]! };
}

/** The owner a hop names (`upstream:hq@<origin>` → `upstream:hq`). */
export function ownerOfHop(hop: string): string {
  return parseHop(hop)?.owner ?? hop;
}

/** The paths of a source; hops that are not well-formed make their path unusable and drop it. */
export function splitSource(source: string | null | undefined): string[][] {
  if (typeof source !== 'string' || source.length === 0 || source.length > 64 * 1024) return [];
  const out: string[][] = [];
  for (const p of source.split(',')) {
    const hops = p.trim().split(/\s+/);
    if (hops.length === 0 || hops.some((h) => parseHop(h) === null)) continue;
    out.push(hops);
  }
  return out;
}

/** Paths back into a source string: each once, sorted (shortest first), at most MAX_PATHS. */
export function joinSource(paths: string[][]): string | null {
  const unique = [...new Set(paths.filter((p) => p.length > 0 && p.length <= MAX_HOPS).map((p) => p.join(' ')))];
  unique.sort((a, b) => a.split(' ').length - b.split(' ').length || (a < b ? -1 : a > b ? 1 : 0));
  return unique.length === 0 ? null : unique.slice(0, MAX_PATHS).join(', ');
}

/**
 * The source of an item that `hop` (this service's upstream) published with `upstreamSource`
 * (absent: the upstream defined it itself). Returns null when every path passes through
 * `self` (the item is this service's own trust coming back) or is too long: drop the item.
 */
export function extendSource(upstreamSource: string | null | undefined, hop: string, self: string | null): string | null {
  const given = splitSource(upstreamSource);
  // A source that was given but holds no usable path is treated as the upstream's own.
  const paths = (given.length > 0 ? given : [[]]).map((p) => [hop, ...p]);
  const kept = paths.filter((p) => p.length <= MAX_HOPS && !(self !== null && p.some((h) => parseHop(h)?.origin === self)));
  return joinSource(kept);
}

/** The union of several sources (one item defined by several upstreams). */
export function mergeSources(sources: (string | null | undefined)[]): string | null {
  return joinSource(sources.flatMap((s) => splitSource(s)));
}

/** The owners (first hops) of a source: who brought the item to this service. */
export function ownersOf(source: string | null | undefined): string[] {
  return [...new Set(splitSource(source).map((p) => ownerOfHop(p[0]!)))].sort();
}

/** Whether a source is a well-formed origin ID (for hops built from a repository's root). */
export function isOrigin(s: string): boolean {
  return ORIGIN_PATTERN.test(s);
}
