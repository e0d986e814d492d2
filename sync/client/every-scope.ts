/**
 * Every scope, from the verified roles themselves (issue 17, B5: a cold fetch of every scope
 * downloads at most 1.3× the documents' own sizes). A client that fetches every scope downloads
 * every document bin anyway, to verify each document, and each bin lists its `trust/{scope}.json`
 * targets with their length and hashes (CONTRACT.md "Target files"): the scopes are read from
 * those bins, and the index shards (`index/{prefix}.json`, 85 B a scope) are not downloaded. They
 * stay published for the contract; --scope, --repository and scope patterns do not use this.
 *
 * Only targets reached through the verified delegation walk count (TUF 5.6.7): a path that a
 * role lists but is not trusted for (a bin listing another bin's path, a tenant's role listing
 * a path outside its own) is not a target of this repository, and is ignored, as tuf-js ignores
 * it. A trusted target under `trust/` that is not the trust file of a valid scope (its name is
 * not a scope, or not that scope's own file: `*` is `trust/_default.json`) is refused with
 * METADATA_INVALID, as a malformed index shard is: the signed repository is not keyshare's.
 */
import { KeyshareError } from '../../shared/errors.js';
import { isValidScope, trustTargetPath } from '../../shared/scope.js';
import { scopeOfTrustPath } from '../../shared/trust-index.js';
import { FetchCodes } from './errors.js';

/** A verified targets role as the listing reads it: its target paths, and the roles it delegates to (`paths` when it delegates by path pattern). */
export interface ListedRole {
  paths: Iterable<string>;
  delegates: { name: string; paths?: readonly string[] }[];
}

/** A scope and its trust file, as a verified role lists it. */
export interface TrustFile {
  scope: string;
  path: string;
}

/** Bounds on the walk (a hostile repository must not make the client walk without limit): 2^16 bins, and the depth tuf-js's own walks never need more than. */
export const MAX_LISTED_ROLES = 1 << 16;
const MAX_DEPTH = 8;

const TRUST_PREFIX = 'trust/';

/**
 * Whether a role delegated by these path patterns can be trusted for a `trust/...` path: one
 * pattern's first component matches `trust` (literally, or as a glob). Conservative: any glob
 * character counts as a match, so only roles such as `shards` (`index/*`) are skipped.
 */
function mayListTrustFiles(paths: readonly string[] | undefined): boolean {
  if (paths === undefined) return true;
  return paths.some((p) => {
    const first = p.split('/')[0]!;
    return first === 'trust' || /[*?[\]{}!+@()\\]/.test(first);
  });
}

/**
 * Every trust file of the repository, sorted by scope: the `trust/` targets of each role that
 * can list one, loaded through the delegations from `targets` (`load`, which verifies each role
 * against its delegating role and the snapshot), each kept only when `trusted(path)` (the
 * delegation walk, TUF 5.6.7) finds it.
 */
export async function everyTrustFile(
  load: (role: string, parent: string) => Promise<ListedRole | undefined>,
  trusted: (path: string) => Promise<boolean>,
): Promise<TrustFile[]> {
  const candidates = new Set<string>();
  const visited = new Set<string>();
  const visit = async (role: string, parent: string, depth: number): Promise<void> => {
    if (visited.has(role)) return;
    if (depth > MAX_DEPTH || visited.size >= MAX_LISTED_ROLES) throw new KeyshareError(FetchCodes.METADATA_INVALID, 'the delegations are nested too deeply or are too many');
    visited.add(role);
    const listed = await load(role, parent);
    if (!listed) return;
    for (const path of listed.paths) if (path.startsWith(TRUST_PREFIX)) candidates.add(path);
    for (const child of listed.delegates) if (mayListTrustFiles(child.paths)) await visit(child.name, role, depth + 1);
  };
  await visit('targets', 'root', 0);
  const files: TrustFile[] = [];
  for (const path of candidates) {
    if (!(await trusted(path))) continue;
    const scope = scopeOfTrustPath(path);
    if (scope === null || !isValidScope(scope) || trustTargetPath(scope) !== path) {
      throw new KeyshareError(FetchCodes.METADATA_INVALID, `the signed target ${path} is under trust/ but is not the trust file of a scope (CONTRACT.md "Target files": trust/{scope}.json, the scope * as trust/_default.json)`);
    }
    files.push({ scope, path });
  }
  return files.sort((a, b) => (a.scope < b.scope ? -1 : a.scope > b.scope ? 1 : 0));
}

/**
 * Documents downloaded side by side when every scope is fetched: one request at a time leaves
 * the client waiting on the server for each (bench B5, every scope: 15 of 40 s idle at 10,000).
 */
export const PARALLEL_READS = 8;

/** `fn` of each item, at most `limit` at a time, the results in the items' order; after a failure none starts, and it is thrown once the started ones end. */
export async function inParallel<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i]!);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  const ended = await Promise.allSettled(Array.from({ length: Math.min(limit, items.length) }, worker));
  const failure = ended.find((r) => r.status === 'rejected');
  if (failure) throw failure.reason;
  return results;
}
