/**
 * `fetch --format kubernetes` (issue 19): manifests for `kubectl apply -f` or GitOps, one
 * YAML file per kind.
 *
 * - `trust-manager-bundles.yaml`: a trust-manager `Bundle` (trust.cert-manager.io/v1alpha1)
 *   per scope, its certificate anchors as one inline PEM source.
 * - `cluster-trust-bundles.yaml`: a `ClusterTrustBundle` (certificates.k8s.io/v1beta1) per
 *   scope, signer `keyshare.dev/{name}`, its ca and tsa anchors (the API server accepts only
 *   CA certificates there).
 * - `kyverno-clusterpolicy.yaml`: one Kyverno `ClusterPolicy` with a verifyImages rule per
 *   scope. The most specific scope wins (CONTRACT.md "Scopes"): a rule skips the images of
 *   every more specific fetched scope inside it, whose own rule (or level skip) decides them,
 *   but only where a pattern holds them exactly; elsewhere both rules verify (imagePatterns).
 * - `ratify.yaml`: Ratify `KeyManagementProvider`s (inline certificates per anchor type, and
 *   inline keys) and a notation `Verifier` carrying the trust policy `--format notation` writes.
 * What these verifiers cannot carry is decided in enforce.ts.
 */
import { stringify } from 'yaml';
import { sha256Hex } from '../../service/crypto/encoding.js';
import type { TrustDocument } from '../../shared/types.js';
import { KeyshareError } from '../../shared/errors.js';
import { parseScope, scopeContains } from '../../shared/scope.js';
import { unenforcedFor } from './enforce.js';
import { anchorPem, anchorsOfType, assignStores, compare, sortedDocuments } from './names.js';
import { writeNotation } from './notation.js';
import { FormatCodes, type FormatInput, type FormatOutput, type OutputFile } from './types.js';

type Manifest = Record<string, unknown>;

const LABELS = { 'app.kubernetes.io/managed-by': 'keyshare' };
const CERTIFICATE_TYPES = ['ca', 'signingAuthority', 'tsa'] as const;

/** A DNS-1123 name for a scope: readable, and unique through a hash of the scope. */
export function objectName(scope: string): string {
  const slug = scope === '*' ? 'default' : scope.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40).replace(/-+$/, '');
  return `keyshare-${slug}-${sha256Hex(new TextEncoder().encode(scope)).slice(0, 8)}`;
}

/**
 * Kyverno's image patterns for a scope. Kyverno matches `imageReferences` and
 * `skipImageReferences` with go-wildcard (IGLOU-EU/go-wildcard v1.0.3 `Match`), where `*` and `?`
 * match any characters, `/` included, against the image as it normalises it: registry added
 * (`docker.io` for a first component without `.` or `:` that is not `localhost`), then
 * `@digest` if it has one, else `:tag` (`:latest` by default). So a pattern can only be anchored
 * by a literal registry at its start. `images` match every image of the scope (CONTRACT.md
 * "Scopes") and may match others too; `exact` are those of them that match no image outside
 * it, the only patterns another rule may skip on (fail closed: a wrong skip would leave an
 * image to a scope that is not its own).
 */
export function imagePatterns(scope: string): { images: string[]; exact: string[] } {
  const p = parseScope(scope);
  switch (p.kind) {
    case 'default':
      return { images: ['*'], exact: ['*'] };
    case 'wildcard': {
      // `*` before the domain also matches `attacker.io/x.corp.acme.io/app`: never exact.
      return { images: [`*.${p.domain}/*`, `*.${p.domain}:*`], exact: [] };
    }
    case 'registry': {
      // A host without `.` or `:` other than localhost is a Docker Hub namespace to Kyverno
      // (and to the runtime), so its pattern would match a Docker Hub image if defaulting is off.
      const patterns = [`${scope}/*`];
      return { images: patterns, exact: /[.:]/.test(scope) || scope === 'localhost' ? patterns : [] };
    }
    case 'path':
      return dockerHubPatterns(scope, p.registry, p.path) ?? { images: [`${scope}/*`, `${scope}:*`, `${scope}@*`], exact: [`${scope}/*`, `${scope}:*`, `${scope}@*`] };
  }
}

