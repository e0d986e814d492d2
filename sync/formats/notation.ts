/**
 * `fetch --format notation`: a notation trust store and trust policy
 * (notaryproject specifications, trust-store-trust-policy.md; rules as validated by notation-go).
 *
 * Decisions where keyshare trust cannot be expressed one to one:
 * - Only X.509 anchors are usable; publicKey and pgp anchors are left out with a warning.
 * - A policy that verifies (strict, permissive, audit) must name trust stores and identities.
 *   A repository whose scope has no ca/signingAuthority anchor therefore cannot get a valid
 *   policy, and leaving it out would let the `*` policy apply instead: FORMAT_UNSUPPORTED.
 *   The `*` policy in the same case is left out with a warning: with no applicable policy,
 *   notation fails verification (fail closed), which is what "no trusted signer" means.
 * - The spec forbids `skip` on the global scope, so a `*` scope at level skip gets no policy
 *   (warning); repositories without their own policy then fail verification.
 * - Identities are per anchor in keyshare but per policy in notation: a policy trusts the
 *   union of its ca/signingAuthority anchors' identities, or `*` if any of them trusts any.
 */
import { KeyshareError } from '../../shared/errors.js';
import type { CertificateAnchorType, TrustAnchor, TrustDocument } from '../../shared/types.js';
import { unenforcedFor } from './enforce.js';
import { isSubsetDn, parseSubjectIdentity, type ParsedDn } from './dn.js';
import {
  anchorFileBase,
  anchorPem,
  anchorsOfType,
  assignStores,
  compare,
  jsonText,
  sortedDocuments,
  sortFiles,
  uniqueName,
} from './names.js';
import { FormatCodes, type FormatInput, type FormatOutput, type OutputFile } from './types.js';

/** Notation trust store types (spec "Trust Store"): x509/ca, x509/signingAuthority, x509/tsa. */
const STORE_TYPES: readonly CertificateAnchorType[] = ['ca', 'signingAuthority', 'tsa'];
/** Stores that can verify the signing certificate; tsa stores only verify timestamps. */
const SIGNING_TYPES: readonly CertificateAnchorType[] = ['ca', 'signingAuthority'];

export interface NotationPolicy {
  name: string;
  registryScopes: string[];
  signatureVerification: { level: string };
  trustStores?: string[];
  trustedIdentities?: string[];
}

export interface NotationTrustPolicyDocument {
  version: '1.0';
  trustPolicies: NotationPolicy[];
}

export async function writeNotation(input: FormatInput): Promise<FormatOutput> {
  const stores = assignStores(input.documents);
  const docs = sortedDocuments(input.documents);
  const files: OutputFile[] = [];
  const warnings: string[] = [];

  // Anchors notation cannot use (it verifies X.509 chains only) are left out: see `unenforced`.
  for (const doc of docs) files.push(...trustStoreFiles(doc, stores.get(doc.scope)!));

  const policies = trustPolicies(input, docs, stores, warnings);
  const used = new Set(policies.flatMap((p) => p.trustStores ?? []).map((s) => s.slice(s.indexOf(':') + 1)));
  for (const doc of docs) {
    const store = stores.get(doc.scope)!;
    if (!used.has(store) && anchorsOfType(doc, STORE_TYPES).length > 0) {
      warnings.push(`notation: scope ${doc.scope}: trust store ${store} written, but no trust policy uses it (pass --repository)`);
    }
  }

  if (policies.length === 0) {
    // Spec: a trust policy document must have at least one statement; notation refuses an empty one.
    warnings.push('notation: no trust policy written: pass --repository, or define the * scope');
  } else {
    const doc: NotationTrustPolicyDocument = { version: '1.0', trustPolicies: policies };
    const text = jsonText(doc);
    // notation >= 1.2 reads trustpolicy.oci.json, older versions trustpolicy.json: write both, identical.
    files.push({ path: 'trustpolicy.json', content: text }, { path: 'trustpolicy.oci.json', content: text });
  }
  return { files: sortFiles(files), warnings, unenforced: await unenforcedFor('notation', input) };
}

/** truststore/x509/{type}/{store}/{file}.pem, one certificate per regular file. */
function trustStoreFiles(doc: TrustDocument, store: string): OutputFile[] {
  const files: OutputFile[] = [];
  for (const type of STORE_TYPES) {
    const used = new Set<string>();
    for (const anchor of anchorsOfType(doc, [type])) {
      const file = uniqueName(anchorFileBase(anchor), used, '.pem');
      files.push({ path: `truststore/x509/${type}/${store}/${file}`, content: anchorPem(doc.scope, anchor, 'certificate') });
    }
  }
  return files;
}

