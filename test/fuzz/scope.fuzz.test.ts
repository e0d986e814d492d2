/**
 * Fuzzing the scope syntax (CONTRACT.md "Scopes", service/domain/scope.ts): any string is
 * accepted or refused with SCOPE_INVALID; what is accepted is safe as a target path; every
 * scope the grammar allows is accepted; and containment behaves as an order.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ancestorCandidates, nearestCandidate, parseRepository, repositoryCandidates, parseScope, scopeContains, scopeSpecificity, trustTargetPath } from '../../service/domain/scope.js';
import { outcome, runs } from './support.js';

const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
const dnsName = fc
  .array(label, { minLength: 1, maxLength: 4 })
  .filter((ls) => !/^\d+$/.test(ls[ls.length - 1]!))
  .map((ls) => ls.join('.'));
const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.'));
const host = fc.oneof(dnsName, ipv4, fc.constant('localhost'));
const registry = fc.tuple(host, fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined })).map(([h, p]) => (p === undefined ? h : `${h}:${p}`));
const component = fc.stringMatching(/^[a-z0-9]{1,6}((\.|_|__|-{1,2})[a-z0-9]{1,6}){0,2}$/);
/** Scopes the grammar allows. */
const validScope = fc
  .oneof(
    fc.constant('*'),
    dnsName.map((d) => `*.${d}`),
    registry,
    fc.tuple(registry, fc.array(component, { minLength: 1, maxLength: 4 })).map(([r, p]) => `${r}/${p.join('/')}`),
  )
  .filter((s) => s.length <= 255);

/** Near misses: valid scopes with a character inserted, replaced or upper-cased, and arbitrary strings. */
const anyScope = fc.oneof(
  validScope,
  fc.tuple(validScope, fc.nat(), fc.constantFrom('/', '..', '.', ':', '*', ' ', '\0', '\\', 'A', '%2e', '..\\', '_', '-', ':0', ':65536', '/.', '//', '\u0131', '\u212a')).map(([s, i, ins]) => s.slice(0, i % (s.length + 1)) + ins + s.slice(i % (s.length + 1))),
  validScope.map((s) => s.toUpperCase()),
  fc.string({ maxLength: 300 }),
  fc.string({ unit: 'binary', maxLength: 64 }),
);

describe('scope syntax', () => {
  it('accepts a scope or refuses it with SCOPE_INVALID, and an accepted scope is a safe target path', async () => {
    await fc.assert(
      fc.asyncProperty(anyScope, async (s) => {
        const r = await outcome(() => parseScope(s));
        expect(['ok', 'SCOPE_INVALID']).toContain(r);
        if (r !== 'ok') return;
        // The trust document's target path (and the file name a client writes) is built from the scope.
        expect(s).toMatch(/^[a-z0-9.*:/_-]+$/);
        expect(s.length).toBeLessThanOrEqual(255);
        const parts = trustTargetPath(s).split('/');
        expect(parts.every((p) => p !== '' && p !== '.' && p !== '..')).toBe(true);
      }),
      runs(2000),
    );
  });

  it('accepts every scope the grammar allows, and every ancestor that can be defined contains it', async () => {
    await fc.assert(
      fc.asyncProperty(validScope, async (s) => {
        expect(await outcome(() => parseScope(s))).toBe('ok');
        for (const a of ancestorCandidates(s)) {
          // Every candidate can be defined (none such as `*.0.1` over an IPv4 host, which made
          // repositoryCandidates, and so `fetch --repository 127.0.0.1:5000/x`, throw).
          expect(await outcome(() => parseScope(a)), a).toBe('ok');
          expect(scopeContains(a, s), `${a} contains ${s}`).toBe(true);
          expect(scopeContains(s, a), `${s} does not contain ${a}`).toBe(false);
        }
        // The walk of nearest candidates gives them all, most specific first (bench B9's recompute walks it).
        const walk: string[] = [];
        for (let c = nearestCandidate(s); c !== null; c = nearestCandidate(c)) walk.push(c);
        expect(walk).toEqual([...ancestorCandidates(s)].sort((a, b) => scopeSpecificity(b) - scopeSpecificity(a)));
        if (!s.includes('*')) {
          expect(await outcome(() => parseRepository(s))).toBe('ok');
          expect(repositoryCandidates(s).at(-1)).toBe('*');
        }
      }),
      runs(1000),
    );
  });

  it('orders scopes: containment is reflexive, antisymmetric and transitive', async () => {
    // Scopes that share hosts and paths, so that containment actually happens.
    const family = fc.tuple(fc.constantFrom('acme.io', 'r.acme.io', 'x.r.acme.io', 'localhost:5000'), fc.array(fc.constantFrom('a', 'b', 'c'), { maxLength: 3 }), fc.boolean()).map(([h, p, wild]) =>
      wild && !h.includes(':') ? `*.${h}` : p.length ? `${h}/${p.join('/')}` : h,
    );
    const scope = fc.oneof(fc.constant('*'), family);
    fc.assert(
      fc.property(scope, scope, scope, (a, b, c) => {
        expect(scopeContains(a, a)).toBe(true);
        if (scopeContains(a, b) && scopeContains(b, a)) expect(a).toBe(b);
        if (scopeContains(a, b) && scopeContains(b, c)) expect(scopeContains(a, c)).toBe(true);
      }),
      runs(1000),
    );
  });
});
