/**
 * What to fetch, and checks on what was fetched: the scopes asked for (or the scope of each
 * repository asked for), and each trust document against what was asked. Pure: bytes and
 * names in, values out; whether a scope is defined is asked through a function.
 */
import { DEFAULT_SCOPE, parseScope, repositoryCandidates, trustTargetPath } from '../../shared/scope.js';
import { LEVELS, TRUST_MEDIA_TYPE, type TrustDocument } from '../../shared/types.js';
import { KeyshareError } from '../../shared/errors.js';
import { FetchCodes } from './errors.js';
import type { TrustFile } from './every-scope.js';

/** How a fetch reads the verified trust: a target's bytes (TUF 5.7), whether a scope's trust file is a signed target, and every scope's (every-scope.ts). */
export interface TargetReader {
  read(path: string): Promise<Buffer>;
  defined(scope: string): Promise<boolean>;
  trustFiles(): Promise<TrustFile[]>;
}

export interface Selection {
  /** Scopes to fetch, sorted, each once. */
  scopes: string[];
  /** Each requested repository with the scope it resolves to. */
  repositories: { repository: string; scope: string }[];
}

function invalid(message: string): KeyshareError {
  return new KeyshareError(FetchCodes.METADATA_INVALID, message);
}

function parseJson(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw invalid(`${what} is not JSON`);
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The scopes named, plus the scope of each repository: the most specific defined scope that
 * contains it (CONTRACT.md "Scopes"), plus the default scope `*` whenever it is defined, since
 * it governs every other repository (CONTRACT.md: notation gets a `*` policy "when the default
 * scope exists", containers its `default`).
 *
 * Issue 17: no index is read. `defined(scope)` asks whether the scope's trust file is a signed
 * target; a repository's candidates (repositoryCandidates) are asked most specific first, and
 * the first defined one is its scope, so only the bins of the candidates asked are fetched.
 */
export async function selectScopes(defined: (scope: string) => Promise<boolean>, scopes: string[] = [], repositories: string[] = []): Promise<Selection> {
  const chosen = new Set<string>((await defined(DEFAULT_SCOPE)) ? [DEFAULT_SCOPE] : []);
  for (const scope of scopes) {
    parseScope(scope);
    if (!(await defined(scope))) throw new KeyshareError(FetchCodes.UNKNOWN_SCOPE, `scope ${scope} is not defined on the server (its trust file ${trustTargetPath(scope)} is not a signed target)`);
    chosen.add(scope);
  }
  const resolved: Selection['repositories'] = [];
  for (const repository of repositories) {
    let scope: string | null = null;
    for (const candidate of repositoryCandidates(repository)) {
      if (await defined(candidate)) {
        scope = candidate;
        break;
      }
    }
    if (scope === null) {
      throw new KeyshareError(FetchCodes.UNKNOWN_SCOPE, `no scope on the server contains repository ${repository}, and there is no default scope *`);
    }
    if (!resolved.some((r) => r.repository === repository)) resolved.push({ repository, scope });
    chosen.add(scope);
  }
  return { scopes: [...chosen].sort(), repositories: resolved };
}

/** A trust document must be the one asked for: same scope, and the version its index entry names when one was read. */
export function parseTrustDocument(bytes: Uint8Array, entry: { scope: string; path: string; version?: number }): TrustDocument {
  const doc = parseJson(bytes, entry.path);
  if (!isRecord(doc) || doc.mediaType !== TRUST_MEDIA_TYPE) throw invalid(`${entry.path} is not a ${TRUST_MEDIA_TYPE} document`);
  if (doc.scope !== entry.scope) throw invalid(`${entry.path} holds scope ${String(doc.scope)}, not ${entry.scope}`);
  if (entry.version !== undefined && doc.version !== entry.version) throw invalid(`${entry.path} has version ${String(doc.version)}, but the index says ${entry.version}`);
  if (!Number.isInteger(doc.version) || (doc.version as number) < 1) throw invalid(`${entry.path} has no valid version`);
  const revoked = doc.revoked;
  const wellFormed =
    LEVELS.includes(doc.level as never) &&
    Array.isArray(doc.anchors) &&
    doc.anchors.every((a) => isRecord(a) && typeof a.id === 'string' && typeof a.type === 'string') &&
    isRecord(revoked) &&
    ['certificates', 'keys', 'signatures'].every((k) => Array.isArray(revoked[k])) &&
    Array.isArray(doc.crls);
  if (!wellFormed) throw invalid(`${entry.path} is not a well-formed trust document`);
  return doc as unknown as TrustDocument;
}