/**
 * Docker Hub as Kyverno writes it: `nginx` is `docker.io/nginx:latest`, without the `library/`
 * that the runtime pulls (docker.io/library/nginx). So `docker.io/X:*` is library/X, never
 * the repository docker.io/X, and the `library` namespace's short names are `docker.io/*:*`,
 * which matches deeper paths as well.
 */
function dockerHubPatterns(scope: string, registry: string, path: string[]): { images: string[]; exact: string[] } | null {
  if (registry !== 'docker.io') return null;
  if (path.length === 1) {
    const images = path[0] === 'library' ? [`${scope}/*`, 'docker.io/*:*', 'docker.io/*@*'] : [`${scope}/*`];
    return { images, exact: [`${scope}/*`] };
  }
  if (path.length === 2 && path[0] === 'library') {
    const patterns = [`${scope}/*`, `${scope}:*`, `${scope}@*`, `docker.io/${path[1]}:*`, `docker.io/${path[1]}@*`];
    return { images: patterns, exact: patterns };
  }
  return null;
}

const pems = (doc: TrustDocument, types: readonly string[], field: 'certificate' | 'publicKey' = 'certificate') =>
  anchorsOfType(doc, types).map((a) => anchorPem(doc.scope, a, field)).join('');

function metadata(doc: TrustDocument, name: string): Manifest {
  return { name, labels: LABELS, annotations: { 'keyshare.dev/scope': doc.scope, 'keyshare.dev/version': String(doc.version) } };
}

export async function writeKubernetes(input: FormatInput): Promise<FormatOutput> {
  const stores = assignStores(input.documents);
  const docs = sortedDocuments(input.documents);
  const warnings: string[] = [];
  const bundles: Manifest[] = [];
  const clusterBundles: Manifest[] = [];
  const ratify: Manifest[] = [];
  const certStores: Record<string, Record<string, string[]>> = {};

  for (const doc of docs) {
    const name = objectName(doc.scope);
    const all = pems(doc, CERTIFICATE_TYPES);
    if (all !== '') {
      bundles.push({
        apiVersion: 'trust.cert-manager.io/v1alpha1',
        kind: 'Bundle',
        metadata: metadata(doc, name),
        spec: { sources: [{ inLine: all }], target: { configMap: { key: 'trust-bundle.pem' } } },
      });
    }
    const cas = pems(doc, ['ca', 'tsa']);
    if (cas !== '') {
      clusterBundles.push({
        apiVersion: 'certificates.k8s.io/v1beta1',
        kind: 'ClusterTrustBundle',
        // The API server: a bundle with a signer is named with the signer as prefix, `/` as `:`.
        metadata: metadata(doc, `keyshare.dev:${name}:anchors`),
        spec: { signerName: `keyshare.dev/${name}`, trustBundle: cas },
      });
    }
    for (const type of CERTIFICATE_TYPES) {
      const value = pems(doc, [type]);
      if (value === '') continue;
      const kmp = `${name}-${type.toLowerCase()}`;
      ratify.push(kmpManifest(doc, kmp, 'certificate', value));
      (certStores[type] ??= {})[stores.get(doc.scope)!] = [kmp];
    }
    const keys = pems(doc, ['publicKey'], 'publicKey');
    if (keys !== '') ratify.push(kmpManifest(doc, `${name}-keys`, 'key', keys));
  }

  // Ratify's notation verifier: the trust policy --format notation writes, over the stores above.
  const notation = await writeNotation(input);
  const policy = notation.files.find((f) => f.path === 'trustpolicy.json');
  warnings.push(...notation.warnings.map((w) => w.replace(/^notation:/, 'kubernetes (Ratify):')));
  if (policy) {
    ratify.push({
      apiVersion: 'config.ratify.deislabs.io/v1beta1',
      kind: 'Verifier',
      metadata: { name: 'keyshare-notation', labels: LABELS },
      spec: {
        name: 'notation',
        artifactTypes: 'application/vnd.cncf.notary.signature',
        parameters: { verificationCertStores: certStores, trustPolicyDoc: JSON.parse(policy.content as string) },
      },
    });
  }

  const rules = docs.flatMap((doc) => kyvernoRule(doc, docs, warnings));
  const files: OutputFile[] = [
    { path: 'trust-manager-bundles.yaml', content: yamlDocuments(bundles) },
    { path: 'cluster-trust-bundles.yaml', content: yamlDocuments(clusterBundles) },
    { path: 'ratify.yaml', content: yamlDocuments(ratify) },
    {
      path: 'kyverno-clusterpolicy.yaml',
      content: yamlDocuments([
        {
          apiVersion: 'kyverno.io/v1',
          kind: 'ClusterPolicy',
          metadata: { name: 'keyshare-verify-images', labels: LABELS },
          spec: { background: false, webhookTimeoutSeconds: 30, rules },
        },
      ]),
    },
  ];
  return { files: files.sort((a, b) => compare(a.path, b.path)), warnings, unenforced: await unenforcedFor('kubernetes', input) };
}

