/**
 * TrustComposer (service/domain/trust-compose.ts) writes the documents of a parent change from
 * parts computed once (bench B9). effectiveTrust is the definition: over varied random states
 * (revocations global and scoped, at the scope itself too; CRLs and their URLs; blocks; TSA
 * signers; --no-inherit; federated sources; levels; non-ASCII names; anchors defined again
 * lower down) every scope's text must be serializeJson(effectiveTrust(...)), byte for byte.
 */
import { describe, expect, it } from 'vitest';
import { prng as random } from '../../crash/harness.js';
import { ChainTails, TrustComposer } from '../../../service/domain/trust-compose.js';
import { effectiveTrust, inheritanceChain, serializeJson, type TrustInputs } from '../../../service/domain/trust.js';
import { ancestorCandidates } from '../../../service/domain/scope.js';
import type { AnchorRecord, AnchorType, Level, Revocations, ScopeRecord } from '../../../service/domain/types.js';

const SCOPES = [
  '*',
  '*.example',
  '*.acme.example',
  'registry.acme.example',
  'registry.acme.example/team',
  'registry.acme.example/team/app',
  'registry.acme.example/team/app/deep',
  'registry.acme.example/other',
  'other.example:5000',
  'other.example:5000/ns',
  'lone.test',
  'lone.test/x',
  'deep.r.acme.example',
  '10.0.0.1:5000',
  '10.0.0.1:5000/ns/app',
  'localhost/x',
];
const TYPES: AnchorType[] = ['ca', 'signingAuthority', 'tsa', 'publicKey', 'pgp'];
const LEVELS: (Level | null)[] = [null, null, 'strict', 'permissive', 'audit', 'skip'];
const NAMES = ['key', 'clé de signature', '署名鍵', 'quote " and \\ back', 'tab\there', 'emoji 🔑'];

function state(seed: number): { scopes: ScopeRecord[]; inputs: Omit<TrustInputs, 'scope' | 'ancestors'> } {
  const rand = random(seed);
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const scopes: ScopeRecord[] = SCOPES.filter(() => rand() < 0.8).map((scope) => ({
    scope,
    inherit: rand() < 0.85,
    level: pick(LEVELS),
    ...(rand() < 0.2 ? { source: pick(['upstream-a', 'upstream-b,upstream-c']) } : {}),
  }));
  const ids = Array.from({ length: 10 }, (_, i) => `sha256:${i.toString(16).padStart(2, '0').repeat(32)}`);
  const anchorsByScope = new Map<string, AnchorRecord[]>();
  for (const s of scopes) {
    const list: AnchorRecord[] = [];
    for (let k = Math.floor(rand() * 4); k > 0; k--) {
      const type = pick(TYPES);
      const certificate = type === 'ca' || type === 'signingAuthority' || type === 'tsa';
      list.push({
        scope: s.scope,
        id: pick(ids),
        name: pick(NAMES),
        type,
        material: `-----BEGIN ${certificate ? 'CERTIFICATE' : 'PUBLIC KEY'}-----\nMII${Math.floor(rand() * 1e6)}\n-----END-----\n`,
        trustedIdentities: rand() < 0.3 ? ['x509.subject:CN=a', 'x509.subject:CN=ü'] : rand() < 0.5 ? [] : null,
        keyId: rand() < 0.5 ? pick(ids) : null,
        serial: certificate ? pick(['0a', '0b', '0c']) : null,
        issuerName: certificate && rand() < 0.5 ? pick(['CN=root', 'CN=other']) : null,
        subject: certificate ? pick(['CN=root', 'CN=other', 'CN=leaf']) : null,
        ...(rand() < 0.2 ? { source: 'upstream-a' } : {}),
      });
    }
    if (list.length > 0) anchorsByScope.set(s.scope, list);
  }
  const at = () => pick(['2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z']);
  const reason = () => pick(['keyCompromise', 'superseded', 'unspecified'] as const);
  const revScope = () => (rand() < 0.5 ? null : pick(SCOPES));
  const revocations: Revocations = { certificates: [], keys: [], signatures: [] };
  for (let k = Math.floor(rand() * 4); k > 0; k--) revocations.keys.push({ id: pick(ids), revokedAt: at(), reason: reason(), scope: revScope() });
  for (let k = Math.floor(rand() * 3); k > 0; k--) revocations.certificates.push({ issuer: pick(ids), serial: pick(['0a', '0b', '0c']), revokedAt: at(), reason: reason(), scope: revScope() });
  for (let k = Math.floor(rand() * 3); k > 0; k--) revocations.signatures.push({ digest: pick(ids), revokedAt: at(), reason: reason(), scope: revScope() });
  const blocked = new Map<string, Set<string>>();
  for (let k = Math.floor(rand() * 3); k > 0; k--) {
    const s = pick(SCOPES);
    blocked.set(s, new Set([...(blocked.get(s) ?? []), pick(ids)]));
  }
  const crlIssuers = new Set(ids.filter(() => rand() < 0.3));
  return {
    scopes,
    inputs: {
      anchorsByScope,
      revocations,
      crlIssuers,
      crlUrls: new Map([...crlIssuers].filter(() => rand() < 0.5).map((id) => [id, `http://crl.example/${id.slice(7, 11)}.crl`])),
      caSubjects: new Map(ids.filter(() => rand() < 0.4).map((id) => [id, pick(['CN=root', 'CN=other'])])),
      crlRevoked: new Map([...crlIssuers].map((id) => [id, new Set(['0a', '0c'].filter(() => rand() < 0.5))])),
      blocked,
      tsaSigners: new Map(ids.filter(() => rand() < 0.3).map((id) => [id, ['-----BEGIN CERTIFICATE-----\nsigner\n-----END CERTIFICATE-----\n']])),
    },
  };
}

