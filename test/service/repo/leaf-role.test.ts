/**
 * leafRoleFor (service/repo/tenants.ts) hashes each path once (bench B9) instead of through
 * tuf-js's DelegatedRole.isDelegatedPath and SuccinctRoles.getRoleForTarget: it must name the
 * same role as tuf-js's own walk (TUF spec 5.6.7), for hashed bins of any size, path hash
 * prefixes of any length, and `paths` patterns.
 */
import { describe, expect, it } from 'vitest';
import { Targets } from '@tufjs/models';
import { DelegatedRole, SuccinctRoles } from '@tufjs/models/dist/role.js';
import { Delegations } from '@tufjs/models/dist/delegations.js';
import { leafRoleFor } from '../../../service/repo/tenants.js';
import { sha256Hex } from '../../../shared/hash.js';

const delegating = (d: Partial<ConstructorParameters<typeof Delegations>[0]>) => new Targets({ version: 1, specVersion: '1.0.31', expires: '2099-01-01T00:00:00Z', delegations: new Delegations({ keys: {}, ...d }) });
const role = (name: string, extra: { paths?: string[]; pathHashPrefixes?: string[] }) => new DelegatedRole({ name, keyIDs: [], threshold: 1, terminating: true, ...extra });
const bins = (bitLength: number, namePrefix: string) => new SuccinctRoles({ keyIDs: [], threshold: 1, bitLength, namePrefix });

/** The walk as tuf-js does it, method by method. */
function reference(path: string, load: (r: string) => Targets | undefined): string | null {
  let name = 'targets';
  for (let depth = 0; depth < 8; depth++) {
    const d = load(name)?.delegations;
    if (!d) return name;
    if (d.succinctRoles) {
      name = d.succinctRoles.getRoleForTarget(path);
      continue;
    }
    const next = Object.values(d.roles ?? {}).find((r) => r.isDelegatedPath(path));
    if (!next) return null;
    name = next.name;
  }
  return null;
}

const paths = Array.from({ length: 400 }, (_, i) => (i % 3 ? `trust/r${i}.acme.io.json` : `index/${i.toString(16)}.json`));

describe('leafRoleFor', () => {
  for (const bitLength of [1, 4, 7, 10, 14]) {
    it(`names the bin tuf-js names, behind path_hash_prefixes, at ${bitLength} bin bits`, () => {
      const roles: Record<string, Targets> = {
        targets: delegating({ roles: { trust: role('trust', { pathHashPrefixes: [...'0123456789abcdef'] }) } }),
        trust: delegating({ succinctRoles: bins(bitLength, 'bin') }),
      };
      const load = (r: string) => roles[r];
      for (const p of paths) expect(leafRoleFor(p, load)).toBe(reference(p, load));
    });
  }

  it('follows prefixes of other lengths (longer than 8 hex digits too) and `paths` patterns as tuf-js does', () => {
    const roles: Record<string, Targets> = {
      targets: delegating({
        roles: {
          tenant: role('tenant', { paths: ['trust/r1*'] }),
          short: role('short', { pathHashPrefixes: ['0', '3a', 'f1c'] }),
          long: role('long', { pathHashPrefixes: ['8', '9', 'a', 'b', 'c', 'd', 'e', 'f0123456789'] }),
        },
      }),
    };
    const load = (r: string) => roles[r];
    const named = paths.map((p) => leafRoleFor(p, load));
    expect(named).toEqual(paths.map((p) => reference(p, load)));
    expect(new Set(named)).toEqual(new Set(['tenant', 'short', 'long', null]));
  });

  it('reads prefixes of 8 hex digits, upper-case ones (never matched) and the empty one (matches all) as tuf-js does', () => {
    const full = paths.slice(0, 20).map((p) => sha256Hex(p).slice(0, 8));
    for (const prefixes of [full, full.map((h) => h.toUpperCase()), ['A', 'B', 'c'], [''], ['0', '12', '345', '6789', 'abcde', 'f01234', 'ab12cd3', full[3]!]]) {
      const roles: Record<string, Targets> = { targets: delegating({ roles: { some: role('some', { pathHashPrefixes: prefixes }), rest: role('rest', { paths: ['trust/*', 'index/*'] }) } }) };
      const load = (r: string) => roles[r];
      for (const p of paths) expect([prefixes, p, leafRoleFor(p, load)]).toEqual([prefixes, p, reference(p, load)]);
    }
  });

  it('rules out `paths` patterns by their literal components exactly where tuf-js finds no match (the shards role, tenants, globs)', () => {
    const patterns = ['index/*', 'index.json', 'index', 'trust/acme.io.json', 'trust/acme.io/*.json', 'trust/acme.io/*/*.json', 'trust/r1?.acme.io.json', 'trust/[rs]2*', 'trust/{r3,r4}*', 'trust/#r5*', 'trust/+(r6)*', 'crl/*.crl', 'trust\\/r7*', './x.json', 'a-b.c_d/*', '*/r8.json', 'trust/r9.json/*', 'ind*/a.json', 'index/*/'];
    const many = [...paths, 'trust/acme.io.json', 'trust/acme.io/team.json', 'trust/acme.io/team/app.json', 'trust/acme.io/a/b/c.json', 'crl/ab.crl', 'trust/#r5.json', 'trust/r6.json', 'index/x/y.json', 'trust/r7.json', 'trust/.hidden.json', 'index.json', 'index', 'indexx/a.json', 'index/', './x.json', 'a-b.c_d/x', 'x/r8.json', 'trust/r9.json/z', 'indy/a.json', 'index/a/'];
    for (const pattern of patterns) {
      const roles: Record<string, Targets> = { targets: delegating({ roles: { only: role('only', { paths: [pattern] }), rest: role('rest', { pathHashPrefixes: [...'0123456789abcdef'] }) } }) };
      const load = (r: string) => roles[r];
      for (const p of many) expect([pattern, p, leafRoleFor(p, load)]).toEqual([pattern, p, reference(p, load)]);
    }
  });
});
