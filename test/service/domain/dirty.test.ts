/**
 * The dirty-scope rule (service/domain/dirty.ts): which keys a change marks, and which scopes'
 * documents a dirty scope alters through inheritance (CONTRACT.md "Scopes").
 */
import { describe, expect, it } from 'vitest';
import { ALL_SCOPES, affectedScopes, dirtyKeys, dirtyScopesOf, lowerBound, underWildcard } from '../../../service/domain/dirty.js';
import { ancestorCandidates } from '../../../service/domain/scope.js';

describe('dirtyKeys', () => {
  it('marks the scope of a scope, anchor or block change', () => {
    expect(dirtyKeys({ of: 'scope', scope: 'acme.io/team' })).toEqual(['acme.io/team']);
    expect(dirtyKeys({ of: 'anchor', scope: '*.acme.io' })).toEqual(['*.acme.io']);
    expect(dirtyKeys({ of: 'anchor-block', scope: 'acme.io' })).toEqual(['acme.io']);
  });

  it('marks everything for a revocation without scope, its scope otherwise', () => {
    expect(dirtyKeys({ of: 'revocation' })).toEqual([ALL_SCOPES]);
    expect(dirtyKeys({ of: 'revocation', scope: null })).toEqual(['*']);
    expect(dirtyKeys({ of: 'revocation', scope: 'acme.io' })).toEqual(['acme.io']);
  });

  it('marks a CRL target, and every scope only when what the documents say of the CRL changed', () => {
    const same = { of: 'crl', issuer: 'ca1', first: false, urlChanged: false, revokedChanged: false } as const;
    expect(dirtyKeys(same)).toEqual(['crl:ca1']);
    expect(dirtyKeys({ ...same, first: true })).toEqual(['crl:ca1', '*']);
    expect(dirtyKeys({ ...same, urlChanged: true })).toEqual(['crl:ca1', '*']);
    expect(dirtyKeys({ ...same, revokedChanged: true })).toEqual(['crl:ca1', '*']);
    expect(dirtyKeys({ of: 'crl-url', issuer: 'ca1' })).toEqual(['*']);
  });

  it('tells scope keys from CRL keys', () => {
    expect(dirtyScopesOf(['crl:ca1', 'acme.io', '*'])).toEqual(['acme.io', '*']);
  });
});

describe('affectedScopes', () => {
  const defined = ['*', '*.acme.io', 'acme.io', 'acme.io/team', 'acme.io/team/app', 'acme.io/teamwork', 'b.acme.io', 'b.acme.io/x', 'other.org'].sort();

  it('takes a path scope and the scopes that extend it by whole components', () => {
    expect([...affectedScopes(['acme.io/team'], defined)].sort()).toEqual(['acme.io/team', 'acme.io/team/app']);
  });

  it('takes a registry and every path under it', () => {
    expect([...affectedScopes(['acme.io'], defined)].sort()).toEqual(['acme.io', 'acme.io/team', 'acme.io/team/app', 'acme.io/teamwork']);
  });

  it('takes a wildcard and the scopes on hosts under its domain, not the bare domain', () => {
    expect([...affectedScopes(['*.acme.io'], defined)].sort()).toEqual(['*.acme.io', 'b.acme.io', 'b.acme.io/x']);
  });

  it('takes every scope for the default scope', () => {
    expect([...affectedScopes([ALL_SCOPES], defined)].sort()).toEqual(defined);
  });

  it('keeps a dirty scope that is no longer defined (its document is deleted)', () => {
    expect([...affectedScopes(['gone.io'], defined)]).toEqual(['gone.io']);
  });

  it('lists each scope once, in code-unit order, deleted ones in their places', () => {
    expect(affectedScopes(['b.acme.io', 'acme.io', 'zz.io', '*.acme.io', 'acme.io', 'a.gone', 'zz.io'], defined)).toEqual(
      ['*.acme.io', 'a.gone', 'acme.io', 'acme.io/team', 'acme.io/team/app', 'acme.io/teamwork', 'b.acme.io', 'b.acme.io/x', 'zz.io'],
    );
    expect(affectedScopes([], defined)).toEqual([]);
  });
});

describe('underWildcard', () => {
  it('answers as the ancestor candidates do', () => {
    const scopes = ['*', '*.io', '*.acme.io', '*.b.acme.io', 'acme.io', 'acme.io:5000', 'b.acme.io:5000/x/y', 'b.acme.io', 'a.b.acme.io/team', 'localhost:5000/x', '10.0.0.1/x', '10.0.0.1:5000', 'io', 'acmeio.com', 'acme.io:5000/a.io'];
    // Up to four wildcards are matched as suffixes, more by labels: both ways are asked.
    const many = ['*.x1.org', '*.x2.org', '*.x3.org', '*.x4.org'];
    const wides = [['*'], ['*.io'], ['*.acme.io'], ['*.b.acme.io'], ['*.acme.io', '*.other.org'], ['*.org'], [...many, '*.acme.io'], [...many, '*.com'], [...many, '*']].map((w) => new Set(w));
    for (const wide of wides) {
      for (const s of scopes) expect([s, [...wide], underWildcard(s, wide)]).toEqual([s, [...wide], ancestorCandidates(s).some((a) => wide.has(a))]);
    }
  });
});

describe('lowerBound', () => {
  it('finds the first index not less than the key', () => {
    const s = ['a', 'b', 'b', 'd'];
    expect([lowerBound(s, ''), lowerBound(s, 'b'), lowerBound(s, 'c'), lowerBound(s, 'e')]).toEqual([0, 1, 3, 4]);
    expect(lowerBound([], 'x')).toBe(0);
  });
});

describe('ancestorCandidates', () => {
  it('lists `*`, the wildcards over the host, the registry and the parent paths', () => {
    expect(ancestorCandidates('registry.acme.io/team/app/web')).toEqual(['*', '*.acme.io', '*.io', 'registry.acme.io', 'registry.acme.io/team', 'registry.acme.io/team/app']);
    expect(ancestorCandidates('registry.acme.io:5000/app')).toEqual(['*', '*.acme.io', '*.io', 'registry.acme.io:5000']);
    expect(ancestorCandidates('*.b.acme.io')).toEqual(['*', '*.acme.io', '*.io']);
    expect(ancestorCandidates('localhost:5000/x/y')).toEqual(['*', 'localhost:5000', 'localhost:5000/x']);
    expect(ancestorCandidates('10.0.0.1/x')).toEqual(['*', '10.0.0.1']);
    expect(ancestorCandidates('acme.io')).toEqual(['*', '*.io']);
    expect(ancestorCandidates('*')).toEqual([]);
  });
});
