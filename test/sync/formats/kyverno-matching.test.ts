/**
 * Issue 19, review: the Kyverno ClusterPolicy fails closed. For crafted image references, the
 * rules that verify an image are computed the way Kyverno decides them, and the scope that
 * the contract gives the image (the same resolution `fetch --repository` runs) must always be
 * among them: no image is left to a scope that is not its own.
 *
 * Kyverno's behaviour, ported from source:
 * - kyverno/kyverno 111e07bb (1.16 development), pkg/engine/internal/imageverifier.go
 *   `verifyImage`: a verifyImages entry applies when `matchReferences(imageReferences, image)`
 *   and not `matchReferences(skipImageReferences, image)`, with `image = imageInfo.String()`;
 *   pkg/engine/internal/utils.go `matchReferences` is `wildcard.Match` (ext/wildcard), i.e.
 *   github.com/IGLOU-EU/go-wildcard v1.0.3 (go.mod).
 * - pkg/utils/image/infos.go `GetImageInfo`, `addDefaultRegistry`, `String` with the default
 *   configuration (pkg/config/config.go: defaultRegistry docker.io,
 *   enableDefaultRegistryMutation true).
 * - go-wildcard v1.0.3 (commit 5269b048), wildcard.go `Match`/`deepMatchRune`.
 */
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { TrustDocument } from '../../../service/domain/types.js';
import { scopeContains } from '../../../shared/scope.js';
import { selectScopes } from '../../../sync/client/select.js';
import { writeFormat } from '../../../sync/formats/index.js';
import { imagePatterns, objectName } from '../../../sync/formats/kubernetes.js';
import { certAnchor, doc, keyAnchor } from './helpers.js';

/** go-wildcard v1.0.3 `Match`: `*` any run of runes, `?` exactly one rune, `/` included; the whole name. */
function wildcardMatch(pattern: string, name: string): boolean {
  if (pattern === '') return name === '';
  if (pattern === '*') return true;
  return deepMatchRune([...name], [...pattern]);
}

function deepMatchRune(str: string[], pattern: string[]): boolean {
  while (pattern.length > 0) {
    const p = pattern[0]!;
    if (p === '*') return deepMatchRune(str, pattern.slice(1)) || (str.length > 0 && deepMatchRune(str.slice(1), pattern));
    if (str.length === 0 || (p !== '?' && str[0] !== p)) return false;
    str = str.slice(1);
    pattern = pattern.slice(1);
  }
  return str.length === 0;
}

/** Kyverno's `addDefaultRegistry`: a first component without `.` or `:`, not `localhost`, is a Docker Hub path. */
function withRegistry(image: string): string {
  const i = image.indexOf('/');
  return i === -1 || (!/[.:]/.test(image.slice(0, i)) && image.slice(0, i) !== 'localhost') ? `docker.io/${image}` : image;
}

/** Splits `registry/path[:tag][@digest]`. */
function parts(image: string): { registry: string; path: string; tag: string; digest: string } {
  const full = withRegistry(image);
  const slash = full.indexOf('/');
  let rest = full.slice(slash + 1);
  const [named, digest = ''] = rest.split('@') as [string, string?];
  rest = named;
  const colon = rest.lastIndexOf(':');
  return { registry: full.slice(0, slash), path: colon === -1 ? rest : rest.slice(0, colon), tag: colon === -1 ? '' : rest.slice(colon + 1), digest };
}

/** Kyverno's `ImageInfo.String()`: registry/path, then `@digest` if any, else `:tag` (`latest` by default). */
function kyvernoImage(image: string): string {
  const { registry, path, tag, digest } = parts(image);
  return digest !== '' ? `${registry}/${path}@${digest}` : `${registry}/${path}:${tag || 'latest'}`;
}

/** The repository the runtime pulls: Docker Hub's one-component names are under `library/`. */
function repositoryOf(image: string): string {
  const { registry, path } = parts(image);
  return registry === 'docker.io' && !path.includes('/') ? `docker.io/library/${path}` : `${registry}/${path}`;
}

type Rule = { name: string; verifyImages: { imageReferences: string[]; skipImageReferences?: string[] }[] };

/** The rules whose verifyImages entries apply to the image (Kyverno's `verifyImage`). */
function verifyingRules(rules: Rule[], image: string): string[] {
  const matches = (patterns: string[] | undefined) => (patterns ?? []).some((p) => wildcardMatch(p, image));
  return rules.filter((r) => r.verifyImages.some((v) => matches(v.imageReferences) && !matches(v.skipImageReferences))).map((r) => r.name);
}