function kmpManifest(doc: TrustDocument, name: string, contentType: 'certificate' | 'key', value: string): Manifest {
  return {
    apiVersion: 'config.ratify.deislabs.io/v1beta1',
    kind: 'KeyManagementProvider',
    metadata: metadata(doc, name),
    spec: { type: 'inline', parameters: { contentType, value } },
  };
}

/** The scope's verifyImages rule; none at level skip, which verifies nothing. */
function kyvernoRule(doc: TrustDocument, docs: TrustDocument[], warnings: string[]): Manifest[] {
  const { images, exact } = imagePatterns(doc.scope);
  if (images.length > exact.length) {
    const own = doc.level === 'skip' ? 'its level skip is not honoured' : 'its rule also verifies some images of other scopes';
    warnings.push(`kubernetes: Kyverno's wildcards cross "/", so no pattern holds exactly the images of scope ${doc.scope}: ${own}, and the rules of the scopes around it verify its images too (fail closed: all must pass)`);
  }
  if (doc.level === 'skip') return [];
  const certificates = pems(doc, ['ca', 'signingAuthority']);
  const keys = anchorsOfType(doc, ['publicKey']).map((a) => anchorPem(doc.scope, a, 'publicKey'));
  if (certificates === '' && keys.length === 0) {
    // Leaving the rule out would let a less specific scope's rule, or none, decide: not fail closed.
    throw new KeyshareError(FormatCodes.FORMAT_UNSUPPORTED, `kubernetes: scope ${doc.scope} (level ${doc.level}) has no certificate or public-key anchor, which a Kyverno verifyImages rule needs`);
  }
  if (certificates !== '' && keys.length > 0) {
    warnings.push(`kubernetes: scope ${doc.scope} has certificate and public-key anchors; Kyverno requires both a notation and a cosign signature, where keyshare accepts either`);
  }
  // Skip only on exact patterns: a skip that over-matches would leave an image to a scope that is not its own.
  const skip = docs.filter((d) => d.scope !== doc.scope && scopeContains(doc.scope, d.scope)).flatMap((d) => imagePatterns(d.scope).exact);
  const common = {
    imageReferences: images,
    ...(skip.length > 0 ? { skipImageReferences: skip } : {}),
    failureAction: doc.level === 'audit' ? 'Audit' : 'Enforce',
    required: true,
    verifyDigest: true,
  };
  const verifyImages: Manifest[] = [];
  if (certificates !== '') verifyImages.push({ type: 'Notary', ...common, attestors: [{ count: 1, entries: [{ certificates: { cert: certificates } }] }] });
  if (keys.length > 0) {
    verifyImages.push({
      type: 'Cosign',
      ...common,
      // keyshare runs no transparency log: the keys alone decide.
      attestors: [{ count: 1, entries: keys.map((publicKeys) => ({ keys: { publicKeys, rekor: { ignoreTlog: true }, ctlog: { ignoreSCT: true } } })) }],
    });
  }
  return [{ name: objectName(doc.scope), match: { any: [{ resources: { kinds: ['Pod'] } }] }, verifyImages }];
}

function yamlDocuments(manifests: Manifest[]): string {
  // No anchors and aliases for shared values: plain YAML for every reader.
  return manifests.map((m) => stringify(m, { lineWidth: 0, aliasDuplicateObjects: false })).join('---\n');
}
