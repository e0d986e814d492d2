/** The audit digests: trustStateDigest, fed to the hash piece by piece (bench B4), is digestOf the whole state. */
import { describe, expect, it } from 'vitest';
import { readFixtureText } from '../../../fixtures/index.js';
import { digestOf, digestOfFields, trustStateDigest } from '../../../service/audit/digest.js';
import { buildAnchor } from '../../../service/domain/anchor.js';
import { SqliteStore } from '../../../service/store/index.js';

const NOW = new Date('2026-01-01T00:00:00Z');

describe('the digest of a state read piece by piece', () => {
  it('is the digest of its canonical JSON, whatever the values (escapes, nesting, empty lists)', () => {
    const fields = { z: [{ b: 'quo"te', a: 'back\\slash' }, 'ü', null, true, 7], a: [], m: { y: [1, [2, { x: '' }]], b: false }, s: 'plain' };
    expect(digestOfFields(fields)).toBe(digestOf(fields));
    expect(digestOfFields({})).toBe(digestOf({}));
    expect(digestOfFields({ list: [{ 'k"\\ey': 'tab\tnew\nline', n: -3 }], o: { '': '' } })).toBe(digestOf({ list: [{ 'k"\\ey': 'tab\tnew\nline', n: -3 }], o: { '': '' } }));
    // What canonical JSON cannot encode is refused, as before.
    expect(() => digestOfFields({ x: [1.5] })).toThrow();
    expect(() => digestOf({ x: [1.5] })).toThrow();
  });

  it('gives trustStateDigest its former value: digestOf scopes, anchors (material digested) and revocations', async () => {
    const store = SqliteStore.memory();
    try {
      const key = readFixtureText('keys/ed25519.pub.pem');
      for (const scope of ['a.acme.io', 'b.acme.io/team', '*']) {
        await store.createScope({ scope, inherit: scope !== 'a.acme.io', level: scope === '*' ? 'audit' : null }, NOW);
        await store.addAnchor(await buildAnchor({ scope, publicKey: key, name: `ci "${scope}"` }, NOW), NOW);
      }
      await store.addRevocation({ kind: 'key', id: `sha256:${'ab'.repeat(32)}`, reason: 'keyCompromise', scope: null, revokedAt: '2026-01-01T00:00:00Z' });
      const expected = digestOf({
        scopes: (await store.listScopes()).map((s) => ({ scope: s.scope, inherit: s.inherit, level: s.level, source: s.source ?? null })),
        anchors: (await store.listAnchors()).map((a) => ({ scope: a.scope, id: a.id, name: a.name, type: a.type, trustedIdentities: a.trustedIdentities ?? null, material: digestOf(a.material), source: a.source ?? null })),
        revoked: await store.listRevocations(),
      });
      expect(await trustStateDigest(store)).toBe(expected);
    } finally {
      store.close();
    }
  });
});
