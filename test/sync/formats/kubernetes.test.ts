/**
 * Issue 19, `fetch --format kubernetes`: every manifest validates (ajv) against the OpenAPI
 * schema its upstream publishes (test/fixtures/schemas/README.md); the Kyverno rules let the
 * most specific scope win; Ratify gets the trust policy --format notation writes; a revoked
 * anchor leaves every manifest; and the output on the fixture is the golden file.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { TrustDocument } from '../../../service/domain/types.js';
import { writeFormat, type FormatOutput } from '../../../sync/formats/index.js';
import { certAnchor, doc, keyAnchor, redactFixtures, text } from './helpers.js';

const SCHEMAS = new URL('../../fixtures/schemas/', import.meta.url);
const GOLDEN = fileURLToPath(new URL('../../fixtures/golden/kubernetes.json', import.meta.url));
const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
const schema = (file: string): ValidateFunction => ajv.compile(JSON.parse(readFileSync(new URL(file, SCHEMAS), 'utf8')));
const VALIDATORS: Record<string, ValidateFunction> = {
  Bundle: schema('trust-manager-bundle.json'),
  ClusterTrustBundle: schema('clustertrustbundle.json'),
  ClusterPolicy: schema('kyverno-clusterpolicy.json'),
  KeyManagementProvider: schema('ratify-keymanagementprovider.json'),
  Verifier: schema('ratify-verifier.json'),
};

const root = certAnchor('root-ca', 'ca', 'acme-root');
const intermediate = certAnchor('intermediate-ca', 'ca', 'acme-intermediate');
const tsa = certAnchor('tsa-ca', 'tsa', 'acme-tsa');
const cosign = keyAnchor('ec-p256', 'ci');

function fixtureDocs(): TrustDocument[] {
  const teamA = doc('registry.acme.io/team-a', [cosign]);
  teamA.inherit = false;
  return [doc('*', [root, cosign]), doc('registry.acme.io', [root, intermediate, tsa]), teamA, doc('registry.acme.io/team-b', [root], 'skip'), doc('*.corp.acme.io', [cosign], 'audit')];
}
const write = (documents: TrustDocument[]) =>
  writeFormat('kubernetes', { documents, repositories: [{ repository: 'registry.acme.io/app', scope: 'registry.acme.io' }], outDir: '/etc/keyshare/k8s' });

/** Every manifest, by file. */
function manifests(out: FormatOutput): Map<string, any[]> {
  return new Map(out.files.map((f) => [f.path, parseAllDocuments(f.content as string).map((d) => d.toJS()).filter((m) => m !== null)]));
}

