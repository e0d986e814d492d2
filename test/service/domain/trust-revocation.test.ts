import { describe, expect, it } from 'vitest';
import { buildAnchor } from '../../../service/domain/anchor.js';
import { effectiveTrust, isAnchorRevoked, type TrustInputs } from '../../../service/domain/trust.js';
import type { AnchorRecord, Revocations, ScopeRecord } from '../../../service/domain/types.js';
import { readFixtureText } from '../../../fixtures/index.js';

const NOW = new Date('2026-06-01T00:00:00Z');
const at = '2026-05-01T00:00:00Z';
const scope = (s: string, inherit = true): ScopeRecord => ({ scope: s, inherit, level: null });

const root = await buildAnchor({ scope: 'acme.io', certificate: readFixtureText('certs/root-ca.pem') }, NOW);
const intermediate = await buildAnchor({ scope: 'acme.io/team-a', certificate: readFixtureText('certs/intermediate-ca.pem') }, NOW);
const key = await buildAnchor({ scope: 'acme.io', publicKey: readFixtureText('keys/ec-p256.pub.pem') }, NOW);

const none = (): Revocations => ({ certificates: [], keys: [], signatures: [] });
const caSubjects = new Map([
  [root.id, root.subject!],
  [intermediate.id, intermediate.subject!],
]);

function inputs(target: ScopeRecord, over: Partial<TrustInputs> = {}): TrustInputs {
  const anchorsByScope = new Map<string, AnchorRecord[]>([
    ['acme.io', [root, key]],
    ['acme.io/team-a', [intermediate]],
  ]);
  return {
    scope: target,
    ancestors: [scope('acme.io'), scope('acme.io/team-a'), scope('acme.io/team-b')],
    anchorsByScope,
    revocations: none(),
    crlIssuers: new Set(),
    caSubjects,
    ...over,
  };
}
const ids = (i: TrustInputs) => effectiveTrust(i).anchors.map((a) => a.id).sort();

describe('effectiveTrust with revocations', () => {
  it('inherits the parent anchors', () => {
    expect(ids(inputs(scope('acme.io/team-a')))).toEqual([root.id, key.id, intermediate.id].sort());
  });

  describe('when an intermediate CA anchor is revoked by its issuer anchor and serial', () => {
    const revocations = (s: string | null): Revocations => ({ ...none(), certificates: [{ issuer: root.id, serial: '0b', revokedAt: at, reason: 'cACompromise', scope: s }] });

    it('drops it from the scope, and lists the revocation', () => {
      const doc = effectiveTrust(inputs(scope('acme.io/team-a'), { revocations: revocations(null) }));
      expect(doc.anchors.map((a) => a.id)).not.toContain(intermediate.id);
      expect(doc.anchors.map((a) => a.id)).toContain(root.id);
      expect(doc.revoked.certificates).toEqual([{ issuer: root.id, serial: '0b', revokedAt: at, reason: 'cACompromise' }]);
    });

    it('does not match without knowing the issuer anchor subject', () => {
      expect(ids(inputs(scope('acme.io/team-a'), { revocations: revocations(null), caSubjects: new Map() }))).toContain(intermediate.id);
    });

    it('applies a scoped revocation at that scope and below, not beside it', () => {
      expect(ids(inputs(scope('acme.io/team-a'), { revocations: revocations('acme.io/team-a') }))).not.toContain(intermediate.id);
      const beside = effectiveTrust(inputs(scope('acme.io/team-b'), { revocations: revocations('acme.io/team-a') }));
      expect(beside.revoked.certificates).toEqual([]);
    });
  });

  describe('when an anchor is revoked at a parent scope', () => {
    it('is gone from the child that inherits it', () => {
      const revocations: Revocations = { ...none(), keys: [{ id: key.id, revokedAt: at, reason: 'keyCompromise', scope: 'acme.io' }] };
      expect(ids(inputs(scope('acme.io/team-a'), { revocations }))).not.toContain(key.id);
      expect(ids(inputs(scope('acme.io'), { revocations }))).not.toContain(key.id);
    });

    it('is kept by a child created with --no-inherit that defines it itself', () => {
      const revocations: Revocations = { ...none(), keys: [{ id: key.id, revokedAt: at, reason: 'keyCompromise', scope: 'acme.io' }] };
      const own = new Map<string, AnchorRecord[]>([['acme.io/team-a', [{ ...key, scope: 'acme.io/team-a' }]], ['acme.io', [key]]]);
      expect(ids(inputs(scope('acme.io/team-a', false), { revocations, anchorsByScope: own }))).toEqual([key.id]);
    });

    it('is gone everywhere when revoked without a scope', () => {
      const revocations: Revocations = { ...none(), keys: [{ id: key.id, revokedAt: at, reason: 'keyCompromise', scope: null }] };
      const own = new Map<string, AnchorRecord[]>([['acme.io/team-a', [{ ...key, scope: 'acme.io/team-a' }]]]);
      expect(ids(inputs(scope('acme.io/team-a', false), { revocations, anchorsByScope: own }))).toEqual([]);
    });
  });

  describe("when an anchor is on its issuer's CRL", () => {
    it('is dropped', () => {
      const crlRevoked = new Map([[root.id, new Set(['0b'])]]);
      expect(ids(inputs(scope('acme.io/team-a'), { crlRevoked }))).not.toContain(intermediate.id);
    });

    it("is not revoked by its own CRL (a CA's CRL lists what it issued)", () => {
      const crlRevoked = new Map([[root.id, new Set([root.serial!])]]);
      expect(ids(inputs(scope('acme.io'), { crlRevoked }))).toContain(root.id);
    });
  });

  it('revokes a self-issued anchor by its own ID and serial', () => {
    expect(isAnchorRevoked(root, new Set(), [{ issuer: root.id, serial: root.serial!, revokedAt: at, reason: 'keyCompromise' }])).toBe(true);
  });

  it('lists CRLs of the CA anchors that have one', () => {
    const doc = effectiveTrust(inputs(scope('acme.io/team-a'), { crlIssuers: new Set([intermediate.id, 'sha256:' + 'f'.repeat(64)]) }));
    expect(doc.crls).toEqual([{ issuer: intermediate.id, target: `crl/${intermediate.id.slice('sha256:'.length)}.crl` }]);
  });

  it("lists, with a CA's CRL, the URL the service refreshes it from", () => {
    const crlUrls = new Map([[intermediate.id, 'http://pki.acme.io/intermediate.crl']]);
    const doc = effectiveTrust(inputs(scope('acme.io/team-a'), { crlIssuers: new Set([intermediate.id, root.id]), crlUrls }));
    expect(doc.crls.find((c) => c.issuer === intermediate.id)?.urls).toEqual(['http://pki.acme.io/intermediate.crl']);
    expect(doc.crls.find((c) => c.issuer === root.id)).not.toHaveProperty('urls');
  });
});
