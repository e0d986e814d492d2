/**
 * Determinism (issue 2, "Domain"): the same state gives the same trust document bytes, whatever
 * order the state was built or read in.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { readFixtureText } from '../../../fixtures/index.js';
import { buildAnchor } from '../../../service/domain/anchor.js';
import { effectiveTrust, serializeJson, stampTrust, type TrustInputs } from '../../../service/domain/trust.js';
import { TrustBytesWriter } from '../../../service/repo/trust-bytes.js';
import { sha256Hex } from '../../../service/crypto/encoding.js';
import type { AnchorRecord, Revocations, ScopeRecord } from '../../../service/domain/types.js';
import { openInstance } from '../../../service/instance.js';
import { appApi, cleanupTempDirs, newDataDir } from '../../support/service.js';

const NOW = new Date('2026-01-01T00:00:00Z');

/** A seeded shuffle (mulberry32), so a failure can be replayed. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  let s = seed >>> 0;
  const rand = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe('when the same state is read in different orders', () => {
  const scopes: ScopeRecord[] = [
    { scope: '*', inherit: true, level: 'audit' },
    { scope: '*.acme.io', inherit: true, level: null },
    { scope: 'registry.acme.io', inherit: true, level: null },
    { scope: 'registry.acme.io/team-a', inherit: true, level: null },
    { scope: 'registry.acme.io/team-a/app', inherit: true, level: 'strict' },
  ];
  const target = scopes[4]!;
  const ancestors = scopes.slice(0, 4);
  const revokedAt = '2026-01-01T00:00:00Z';
  const revocations: Revocations = {
    certificates: [
      { issuer: `sha256:${'aa'.repeat(32)}`, serial: '0b', revokedAt, reason: 'keyCompromise', scope: null },
      { issuer: `sha256:${'aa'.repeat(32)}`, serial: '0a', revokedAt, reason: 'superseded', scope: 'registry.acme.io' },
    ],
    keys: [
      // The same key revoked twice at the same time, for different reasons: one entry must win, always the same.
      { id: `sha256:${'bb'.repeat(32)}`, revokedAt, reason: 'keyCompromise', scope: null },
      { id: `sha256:${'bb'.repeat(32)}`, revokedAt, reason: 'superseded', scope: 'registry.acme.io' },
      { id: `sha256:${'cc'.repeat(32)}`, revokedAt: '2026-01-02T00:00:00Z', reason: 'unspecified', scope: 'other.acme.io' },
    ],
    signatures: [
      { digest: `sha256:${'dd'.repeat(32)}`, revokedAt, reason: 'unspecified', scope: null },
      { digest: `sha256:${'ee'.repeat(32)}`, revokedAt, reason: 'unspecified', scope: 'registry.acme.io/team-a' },
    ],
  };

  async function anchorsByScope(): Promise<Map<string, AnchorRecord[]>> {
    const at = async (scope: string, input: { certificate?: string; publicKey?: string; type?: 'tsa' }) => buildAnchor({ scope, ...input }, NOW);
    return new Map([
      ['*', [await at('*', { certificate: readFixtureText('certs/tsa-ca.pem'), type: 'tsa' })]],
      ['*.acme.io', [await at('*.acme.io', { publicKey: readFixtureText('keys/rsa-2048.pub.pem') })]],
      [
        'registry.acme.io',
        [
          await at('registry.acme.io', { certificate: readFixtureText('certs/root-ca.pem') }),
          await at('registry.acme.io', { publicKey: readFixtureText('keys/ec-p256.pub.pem') }),
          await at('registry.acme.io', { publicKey: readFixtureText('pgp/release.pub.asc') }),
        ],
      ],
      [
        'registry.acme.io/team-a',
        [
          await at('registry.acme.io/team-a', { publicKey: readFixtureText('keys/ed25519.pub.pem') }),
          // Defined again closer to the target: the most specific definition wins, whatever the order.
          await at('registry.acme.io/team-a', { publicKey: readFixtureText('keys/ec-p256.pub.pem') }),
        ],
      ],
    ]);
  }

  it('gives the same bytes for every order of scopes, anchors and revocations', async () => {
    const byScope = await anchorsByScope();
    const render = (inputs: TrustInputs) => serializeJson(stampTrust(effectiveTrust(inputs), 3, '2026-01-01T00:00:00Z'));
    const reference = render({ scope: target, ancestors, anchorsByScope: byScope, revocations, crlIssuers: new Set() });
    for (let seed = 1; seed <= 25; seed++) {
      const inputs: TrustInputs = {
        scope: target,
        ancestors: shuffled(ancestors, seed),
        anchorsByScope: new Map(shuffled([...byScope.entries()], seed).map(([k, v]) => [k, shuffled(v, seed + 100)])),
        revocations: {
          certificates: shuffled(revocations.certificates, seed + 1),
          keys: shuffled(revocations.keys, seed + 2),
          signatures: shuffled(revocations.signatures, seed + 3),
        },
        crlIssuers: new Set(),
      };
      expect(render(inputs), `seed ${seed}`).toBe(reference);
    }
    const doc = JSON.parse(reference);
    expect(doc.anchors.map((a: { id: string }) => a.id)).toEqual([...doc.anchors.map((a: { id: string }) => a.id)].sort());
    expect(doc.revoked.keys).toHaveLength(1);
  });

  it('writes the fields in the contract order', async () => {
    const content = effectiveTrust({ scope: target, ancestors, anchorsByScope: await anchorsByScope(), revocations, crlIssuers: new Set() });
    const doc = JSON.parse(serializeJson(stampTrust(content, 1, '2026-01-01T00:00:00Z')));
    expect(Object.keys(doc).slice(0, 5)).toEqual(['mediaType', 'scope', 'version', 'issuedAt', 'level']);
    expect(Object.keys(doc)).toEqual(expect.arrayContaining(['anchors', 'revoked', 'crls']));
  });

  it('stamps the serialised content into the same bytes as serialising the stamped document', async () => {
    const writer = new TrustBytesWriter();
    for (const scope of [target.scope, '*', 'a"b\\c\n', 'bücher.example/ü']) {
      const content = { ...effectiveTrust({ scope: target, ancestors, anchorsByScope: await anchorsByScope(), revocations, crlIssuers: new Set() }), scope };
      const text = serializeJson(content);
      const headEnd = text.indexOf(`"scope": ${JSON.stringify(scope)},\n`) + `"scope": ${JSON.stringify(scope)},\n`.length;
      expect(writer.digest(text.slice(0, headEnd), text.slice(headEnd))).toBe(sha256Hex(text));
      expect(writer.stamped(12, '2026-01-01T00:00:00Z').toString('utf8')).toBe(serializeJson(stampTrust(content, 12, '2026-01-01T00:00:00Z')));
    }
  });
});

describe('when two services reach the same state by different routes', () => {
  afterAll(() => cleanupTempDirs());

  const ROOT_CA = readFixtureText('certs/root-ca.pem');
  const EC_KEY = readFixtureText('keys/ec-p256.pub.pem');
  const PGP_KEY = readFixtureText('pgp/release.pub.asc');
  const ED_KEY = readFixtureText('keys/ed25519.pub.pem');
  const file = {
    scopes: [
      { scope: 'registry.acme.io', level: 'permissive', anchors: [{ certificate: ROOT_CA, name: 'acme-root' }, { publicKey: PGP_KEY, name: 'release' }] },
      { scope: 'registry.acme.io/team-a', anchors: [{ publicKey: EC_KEY, name: 'ci' }, { publicKey: ED_KEY, name: 'ed' }] },
      { scope: 'registry.acme.io/team-b', inherit: false, anchors: [{ publicKey: ED_KEY, name: 'ed' }] },
      { scope: '*', anchors: [] },
    ],
    revoked: { signatures: [{ digest: `sha256:${'ab'.repeat(32)}` }, { digest: `sha256:${'cd'.repeat(32)}`, scope: 'registry.acme.io' }] },
  };
  const reversed = {
    revoked: { signatures: [...file.revoked.signatures].reverse() },
    scopes: [...file.scopes].reverse().map((s) => ({ ...s, anchors: [...s.anchors].reverse() })),
  };

  /** Applies a file on a fresh data dir with a fixed clock; returns every published target's bytes. */
  async function publishedTargets(body: unknown): Promise<Map<string, string>> {
    const { dataDir, token } = await newDataDir({ clock: () => NOW });
    const instance = await openInstance({ dataDir, clock: () => NOW });
    try {
      const { api } = appApi(instance, token);
      const res = await api('POST', '/apply', body);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      await instance.publisher.flush();
      const out = new Map<string, string>();
      for (const path of ['index.json', ...(await instance.store.listTrustDocs()).map((d) => (d.scope === '*' ? 'trust/_default.json' : `trust/${d.scope}.json`))]) {
        const { app } = appApi(instance, token);
        const res = await app.request(`/tuf/targets/${path}`);
        expect(res.status, path).toBe(200);
        out.set(path, await res.text());
      }
      return out;
    } finally {
      await instance.close();
    }
  }

  it('publishes byte-identical trust documents and index.json', async () => {
    const a = await publishedTargets(file);
    const b = await publishedTargets(reversed);
    expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
    expect(a.size).toBe(5);
    for (const [path, bytes] of a) expect(b.get(path), path).toBe(bytes);
  });
});
