/**
 * TrustDocuments.recompute (service/repo/trust-docs.ts) reads a large recompute in batches (bench
 * B9): the anchors of the scopes documents inherit from once, each batch's own anchors and
 * previous records with the batch. Over several batches, a parent change must give every child
 * serializeJson(stampTrust(effectiveTrust(...))) of the stored state, own anchors included, with
 * its next version; and a recompute of an unchanged state publishes nothing.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { readFixtureText } from '../../../fixtures/index.js';
import { buildAnchor } from '../../../service/domain/anchor.js';
import { ancestorCandidates, trustTargetPath } from '../../../service/domain/scope.js';
import { effectiveTrust, serializeJson, stampTrust } from '../../../service/domain/trust.js';
import type { AnchorRecord } from '../../../service/domain/types.js';
import { tsaSignersOf } from '../../../service/ca/tsa.js';
import { openInstance } from '../../../service/instance.js';
import { TrustDocuments } from '../../../service/repo/trust-docs.js';
import { cleanupTempDirs, newDataDir } from '../../support/service.js';
import { ON_POSTGRES } from '../../support/database.js';

afterAll(() => cleanupTempDirs());

const PARENT = '*.batch.example';
const CHILDREN = 4500;

describe('a recompute of more documents than one batch', () => {
  it('writes every child of a parent change from the stored state, own anchors included', async () => {
    const { dataDir } = await newDataDir();
    const instance = await openInstance({ dataDir });
    try {
      const now = new Date();
      await instance.store.transaction(async () => {
        await instance.store.createScope({ scope: PARENT, inherit: true, level: 'audit' }, now);
        for (let i = 0; i < CHILDREN; i++) {
          const scope = `c${i}.batch.example`;
          await instance.store.createScope({ scope, inherit: i % 11 !== 0, level: null }, now);
          // Every 7th child has an anchor of its own; some carry the key the parent gets below (own wins).
          if (i % 7 === 0) await instance.store.addAnchor(await buildAnchor({ scope, publicKey: readFixtureText(i % 3 ? 'keys/ec-p256.pub.pem' : 'keys/ed25519.pub.pem') }, now), now);
        }
      });
      await instance.publisher.flush();
      await instance.store.addAnchor(await buildAnchor({ scope: PARENT, publicKey: readFixtureText('keys/ed25519.pub.pem') }, now), now);
      const before = new Map((await instance.store.listTrustDocs()).map((d) => [d.scope, d.version]));

      const docs = new TrustDocuments(instance.store);
      const { docs: changed, targetChanges } = await docs.recompute([PARENT], now);
      // The parent and every child that inherits; not a --no-inherit child, nor one whose own anchor has the parent's new key (own wins).
      const inheriting = Array.from({ length: CHILDREN }, (_, i) => i).filter((i) => i % 11 !== 0 && !(i % 7 === 0 && i % 3 === 0));
      expect(changed.map((d) => d.scope).sort()).toEqual([PARENT, ...inheriting.map((i) => `c${i}.batch.example`)].sort());

      const all = await instance.store.listAnchors();
      const anchorsByScope = new Map<string, AnchorRecord[]>();
      for (const a of all) anchorsByScope.set(a.scope, [...(anchorsByScope.get(a.scope) ?? []), a]);
      const scopes = new Map((await instance.store.listScopes()).map((s) => [s.scope, s]));
      const inputs = { anchorsByScope, revocations: await instance.store.listRevocations(), crlIssuers: new Set<string>(), tsaSigners: await tsaSignersOf(instance.store) };
      for (const d of changed) {
        const scope = scopes.get(d.scope)!;
        const ancestors = ancestorCandidates(d.scope).flatMap((c) => scopes.get(c) ?? []);
        const expected = serializeJson(stampTrust(effectiveTrust({ ...inputs, scope, ancestors }), d.version, d.issuedAt));
        expect([d.scope, targetChanges.get(trustTargetPath(d.scope))!.toString('utf8')]).toEqual([d.scope, expected]);
        expect(d.version).toBe(before.get(d.scope)! + 1);
      }
      // Own anchors across the batches: a child with its own key lists it next to the parent's (or instead of it: same ID).
      const own = JSON.parse(targetChanges.get(trustTargetPath('c14.batch.example'))!.toString('utf8'));
      expect(own.anchors.map((a: { definedAt: string }) => a.definedAt).sort()).toEqual([PARENT, 'c14.batch.example']);

      // Published, the same state recomputes to nothing.
      await instance.publisher.flush();
      expect((await new TrustDocuments(instance.store).recompute([PARENT], now)).docs).toEqual([]);
    } finally {
      await instance.close();
    }
  }, { timeout: ON_POSTGRES ? 300_000 : 60_000 });
});