const DIGEST = `sha256:${'ab'.repeat(32)}`;
const root = certAnchor('root-ca', 'ca', 'acme-root');
const cosign = keyAnchor('ec-p256', 'ci');

function scopes(): TrustDocument[] {
  const noInherit = (d: TrustDocument) => ({ ...d, inherit: false });
  return [
    doc('*', [root, cosign]),
    doc('*.acme.io', [root]),
    doc('*.corp.acme.io', [cosign], 'audit'),
    doc('*.skip.acme.io', [], 'skip'),
    doc('registry.acme.io', [root]),
    noInherit(doc('registry.acme.io/team-a', [cosign])),
    noInherit(doc('registry.acme.io/team-a/tools/build', [root])),
    doc('registry.acme.io/team-b', [], 'skip'),
    doc('reg.corp.acme.io:5000', [root]),
    doc('localhost:5000', [root]),
    noInherit(doc('localhost:5000/team-a', [cosign])),
    doc('docker.io/library', [root]),
    doc('docker.io/library/nginx', [cosign]),
    doc('docker.io/acme', [root]),
  ];
}

const IMAGES = [
  'attacker.io/x.corp.acme.io/app',
  'attacker.io/x.corp.acme.io',
  'attacker.io/x.corp.acme.io:1.0',
  `attacker.io/x.corp.acme.io@${DIGEST}`,
  'attacker.io/a/b.acme.io/c:1',
  'evil.io/registry.acme.io/team-a/x',
  'evil.io/localhost/team-a',
  'reg.corp.acme.io/app',
  'reg.corp.acme.io:5000/app:1',
  `other.corp.acme.io:443/a/b@${DIGEST}`,
  'deep.reg.corp.acme.io/a/b/c',
  'corp.acme.io/app',
  'acme.io/app',
  'x.skip.acme.io/app',
  'registry.acme.io/app',
  'registry.acme.io/team-a',
  'registry.acme.io/team-a:v1',
  `registry.acme.io/team-a@${DIGEST}`,
  `registry.acme.io/team-a:v1@${DIGEST}`,
  'registry.acme.io/team-a/app',
  'registry.acme.io/team-ab/app',
  'registry.acme.io/team-a/tools/build:v2',
  'registry.acme.io/team-a/tools/builder',
  'registry.acme.io/team-b/x',
  'registry.acme.io:5000/team-a/app',
  'localhost:5000/team-a/app',
  'localhost:5000/team-ab',
  'localhost:5000/app',
  'localhost/app',
  '127.0.0.1:5000/x',
  'nginx',
  'library/nginx:1.25',
  `docker.io/library/nginx@${DIGEST}`,
  'docker.io/nginx',
  'busybox',
  'acme',
  'acme/app',
  'docker.io/acme/app',
  'someuser/app',
];

async function policyRules(documents: TrustDocument[]): Promise<Rule[]> {
  const out = await writeFormat('kubernetes', { documents, repositories: [], outDir: '/k8s' });
  const file = out.files.find((f) => f.path === 'kyverno-clusterpolicy.yaml')!;
  return parseAllDocuments(file.content as string)[0]!.toJS().spec.rules;
}

/** For each image: its contract scope, the scopes whose rules verify it, and what breaks the fail-closed rule. */
async function audit(documents: TrustDocument[], rules: Rule[]) {
  const defined = new Map(documents.map((d) => [d.scope, d]));
  const scopeOfRule = new Map(documents.map((d) => [objectName(d.scope), d.scope]));
  const rows = [];
  for (const image of IMAGES) {
    const repository = repositoryOf(image);
    const { repositories } = await selectScopes(async (s) => defined.has(s), [], [repository]);
    const scope = repositories[0]!.scope;
    const verifying = verifyingRules(rules, kyvernoImage(image)).map((name) => scopeOfRule.get(name)!).sort();
    const problems: string[] = [];
    if (defined.get(scope)!.level !== 'skip' && !verifying.includes(scope)) problems.push(`its scope ${scope} does not verify it`);
    // Any other rule is one around its scope, or one whose patterns cannot hold its scope exactly.
    for (const s of verifying) {
      const p = imagePatterns(s);
      if (s !== scope && !scopeContains(s, scope) && p.images.length === p.exact.length) problems.push(`unrelated scope ${s} verifies it`);
    }
    rows.push({ image, kyverno: kyvernoImage(image), repository, scope, verifying, problems });
  }
  return rows;
}

