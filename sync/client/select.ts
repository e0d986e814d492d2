/**
 * What to fetch, and checks on what was fetched: index.json, the scopes asked for (or the
 * scope of each repository asked for), and each trust document against its index entry.
 * Pure: bytes and names in, values out.
 */
import { DEFAULT_SCOPE, parseRepository, parseScope, resolveRepositoryScope, trustTargetPath } from '../../service/domain/scope.js';
import { LEVELS, TRUST_MEDIA_TYPE, type TrustDocument, type TrustIndex } from '../../service/domain/types.js';
import { KeyshareError } from '../../service/errors.js';
import { FetchCodes } from './errors.js';

export const INDEX_MEDIA_TYPE = 'application/vnd.keyshare.index.v1+json';

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
const isVersion = (v: unknown) => Number.isInteger(v) && (v as number) >= 1;

/** index.json (CONTRACT.md target files): every scope with its trust file's path and version. */
export function parseIndex(bytes: Uint8Array): TrustIndex {
  const index = parseJson(bytes, 'index.json');
  if (!isRecord(index) || index.mediaType !== INDEX_MEDIA_TYPE || !Array.isArray(index.scopes)) {
    throw invalid(`index.json is not a ${INDEX_MEDIA_TYPE} document`);
  }
  const seen = new Set<string>();
  for (const entry of index.scopes as unknown[]) {
    if (!isRecord(entry) || typeof entry.scope !== 'string' || !isVersion(entry.version)) throw invalid('index.json has a malformed entry');
    try {
      parseScope(entry.scope);
    } catch {
      throw invalid(`index.json lists an invalid scope ${JSON.stringify(entry.scope)}`);
    }
    // The path is derived from the scope: a signed index must not point one scope at another's file.
    if (entry.path !== trustTargetPath(entry.scope)) throw invalid(`index.json gives scope ${entry.scope} the path ${String(entry.path)}`);
    if (seen.has(entry.scope)) throw invalid(`index.json lists scope ${entry.scope} twice`);
    seen.add(entry.scope);
  }
  return index as unknown as TrustIndex;
}

/**
 * The scopes to fetch. With neither scopes nor repositories: every scope in index.json.
 * Otherwise the scopes named, plus the scope of each repository: the most specific defined
 * scope that contains it (CONTRACT.md "Scopes"), plus the default scope `*` whenever it is
 * defined, since it governs every other repository (CONTRACT.md: notation gets a `*` policy
 * "when the default scope exists", containers its `default`).
 */
export function selectScopes(index: TrustIndex, scopes: string[] = [], repositories: string[] = []): Selection {
  const defined = index.scopes.map((s) => s.scope);
  if (scopes.length === 0 && repositories.length === 0) return { scopes: [...defined].sort(), repositories: [] };
  const chosen = new Set<string>(defined.includes(DEFAULT_SCOPE) ? [DEFAULT_SCOPE] : []);
  for (const scope of scopes) {
    parseScope(scope);
    if (!defined.includes(scope)) {
      throw new KeyshareError(FetchCodes.UNKNOWN_SCOPE, `scope ${scope} is not defined on the server (index.json lists ${defined.length} scopes)`);
    }
    chosen.add(scope);
  }
  const resolved: Selection['repositories'] = [];
  for (const repository of repositories) {
    parseRepository(repository);
    const scope = resolveRepositoryScope(repository, defined);
    if (scope === null) {
      throw new KeyshareError(FetchCodes.UNKNOWN_SCOPE, `no scope on the server contains repository ${repository}, and there is no default scope *`);
    }
    if (!resolved.some((r) => r.repository === repository)) resolved.push({ repository, scope });
    chosen.add(scope);
  }
  return { scopes: [...chosen].sort(), repositories: resolved };
}

/** A trust document must be the one its index entry names: same scope, same version. */
export function parseTrustDocument(bytes: Uint8Array, entry: { scope: string; path: string; version: number }): TrustDocument {
  const doc = parseJson(bytes, entry.path);
  if (!isRecord(doc) || doc.mediaType !== TRUST_MEDIA_TYPE) throw invalid(`${entry.path} is not a ${TRUST_MEDIA_TYPE} document`);
  if (doc.scope !== entry.scope) throw invalid(`${entry.path} holds scope ${String(doc.scope)}, not ${entry.scope}`);
  if (doc.version !== entry.version) throw invalid(`${entry.path} has version ${String(doc.version)}, but index.json says ${entry.version}`);
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
