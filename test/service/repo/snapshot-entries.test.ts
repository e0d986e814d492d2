/**
 * Bench B2 (issue 17): the snapshot is written from its entries' text (service/repo/snapshot-entries.ts),
 * not through @tufjs/models. The bytes must be the ones @tufjs/models writes and signs
 * (Ed25519 signatures are deterministic, so whole files compare), and tuf-js's models must
 * verify them.
 */
import { describe, expect, it } from 'vitest';
import { MetaFile, Metadata, MetadataKind, Snapshot } from '@tufjs/models';
import { FileSigner, generateSigningKeyPem } from '../../../service/crypto/signer.js';
import { SnapshotEntries } from '../../../service/repo/snapshot-entries.js';
import { SPEC_VERSION, metadataBytes, parseMetadata, signMetadata, tufKey } from '../../../service/repo/tuf.js';
import { signSnapshotAndTimestamp, sortedKeys, withVersions } from '../../../service/repo/writer.js';

const signer = new FileSigner(generateSigningKeyPem());
const expires = '2031-01-02T03:04:05Z';

/** The snapshot as @tufjs/models builds, signs and writes it. */
async function byModels(meta: Record<string, MetaFile>, version: number): Promise<Buffer> {
  const md = new Metadata(new Snapshot({ version, specVersion: SPEC_VERSION, expires, meta: sortedKeys(meta) }));
  await signMetadata(md, [signer]);
  return metadataBytes(md);
}

const meta: Record<string, MetaFile> = {
  'targets.json': new MetaFile({ version: 7 }),
  'trust.json': new MetaFile({ version: 3 }),
  ...Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`trust-${i.toString(16).padStart(3, '0')}.json`, new MetaFile({ version: 1 + (i % 5) })])),
  'tenant-acme.json': new MetaFile({ version: 2 }),
};

describe('a snapshot written from its entries', () => {
  it('has the bytes and signature that @tufjs/models gives, and verifies', async () => {
    const entries = SnapshotEntries.fromMeta(meta)!;
    const bytes = await entries.signed({ specVersion: SPEC_VERSION, version: 42, expires, signer });
    expect(bytes.toString()).toBe((await byModels(meta, 42)).toString());
    const parsed = parseMetadata(MetadataKind.Snapshot, bytes);
    const key = tufKey(signer.keyid, signer.publicKey);
    expect(() => key.verifySignature(parsed)).not.toThrow();
  });

  it('after changes (new versions and a new role) equals withVersions over the parsed meta', async () => {
    const changed = [
      { role: 'trust-0a0', version: 9 },
      { role: 'targets', version: 8 },
      { role: 'tenant-zeta-0', version: 1 },
      { role: 'a-first', version: 1 },
    ];
    const entries = SnapshotEntries.fromMeta(meta)!.with(changed)!;
    const want = withVersions(meta, changed.map((c) => ({ ...c, bytes: Buffer.alloc(0), expires })));
    expect((await entries.signed({ specVersion: SPEC_VERSION, version: 43, expires, signer })).toString()).toBe((await byModels(want, 43)).toString());
    expect(Object.keys(entries.toMeta())).toEqual(Object.keys(sortedKeys(want)));
  });

  it('is not used for entries it cannot write as @tufjs/models does (lengths, hashes, unusual names)', async () => {
    expect(SnapshotEntries.fromMeta({ ...meta, 'x.json': new MetaFile({ version: 1, length: 10, hashes: { sha256: 'ab' } }) })).toBeNull();
    expect(SnapshotEntries.fromMeta({ ...meta, 'a"b.json': new MetaFile({ version: 1 }) })).toBeNull();
    expect(SnapshotEntries.fromMeta(meta)!.with([{ role: 'é', version: 1 }])).toBeNull();
    // signSnapshotAndTimestamp then writes it through @tufjs/models, the same bytes as before.
    const odd = { ...meta, 'x.json': new MetaFile({ version: 1, length: 10, hashes: { sha256: 'ab' } }) };
    const [snapshot] = await signSnapshotAndTimestamp({ signers: { snapshot: signer, timestamp: signer }, meta: odd, snapshotVersion: 5, timestampVersion: 5, snapshotExpires: expires, timestampExpires: expires });
    expect(snapshot.bytes.toString()).toBe((await byModels(odd, 5)).toString());
  });

  it('signSnapshotAndTimestamp gives the same snapshot from a meta record and from its entries', async () => {
    const at = { signers: { snapshot: signer, timestamp: signer }, snapshotVersion: 6, timestampVersion: 9, snapshotExpires: expires, timestampExpires: expires };
    const [a, ta] = await signSnapshotAndTimestamp({ ...at, meta });
    const [b, tb] = await signSnapshotAndTimestamp({ ...at, meta: SnapshotEntries.fromMeta(meta)! });
    expect(a.bytes.equals(b.bytes)).toBe(true);
    expect(a.bytes.toString()).toBe((await byModels(meta, 6)).toString());
    expect(ta.bytes.equals(tb.bytes)).toBe(true);
  });
});
