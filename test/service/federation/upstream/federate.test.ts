/**
 * Federation, pure parts: source chains (loops, bounds) and the merge plan of several owners'
 * contributions against the store.
 */
import { describe, expect, it } from 'vitest';
import type { AnchorRecord, ScopeRecord } from '../../../../service/domain/types.js';
import { planFederation, type FederatedScope } from '../../../../service/federation/federate.js';
import { MAX_HOPS, MAX_PATHS, extendSource, mergeSources, ownersOf, splitSource, upstreamHop } from '../../../../service/federation/source.js';

const O = (c: string) => c.repeat(32);
const SELF = O('a');
const hopB = upstreamHop('b', O('b'));
const hopC = upstreamHop('c', O('c'));

const anchor = (scope: string, id: string, source: string | null, extra: Partial<AnchorRecord> = {}): AnchorRecord => ({
  scope,
  id,
  name: id.slice(7, 15),
  type: 'publicKey',
  material: `PEM ${id}`,
  trustedIdentities: null,
  source,
  ...extra,
});
const fed = (scope: string, source: string, anchors: AnchorRecord[], level: ScopeRecord['level'] = 'strict'): FederatedScope => ({
  scope: { scope, inherit: false, level, source },
  anchors,
  revocations: [],
});
const K1 = `sha256:${'1'.repeat(64)}`;
const K2 = `sha256:${'2'.repeat(64)}`;
const K3 = `sha256:${'3'.repeat(64)}`;

describe('source chains', () => {
  it("prefix the upstream's hop, nearest first", () => {
    expect(extendSource(undefined, hopB, SELF)).toBe(hopB);
    expect(extendSource(hopC, hopB, SELF)).toBe(`${hopB} ${hopC}`);
    expect(ownersOf(`${hopB} ${hopC}, ${hopC}`)).toEqual(['upstream:b', 'upstream:c']);
  });

  it("drop every path that passes through this service (its own trust coming back round a loop)", () => {
    const mine = upstreamHop('a', SELF);
    expect(extendSource(mine, hopB, SELF)).toBeNull();
    expect(extendSource(`${mine}, ${hopC}`, hopB, SELF)).toBe(`${hopB} ${hopC}`);
    expect(extendSource(`bundle:${SELF}`, hopB, SELF)).toBeNull();
  });

  it('are bounded: at most MAX_HOPS hops and MAX_PATHS paths', () => {
    const long = Array.from({ length: MAX_HOPS }, (_, i) => upstreamHop(`s${i}`, O(String(i % 10)))).join(' ');
    expect(extendSource(long, hopB, SELF)).toBeNull();
    const many = Array.from({ length: 20 }, (_, i) => upstreamHop(`s${i}`, O('c'))).join(', ');
    expect(splitSource(extendSource(many, hopB, SELF))).toHaveLength(MAX_PATHS);
  });

  it('ignore malformed hops rather than trusting them', () => {
    expect(splitSource('upstream:x@nothex, <script>')).toEqual([]);
    expect(extendSource('garbage', hopB, SELF)).toBe(hopB);
    expect(mergeSources([hopB, hopC, hopB])).toBe(`${hopB}, ${hopC}`);
  });
});

describe('the federation plan', () => {
  it('creates the scopes an owner brings, with inherit false and its source', () => {
    const plan = planFederation([{ owner: 'upstream:b', scopes: new Map([['acme.io', fed('acme.io', hopB, [anchor('acme.io', K1, hopB)])]]) }], [], []);
    expect(plan.createScopes).toEqual([{ scope: 'acme.io', inherit: false, level: 'strict', source: hopB }]);
    expect(plan.addAnchors.map((a) => a.id)).toEqual([K1]);
    expect(plan.conflicts).toEqual([]);
  });

  it('merges two owners of one scope: union of anchors, both sources, the stricter level', () => {
    const plan = planFederation(
      [
        { owner: 'upstream:b', scopes: new Map([['acme.io', fed('acme.io', hopB, [anchor('acme.io', K1, hopB), anchor('acme.io', K2, hopB, { type: 'ca', trustedIdentities: ['x509.subject: CN=a'] })], 'audit')]]) },
        { owner: 'upstream:c', scopes: new Map([['acme.io', fed('acme.io', hopC, [anchor('acme.io', K2, hopC, { type: 'ca', trustedIdentities: ['x509.subject: CN=b'] }), anchor('acme.io', K3, hopC)], 'strict')]]) },
      ],
      [],
      [],
    );
    expect(plan.createScopes).toEqual([{ scope: 'acme.io', inherit: false, level: 'strict', source: `${hopB}, ${hopC}` }]);
    const byId = new Map(plan.addAnchors.map((a) => [a.id, a]));
    expect([...byId.keys()].sort()).toEqual([K1, K2, K3]);
    expect(byId.get(K1)!.source).toBe(hopB);
    expect(byId.get(K2)!.source).toBe(`${hopB}, ${hopC}`);
    expect(byId.get(K2)!.trustedIdentities).toEqual(['x509.subject: CN=a', 'x509.subject: CN=b']);
    expect(byId.get(K3)!.source).toBe(hopC);
  });

  it('never takes over a local scope, keeps local anchors, and removes what no owner defines any more', () => {
    const scopes: ScopeRecord[] = [
      { scope: 'local.io', inherit: true, level: null, source: null },
      { scope: 'acme.io', inherit: false, level: 'strict', source: hopB },
      { scope: 'gone.io', inherit: false, level: 'strict', source: hopB },
    ];
    const anchors = [anchor('acme.io', K1, hopB), anchor('acme.io', K2, null), anchor('acme.io', K3, hopB)];
    const plan = planFederation(
      [{ owner: 'upstream:b', scopes: new Map([['local.io', fed('local.io', hopB, [])], ['acme.io', fed('acme.io', hopB, [anchor('acme.io', K1, hopB), anchor('acme.io', K2, hopB)])]]) }],
      scopes,
      anchors,
    );
    expect(plan.conflicts).toEqual([{ scope: 'local.io', owners: ['upstream:b'] }]);
    // K2 is local here: it stays as it is; K3 the upstream dropped.
    expect(plan.addAnchors).toEqual([]);
    expect(plan.replaceAnchors).toEqual([]);
    expect(plan.removeAnchors).toEqual([{ scope: 'acme.io', id: K3 }]);
    expect(plan.deleteScopes).toEqual(['gone.io']);
    expect(plan.touched).toEqual(new Set(['acme.io', 'gone.io']));
  });

  it('is empty when nothing changed', () => {
    const f = fed('acme.io', hopB, [anchor('acme.io', K1, hopB)]);
    const plan = planFederation([{ owner: 'upstream:b', scopes: new Map([['acme.io', f]]) }], [f.scope], f.anchors);
    expect(plan.touched.size).toBe(0);
  });
});