/** Where the third line of a text ends: after `{`, the mediaType and the scope lines. */
const headEnd = (text: string): number => text.indexOf('\n', text.indexOf('\n', text.indexOf('\n') + 1) + 1) + 1;

describe('TrustComposer', () => {
  it('writes serializeJson(effectiveTrust(...)) for every scope of 400 random states', () => {
    let composed = 0;
    for (let seed = 1; seed <= 400; seed++) {
      const { scopes, inputs } = state(seed);
      const byName = new Map(scopes.map((s) => [s.scope, s]));
      const composer = new TrustComposer(inputs);
      const tails = new ChainTails(byName);
      for (const scope of scopes) {
        const ancestors = ancestorCandidates(scope.scope).flatMap((c) => byName.get(c) ?? []);
        const reference = serializeJson(effectiveTrust({ ...inputs, scope, ancestors }));
        expect([seed, scope.scope, composer.json(scope, ancestors)]).toEqual([seed, scope.scope, reference]);
        // parts(): the same text, split after the scope line, where the publisher's stamp goes.
        const [head, rest] = composer.parts(scope, ancestors);
        expect([head, rest]).toEqual([reference.slice(0, headEnd(reference)), reference.slice(headEnd(reference))]);
        // ChainTails gives the chain above the scope, and partsBelow the same text from it.
        const tail = tails.of(scope);
        expect([seed, scope.scope, tail]).toEqual([seed, scope.scope, inheritanceChain(scope, ancestors).slice(1)]);
        expect(composer.partsBelow(scope, tail)).toEqual([head, rest]);
        composed++;
      }
    }
    expect(composed).toBeGreaterThan(3000);
  });

  it('writes the children of one parent from one inherited part, each with its own anchors', () => {
    const parent: ScopeRecord = { scope: '*.bench.example', inherit: true, level: 'audit' };
    const anchor = (scope: string, i: number): AnchorRecord => ({ scope, id: `sha256:${i.toString(16).padStart(64, '0')}`, name: `k${i}`, type: 'publicKey', material: `PEM ${i}`, trustedIdentities: null });
    const inputs = { anchorsByScope: new Map([[parent.scope, [anchor(parent.scope, 5000)]]]), revocations: { certificates: [], keys: [], signatures: [] }, crlIssuers: new Set<string>() };
    const children = Array.from({ length: 200 }, (_, i): ScopeRecord => ({ scope: `r${i}.bench.example`, inherit: i % 7 !== 0, level: null }));
    for (const [i, c] of children.entries()) inputs.anchorsByScope.set(c.scope, [anchor(c.scope, i * 50)]);
    const composer = new TrustComposer(inputs);
    for (const c of children) expect(composer.json(c, [parent])).toBe(serializeJson(effectiveTrust({ ...inputs, scope: c, ancestors: [parent] })));
  });
});