describe('Kyverno ClusterPolicy: fails closed against go-wildcard matching', () => {
  it('ports Kyverno and go-wildcard faithfully on their own examples', () => {
    // wildcard.go: `*` and `?` cross `/`; `?` needs one rune.
    expect(wildcardMatch('*.corp.acme.io/*', 'attacker.io/x.corp.acme.io/app:latest')).toBe(true);
    expect(wildcardMatch('a?c', 'a/c')).toBe(true);
    expect(wildcardMatch('ab?', 'ab')).toBe(false);
    expect(wildcardMatch('', '')).toBe(true);
    expect(wildcardMatch('registry.acme.io/*', 'evil.io/registry.acme.io/x:latest')).toBe(false);
    // infos.go: default registry, default tag, digest wins over tag.
    expect(kyvernoImage('nginx')).toBe('docker.io/nginx:latest');
    expect(kyvernoImage('localhost:5000/a')).toBe('localhost:5000/a:latest');
    expect(kyvernoImage(`r.io/a:v1@${DIGEST}`)).toBe(`r.io/a@${DIGEST}`);
    expect(repositoryOf('nginx:1')).toBe('docker.io/library/nginx');
  });

  it("always verifies an image by its contract scope's rule, and by others only where patterns cannot be exact", async () => {
    const documents = scopes();
    const rows = await audit(documents, await policyRules(documents));
    expect(rows.filter((r) => r.problems.length > 0)).toEqual([]);
    const verifying = Object.fromEntries(rows.map((r) => [r.image, r.verifying]));
    // The review's case: the scope is `*`, and corp's (and acme's) patterns over-match, so all verify.
    expect(verifying['attacker.io/x.corp.acme.io/app']).toEqual(['*', '*.acme.io', '*.corp.acme.io']);
    // Exact patterns keep "most specific wins" exact.
    expect(verifying['registry.acme.io/team-a/app']).toEqual(['registry.acme.io/team-a']);
    expect(verifying['registry.acme.io/team-ab/app']).toEqual(['registry.acme.io']);
    expect(verifying['registry.acme.io/team-a/tools/build:v2']).toEqual(['registry.acme.io/team-a/tools/build']);
    expect(verifying['registry.acme.io/team-b/x']).toEqual([]);
    expect(verifying['reg.corp.acme.io:5000/app:1']).toEqual(['reg.corp.acme.io:5000']);
    expect(verifying['localhost:5000/team-a/app']).toEqual(['localhost:5000/team-a']);
    // Another registry (the port), whose host is under *.acme.io.
    expect(rows.find((r) => r.image === 'registry.acme.io:5000/team-a/app')!.scope).toBe('*.acme.io');
    expect(verifying['registry.acme.io:5000/team-a/app']).toEqual(['*', '*.acme.io']);
    // A host with a port is under *.domain too (CONTRACT.md: the host, without port).
    expect(verifying[`other.corp.acme.io:443/a/b@${DIGEST}`]).toEqual(['*', '*.acme.io', '*.corp.acme.io']);
    // Docker Hub: Kyverno writes `nginx` as docker.io/nginx, the runtime pulls docker.io/library/nginx.
    expect(verifying['nginx']).toEqual(['docker.io/library/nginx']);
    expect(verifying['busybox']).toEqual(['*', 'docker.io/library']);
    // A wildcard scope at level skip cannot be skipped exactly: the rules around it verify.
    expect(verifying['x.skip.acme.io/app']).toEqual(['*', '*.acme.io']);
  });

  it('the check finds the fail-open layout that skipped on over-matching patterns', async () => {
    const documents = scopes();
    const rules = await policyRules(documents);
    // The previous layout: a rule skipped every pattern of the scopes inside it.
    for (const rule of rules) {
      const scope = documents.find((d) => objectName(d.scope) === rule.name)!.scope;
      const inner = documents.filter((d) => d.scope !== scope && scopeContains(scope, d.scope)).flatMap((d) => imagePatterns(d.scope).images);
      for (const v of rule.verifyImages) v.skipImageReferences = inner.length > 0 ? inner : undefined;
    }
    const broken = (await audit(documents, rules)).filter((r) => r.problems.length > 0).map((r) => r.image);
    expect(broken).toContain('attacker.io/x.corp.acme.io/app');
    expect(broken).toContain('someuser/app');
  });
});
