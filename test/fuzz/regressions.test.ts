/**
 * Regressions for the crashes the property tests found: each input used to throw a TypeError
 * out of the service (a 500 through the API, an INTERNAL from the CLI) and is now refused
 * with a code, naming the entry, storing nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAnchor } from '../../service/domain/anchor.js';
import { isKeyshareError } from '../../service/errors.js';
import { openInstance, type Instance } from '../../service/instance.js';
import { appApi, cleanupTempDirs, newDataDir } from '../support/service.js';
import { dumpStore } from './support.js';

let instance: Instance;
let token: string;

beforeAll(async () => {
  const made = await newDataDir();
  token = made.token;
  instance = await openInstance({ dataDir: made.dataDir });
});

afterAll(async () => {
  await instance?.close();
  cleanupTempDirs();
});

async function refusal(fn: () => Promise<unknown>): Promise<{ code: string; details: unknown }> {
  try {
    await fn();
  } catch (e) {
    if (isKeyshareError(e)) return { code: e.code, details: e.details };
    throw e;
  }
  throw new Error('expected a refusal');
}

describe('apply files of the wrong shape (found by test/fuzz/apply.fuzz.test.ts)', () => {
  const cases: [string, unknown, string, string?][] = [
    ['"scopes" is an object, not a list', { scopes: {} }, 'APPLY_INVALID'],
    ['"scopes" is a string', { scopes: 'registry.acme.io' }, 'APPLY_INVALID'],
    ['"revoked" is a list', { revoked: [] }, 'APPLY_INVALID'],
    ['"revoked.keys" is a number', { revoked: { keys: 7 } }, 'APPLY_INVALID'],
    ['a scope entry is a string', { scopes: ['registry.acme.io'] }, 'APPLY_INVALID', 'scopes[0]'],
    ['"anchors" is an object', { scopes: [{ scope: 'registry.acme.io', anchors: { publicKey: 'x' } }] }, 'APPLY_INVALID', 'scopes[0]'],
    ['an anchor is a number', { scopes: [{ scope: 'registry.acme.io', anchors: [5] }] }, 'APPLY_INVALID', 'scopes[0].anchors[0]'],
    ['an anchor\'s publicKey is a number', { scopes: [{ scope: 'registry.acme.io', anchors: [{ publicKey: 5 }] }] }, 'APPLY_INVALID', 'scopes[0].anchors[0]'],
    ['a revoked key ID is false', { revoked: { keys: [{ id: false }] } }, 'APPLY_INVALID', 'revoked.keys[0]'],
    ['a revoked digest is an object', { revoked: { signatures: [{ digest: {} }] } }, 'APPLY_INVALID', 'revoked.signatures[0]'],
    ['a revoked serial is a number', { revoked: { certificates: [{ issuer: `sha256:${'a'.repeat(64)}`, serial: 20 }] } }, 'APPLY_INVALID', 'revoked.certificates[0]'],
    ['a revocation is null', { revoked: { keys: [null] } }, 'APPLY_INVALID', 'revoked.keys[0]'],
  ];
  for (const [what, file, code, path] of cases) {
    it(`refuses a file where ${what} with ${code}, storing nothing`, async () => {
      const before = await dumpStore(instance.store);
      const r = await refusal(() => instance.service.apply(file as never));
      expect(r.code).toBe(code);
      if (path) expect((r.details as { path: string }[]).map((d) => d.path)).toContain(path);
      expect(await dumpStore(instance.store)).toEqual(before);
    });
  }
});

describe('anchor material that is neither text nor bytes', () => {
  it('is refused with ANCHOR_INVALID', async () => {
    for (const material of [5, {}, [], true]) {
      expect((await refusal(() => buildAnchor({ scope: 'registry.acme.io', publicKey: material as never }, new Date()))).code).toBe('ANCHOR_INVALID');
      expect((await refusal(() => buildAnchor({ scope: 'registry.acme.io', certificate: material as never }, new Date()))).code).toBe('ANCHOR_INVALID');
    }
  });
});

describe('a NUL character in a scope of an admin route (found by test/fuzz/admin-api.fuzz.test.ts on PostgreSQL, whose text cannot hold U+0000)', () => {
  it('is refused with a 4xx and a code, storing nothing', async () => {
    const { api } = appApi(instance, token);
    const before = await dumpStore(instance.store);
    for (const [method, path] of [
      ['POST', '/scopes/%00/anchors'],
      ['DELETE', `/scopes/%00/blocks/${encodeURIComponent(`pgp:${'a'.repeat(40)}`)}`],
      ['GET', '/scopes/%00'],
    ] as const) {
      const res = await api(method, path, method === 'POST' ? { publicKey: 'x', name: 'n' } : undefined);
      expect(res.status, `${method} ${path}`).toBeGreaterThanOrEqual(400);
      expect(res.status, `${method} ${path}`).toBeLessThan(500);
      expect(res.body.code, `${method} ${path}`).toMatch(/^[A-Z_]+$/);
    }
    expect(await dumpStore(instance.store)).toEqual(before);
  });
});
