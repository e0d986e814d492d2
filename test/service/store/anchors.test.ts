/** The store's anchor queries at publisher scale. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readFixtureText } from '../../../fixtures/index.js';
import { buildAnchor } from '../../../service/domain/anchor.js';
import { SqliteStore } from '../../../service/store/index.js';

const NOW = new Date('2026-01-01T00:00:00Z');
let store: SqliteStore;

beforeEach(() => {
  store = SqliteStore.memory();
});
afterEach(() => store.close());

describe('when the anchors of more scopes than SQLite binds in one statement are listed', () => {
  it('lists them (a publish after a global revocation asks for every scope)', async () => {
    // SQLite refuses more than 32766 bound variables in one statement.
    const scopes = Array.from({ length: 40_000 }, (_, i) => `r${i}.acme.io`);
    await store.transaction(async () => {
      for (const scope of [scopes[0]!, scopes[39_999]!]) await store.createScope({ scope, inherit: true, level: null }, NOW);
    });
    for (const scope of [scopes[0]!, scopes[39_999]!]) {
      await store.addAnchor(await buildAnchor({ scope, publicKey: readFixtureText('keys/ed25519.pub.pem') }, NOW), NOW);
    }
    const anchors = await store.listAnchors(scopes);
    expect(anchors.map((a) => a.scope)).toEqual([scopes[0], scopes[39_999]]);
  });

  it('lists nothing for no scopes, and everything without a filter', async () => {
    await store.createScope({ scope: 'a.acme.io', inherit: true, level: null }, NOW);
    await store.addAnchor(await buildAnchor({ scope: 'a.acme.io', publicKey: readFixtureText('keys/ed25519.pub.pem') }, NOW), NOW);
    expect(await store.listAnchors([])).toEqual([]);
    expect(await store.listAnchors()).toHaveLength(1);
  });
});

describe('when every anchor and every scope are listed (a plain statement, bench B4)', () => {
  it('gives the same records, in the same order, as the filtered query and getScope', async () => {
    // Scopes where one is a prefix of another: byScopeAndId orders by scope + id.
    const scopes = ['a.acme.io', 'a.acme.io/x', 'a.acme.io/x/y', 'b.acme.io', '*', '*.acme.io'];
    for (const [i, scope] of scopes.entries()) {
      await store.createScope({ scope, inherit: i % 2 === 0, level: i === 1 ? 'strict' : null }, NOW);
      await store.addAnchor(await buildAnchor({ scope, publicKey: readFixtureText('keys/ed25519.pub.pem') }, NOW), NOW);
      await store.addAnchor(await buildAnchor({ scope, certificate: readFixtureText('certs/root-ca.pem'), trustedIdentities: i % 2 ? ['x509.subject: CN=a'] : undefined }, NOW), NOW);
    }
    const all = await store.listAnchors();
    expect(all).toHaveLength(12);
    expect(all).toEqual(await store.listAnchors(scopes));
    expect(all.some((a) => a.trustedIdentities?.[0] === 'x509.subject: CN=a')).toBe(true);
    expect(await store.listScopes()).toEqual(await Promise.all([...scopes].sort().map((s) => store.getScope(s))));
  });
});
