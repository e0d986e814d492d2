/**
 * Fuzzing declarative apply files (CONTRACT.md `apply`, TrustService.apply): files mixing valid
 * and invalid scopes, anchors and revocations, of any shape. Properties: applied, or refused
 * with a coded error (APPLY_INVALID naming the entries, or the shape's code) and nothing
 * stored; and an applied file applied again changes nothing.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFixtureText } from '../../fixtures/index.js';
import { LEVELS, REVOCATION_REASONS } from '../../service/domain/types.js';
import { openInstance, type Instance } from '../../service/instance.js';
import { cleanupTempDirs, newDataDir } from '../support/service.js';
import { dumpStore, mutatedText, outcome, runs } from './support.js';

let instance: Instance;

beforeAll(async () => {
  const { dataDir } = await newDataDir();
  instance = await openInstance({ dataDir });
});

afterAll(async () => {
  await instance?.close();
  cleanupTempDirs();
});

const junk = fc.oneof(fc.constant(null), fc.integer(), fc.string({ maxLength: 20 }), fc.boolean(), fc.constant([]), fc.constant({}), fc.object({ maxDepth: 1 }));
const orJunk = <T>(a: fc.Arbitrary<T>) => fc.oneof({ weight: 4, arbitrary: a }, { weight: 1, arbitrary: junk as fc.Arbitrary<unknown> });

const scopeName = fc.constantFrom('*', '*.acme.io', 'registry.acme.io', 'registry.acme.io/team-a', 'localhost:5000', 'Registry.acme.io', 'acme.io//x', '../etc', '');
const pem = [readFixtureText('keys/ec-p256.pub.pem'), readFixtureText('keys/ed25519.pub.pem'), readFixtureText('pgp/release.pub.asc')];
const certs = [readFixtureText('certs/root-ca.pem'), readFixtureText('certs/intermediate-ca.pem'), readFixtureText('certs/leaf.pem'), readFixtureText('certs/expired-ca.pem')];
const anchor = fc.record(
  {
    publicKey: orJunk(fc.oneof(fc.constantFrom(...pem), mutatedText(pem))),
    certificate: orJunk(fc.oneof(fc.constantFrom(...certs), mutatedText(certs))),
    name: orJunk(fc.string({ maxLength: 140 })),
    type: orJunk(fc.constantFrom('ca', 'signingAuthority', 'tsa', 'publicKey', 'pgp', 'nonsense')),
    trustedIdentities: orJunk(fc.array(fc.oneof(fc.constant('*'), fc.constant('x509.subject: CN=ci'), fc.string({ maxLength: 30 })), { maxLength: 3 })),
  },
  { requiredKeys: [] },
);
const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-fA-F]{${n}}$`));
const reason = orJunk(fc.constantFrom(...REVOCATION_REASONS, 'because'));
const revScope = orJunk(fc.oneof(scopeName, fc.constant(null)));
const revoked = fc.record(
  {
    certificates: orJunk(fc.array(fc.record({ issuer: orJunk(fc.oneof(hex(64).map((h) => `sha256:${h}`), fc.string())), serial: orJunk(fc.oneof(hex(4), fc.string({ maxLength: 50 }))), reason, scope: revScope }, { requiredKeys: [] }), { maxLength: 3 })),
    keys: orJunk(fc.array(fc.record({ id: orJunk(fc.oneof(hex(64).map((h) => `sha256:${h}`), hex(40).map((h) => `pgp:${h}`), fc.string())), reason, scope: revScope }, { requiredKeys: [] }), { maxLength: 3 })),
    signatures: orJunk(fc.array(fc.record({ digest: orJunk(fc.oneof(hex(64).map((h) => `sha256:${h}`), fc.string())), reason, scope: revScope }, { requiredKeys: [] }), { maxLength: 3 })),
  },
  { requiredKeys: [] },
);
const scopeEntry = fc.record(
  { scope: orJunk(scopeName), inherit: orJunk(fc.boolean()), level: orJunk(fc.constantFrom(...LEVELS, null, 'lenient')), anchors: orJunk(fc.array(anchor, { maxLength: 3 })) },
  { requiredKeys: [] },
);
const applyFile = fc.oneof(
  { weight: 6, arbitrary: fc.record({ scopes: orJunk(fc.array(orJunk(scopeEntry), { maxLength: 4 })), revoked: orJunk(revoked) }, { requiredKeys: [] }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);

describe('apply files', () => {
  it('applies a file idempotently, or refuses it with a code and stores nothing', async () => {
    const seen = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(applyFile, fc.boolean(), async (file, prune) => {
        const before = await dumpStore(instance.store);
        let summary: { changed: boolean } | undefined;
        const r = await outcome(async () => {
          summary = (await instance.service.apply(file as never, { prune })).summary;
        });
        seen.set(r, (seen.get(r) ?? 0) + 1);
        if (r !== 'ok') {
          expect(await dumpStore(instance.store), `refused with ${r}: nothing stored`).toEqual(before);
          return;
        }
        expect(summary).toBeDefined();
        // CONTRACT.md: applying the same file twice changes nothing.
        const again = await instance.service.apply(file as never, { prune });
        expect(again.summary.changed).toBe(false);
      }),
      runs(300),
    );
    // The generator reaches both sides: files that apply, and files refused.
    expect(seen.get('ok') ?? 0, JSON.stringify([...seen])).toBeGreaterThan(0);
    expect([...seen.keys()].filter((k) => k !== 'ok').length, JSON.stringify([...seen])).toBeGreaterThan(0);
  });
});