describe('fetch --format kubernetes', () => {
  it('writes one file per kind, every manifest valid against its upstream schema', async () => {
    const files = manifests(await write(fixtureDocs()));
    expect([...files.keys()]).toEqual(['cluster-trust-bundles.yaml', 'kyverno-clusterpolicy.yaml', 'ratify.yaml', 'trust-manager-bundles.yaml']);
    const kinds = new Set<string>();
    for (const [file, list] of files) {
      for (const m of list) {
        kinds.add(m.kind);
        const validate = VALIDATORS[m.kind]!;
        expect(validate(m), `${file} ${m.kind} ${m.metadata?.name}: ${ajv.errorsText(validate.errors)}`).toBe(true);
      }
    }
    expect([...kinds].sort()).toEqual(Object.keys(VALIDATORS).sort());
    // The API server's rule beyond OpenAPI: a bundle with a signer is named with the signer as prefix, `/` as `:`.
    for (const b of files.get('cluster-trust-bundles.yaml')!) expect(b.metadata.name.startsWith(`${b.spec.signerName.replace('/', ':')}:`)).toBe(true);
  });

  it('schemas refuse a manifest that breaks them (the check can fail)', () => {
    expect(VALIDATORS.ClusterPolicy!({ apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', spec: { rules: [{ name: 'x', verifyImages: [{ type: 'Notaryy' }] }] } })).toBe(false);
    expect(VALIDATORS.ClusterTrustBundle!({ spec: {} })).toBe(false);
  });

  it('lets the most specific scope win in Kyverno: a rule skips the images of the scopes inside it that patterns hold exactly', async () => {
    const out = await write(fixtureDocs());
    // Plain YAML: no anchors or aliases for the values two entries share.
    expect(text(out.files, 'kyverno-clusterpolicy.yaml')).not.toMatch(/[&*]a\d/);
    const [policy] = manifests(out).get('kyverno-clusterpolicy.yaml')!;
    const byScope = new Map<string, any>(policy.spec.rules.map((r: any) => [r.verifyImages[0].imageReferences[0], r.verifyImages]));
    // team-b is at level skip: no rule, but the registry's rule leaves its images alone.
    expect([...byScope.keys()].sort()).toEqual(['*', '*.corp.acme.io/*', 'registry.acme.io/*', 'registry.acme.io/team-a/*']);
    expect(byScope.get('registry.acme.io/*')[0]).toMatchObject({
      type: 'Notary',
      failureAction: 'Enforce',
      skipImageReferences: ['registry.acme.io/team-a/*', 'registry.acme.io/team-a:*', 'registry.acme.io/team-a@*', 'registry.acme.io/team-b/*', 'registry.acme.io/team-b:*', 'registry.acme.io/team-b@*'],
    });
    // Kyverno's `*` crosses `/`, so `*.corp.acme.io/*` is no skip (kyverno-matching.test.ts): both rules verify corp's images.
    expect(byScope.get('*')[0].skipImageReferences).toEqual(['registry.acme.io/*', 'registry.acme.io/team-a/*', 'registry.acme.io/team-a:*', 'registry.acme.io/team-a@*', 'registry.acme.io/team-b/*', 'registry.acme.io/team-b:*', 'registry.acme.io/team-b@*']);
    // team-a does not inherit: its cosign key alone, no certificate of the registry.
    expect(byScope.get('registry.acme.io/team-a/*')).toEqual([expect.objectContaining({ type: 'Cosign', attestors: [{ count: 1, entries: [{ keys: expect.objectContaining({ publicKeys: cosign.publicKey!.trim() + '\n' }) }] }] })]);
    expect(byScope.get('*.corp.acme.io/*')[0].failureAction).toBe('Audit');
  });

  it("gives Ratify the notation trust policy, each trust store backed by the scope's inline provider", async () => {
    const documents = fixtureDocs();
    const ratify = manifests(await write(documents)).get('ratify.yaml')!;
    const notation = await writeFormat('notation', { documents, repositories: [{ repository: 'registry.acme.io/app', scope: 'registry.acme.io' }], outDir: '/x' });
    const verifier = ratify.find((m) => m.kind === 'Verifier');
    expect(verifier.spec.parameters.trustPolicyDoc).toEqual(JSON.parse(text(notation.files, 'trustpolicy.json')));
    const providers = new Set(ratify.filter((m) => m.kind === 'KeyManagementProvider').map((m) => m.metadata.name));
    for (const p of verifier.spec.parameters.trustPolicyDoc.trustPolicies) {
      for (const store of p.trustStores ?? []) {
        const [type, name] = store.split(':');
        const kmps: string[] = verifier.spec.parameters.verificationCertStores[type][name];
        expect(kmps.every((k) => providers.has(k)), store).toBe(true);
      }
    }
  });

  it('leaves a revoked anchor out of every manifest', async () => {
    const documents = fixtureDocs();
    const pem = intermediate.certificate!.trim().split('\n')[1]!;
    expect((await write(documents)).files.some((f) => (f.content as string).includes(pem))).toBe(true);
    documents[1]!.anchors = documents[1]!.anchors.filter((a) => a.id !== intermediate.id);
    documents[1]!.revoked.keys.push({ id: intermediate.id, revokedAt: '2026-11-01T00:00:00Z', reason: 'keyCompromise' });
    expect((await write(documents)).files.filter((f) => (f.content as string).includes(pem)).map((f) => f.path)).toEqual([]);
  });

  it('writes the golden manifests for the fixture (UPDATE_GOLDEN=1 rewrites them)', async () => {
    const out = await write(fixtureDocs());
    const actual = redactFixtures(JSON.stringify({ manifests: Object.fromEntries(manifests(out)), warnings: out.warnings, unenforced: out.unenforced }, null, 2)) + '\n';
    if (process.env.UPDATE_GOLDEN) writeFileSync(GOLDEN, actual);
    expect(actual).toBe(readFileSync(GOLDEN, 'utf8'));
  });
});