function trustPolicies(
  input: FormatInput,
  docs: TrustDocument[],
  stores: Map<string, string>,
  warnings: string[],
): NotationPolicy[] {
  const byScope = new Map(docs.map((d) => [d.scope, d]));
  const names = new Set<string>();
  const policies: NotationPolicy[] = [];

  for (const { repository, scope } of repositories(input)) {
    const doc = byScope.get(scope);
    if (doc === undefined) {
      throw new KeyshareError(FormatCodes.FORMAT_INPUT_INVALID, `repository ${repository} resolves to scope ${scope}, which was not fetched`);
    }
    const name = uniqueName(`keyshare-${repository.replace(/[^a-zA-Z0-9_.-]/g, '_')}`, names);
    const policy = policyFor(name, repository, doc, stores.get(scope)!);
    if (typeof policy === 'string') {
      throw new KeyshareError(FormatCodes.FORMAT_UNSUPPORTED, `notation: repository ${repository} (scope ${scope}): ${policy}`);
    }
    policies.push(policy);
  }

  const fallback = byScope.get('*');
  if (fallback !== undefined) {
    if (fallback.level === 'skip') {
      // Spec "Signature Verification details": skip cannot be used with the global scope (*).
      warnings.push('notation: scope * has level skip, which notation does not allow for the global scope; no * policy written, so repositories without a policy fail verification');
    } else {
      const policy = policyFor(uniqueName('keyshare-default', names), '*', fallback, stores.get('*')!);
      if (typeof policy === 'string') {
        warnings.push(`notation: no * policy written (${policy}); repositories without a policy fail verification`);
      } else {
        policies.push(policy);
      }
    }
  }
  return policies;
}

/**
 * The --repository entries, sorted and deduplicated. Spec "Registry Scopes Constraints": a
 * scope is a fully qualified repository without `*`, and one scope belongs to one policy.
 */
function repositories(input: FormatInput): { repository: string; scope: string }[] {
  const seen = new Map<string, string>();
  for (const { repository, scope } of input.repositories) {
    const prior = seen.get(repository);
    if (prior !== undefined && prior !== scope) {
      throw new KeyshareError(FormatCodes.FORMAT_INPUT_INVALID, `repository ${repository} resolves to both ${prior} and ${scope}`);
    }
    if (!isRegistryScope(repository)) {
      throw new KeyshareError(
        FormatCodes.FORMAT_UNSUPPORTED,
        `notation: repository ${repository} is not a fully qualified repository (host[:port]/path, no wildcard)`,
      );
    }
    seen.set(repository, scope);
  }
  return [...seen].map(([repository, scope]) => ({ repository, scope })).sort((a, b) => compare(a.repository, b.repository));
}

/** notation-go's registry scope format: a distribution domain, `/`, a repository path. */
const DOMAIN = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(?::[0-9]+)?$/;
const PATH = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

export function isRegistryScope(repository: string): boolean {
  const slash = repository.indexOf('/');
  return slash > 0 && DOMAIN.test(repository.slice(0, slash)) && PATH.test(repository.slice(slash + 1));
}

/** One policy statement, or why none can be written. */
function policyFor(name: string, registryScope: string, doc: TrustDocument, store: string): NotationPolicy | string {
  const policy: NotationPolicy = { name, registryScopes: [registryScope], signatureVerification: { level: doc.level } };
  // Spec / notation-go: a skip statement must not have trust stores or trusted identities.
  if (doc.level === 'skip') return policy;
  // Any other level needs both trust stores and trusted identities.
  const signing = anchorsOfType(doc, SIGNING_TYPES);
  if (signing.length === 0) {
    return `level ${doc.level} needs a ca or signingAuthority certificate anchor, and scope ${doc.scope} has none`;
  }
  // trustStores: `{type}:{named-store}`, type one of ca, signingAuthority, tsa.
  policy.trustStores = STORE_TYPES.filter((t) => anchorsOfType(doc, [t]).length > 0).map((t) => `${t}:${store}`);
  policy.trustedIdentities = trustedIdentities(doc, signing);
  return policy;
}

/**
 * The union of the signing anchors' identities. Spec: `*` stands alone; each other item is
 * `x509.subject: <DN>` with C, ST and O; items must not overlap, so an identity implied by a
 * broader one (a subset of its attributes) is dropped, which keeps the union unchanged.
 */
function trustedIdentities(doc: TrustDocument, signing: TrustAnchor[]): string[] {
  const raw = new Set<string>();
  for (const anchor of signing) {
    const ids = anchor.trustedIdentities ?? [];
    if (ids.length === 0 || ids.includes('*')) return ['*'];
    for (const id of ids) raw.add(id);
  }
  const parsed: { raw: string; dn: ParsedDn }[] = [];
  for (const identity of [...raw].sort(compare)) {
    const dn = parseSubjectIdentity(identity);
    if (typeof dn === 'string') {
      throw new KeyshareError(FormatCodes.FORMAT_UNSUPPORTED, `notation: scope ${doc.scope}: trusted identity "${identity}" is not valid in notation: ${dn}`);
    }
    parsed.push({ raw: identity, dn });
  }
  return parsed
    .filter((p, i) =>
      !parsed.some((q, j) => j !== i && isSubsetDn(q.dn, p.dn) && (!isSubsetDn(p.dn, q.dn) || j < i)),
    )
    .map((p) => p.raw);
}
