/**
 * Crash safety of a key rotation: the publisher picks its online signers by the key IDs of the
 * published root, so a crash after root N+1 is committed and before keys/{role}.next.pem is
 * renamed still signs with the key root N+1 names.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MetadataKind } from '@tufjs/models';
import { FileSigner } from '../../../service/crypto/signer.js';
import { openInstance } from '../../../service/instance.js';
import { proposeRoot, signRootProposal, addRootSignatures } from '../../../service/repo/ceremony.js';
import { loadSignersForRoot, nextKeyPath, stageNextKey } from '../../../service/repo/online-keys.js';
import { metadataBytes, parseMetadata } from '../../../service/repo/tuf.js';
import { exportBundle } from '../../../service/federation/bundle/export.js';
import { initTestDataDir, removeScratchDirs } from '../../support/tuf-client.js';

afterAll(() => removeScratchDirs());

describe('when the service stops between publishing root v2 and renaming the new key file', () => {
  it('signs with the key root v2 names after a restart, and with the old one before it', async () => {
    const dataDir = await initTestDataDir();
    const rootKey = new FileSigner(readFileSync(join(dataDir, 'keys', 'root-1.pem'), 'utf8'));
    const oldTimestamp = new FileSigner(readFileSync(join(dataDir, 'keys', 'timestamp.pem'), 'utf8'));

    let instance = await openInstance({ dataDir });
    const next = stageNextKey(dataDir, 'timestamp');
    // Staged only: root v1 is in force, the old key keeps signing.
    await instance.service.createScope({ scope: 'a.example' });
    await instance.publisher.flush();
    const ts1 = JSON.parse(instance.publisher.latestMetadata('timestamp')!.bytes.toString());
    expect(ts1.signatures.map((s: { keyid: string }) => s.keyid)).toEqual([oldTimestamp.keyid]);

    const v1 = parseMetadata(MetadataKind.Root, (await instance.store.latestMetadata('root'))!.bytes).signed;
    const staged = proposeRoot(v1, { online: { timestamp: next.publicKey }, lifetimeSeconds: 86_400 }, new Date());
    const signed = addRootSignatures(v1, staged, await signRootProposal(staged, [rootKey]));
    await instance.publisher.publishRoot(
      { role: 'root', version: 2, bytes: metadataBytes(signed), expires: signed.signed.expires },
      loadSignersForRoot(dataDir, signed.signed),
    );
    await instance.close(); // "crash": no rename of timestamp.next.pem, no new root.json
    expect(existsSync(nextKeyPath(dataDir, 'timestamp'))).toBe(true);

    expect(JSON.parse(readFileSync(join(dataDir, 'root.json'), 'utf8')).signed.version).toBe(1);

    instance = await openInstance({ dataDir });
    try {
      // <data>/root.json is repaired to the published root.
      expect(JSON.parse(readFileSync(join(dataDir, 'root.json'), 'utf8')).signed.version).toBe(2);
      await instance.service.createScope({ scope: 'b.example' });
      await instance.publisher.flush();
      const ts = JSON.parse(instance.publisher.latestMetadata('timestamp')!.bytes.toString());
      expect(ts.signatures.map((s: { keyid: string }) => s.keyid)).toEqual([next.keyid]);
    } finally {
      await instance.close();
    }
  });
});

describe('when another process published since the service last loaded', () => {
  it('publishes root v2 on the stored versions, as tenant add does', async () => {
    const dataDir = await initTestDataDir();
    const rootKey = new FileSigner(readFileSync(join(dataDir, 'keys', 'root-1.pem'), 'utf8'));
    const instance = await openInstance({ dataDir });
    try {
      // No background check: the publisher must not rely on having noticed the other publish.
      instance.publisher.stop();
      await instance.service.createScope({ scope: 'a.example' });
      await instance.publisher.flush();
      const served = instance.publisher.latestMetadata('timestamp')!.version;
      // `keyshare bundle export` commits versions of its own, on its own connection.
      await exportBundle({ dataDir, out: join(dataDir, 'elsewhere.tar') });
      const stored = (await instance.store.latestMetadata('timestamp'))!.version;
      expect(stored).toBeGreaterThan(served);
      expect(instance.publisher.latestMetadata('timestamp')!.version).toBe(served);

      const next = stageNextKey(dataDir, 'timestamp');
      const v1 = parseMetadata(MetadataKind.Root, (await instance.store.latestMetadata('root'))!.bytes).signed;
      const staged = proposeRoot(v1, { online: { timestamp: next.publicKey }, lifetimeSeconds: 86_400 }, new Date());
      const signed = addRootSignatures(v1, staged, await signRootProposal(staged, [rootKey]));
      const result = await instance.publisher.publishRoot(
        { role: 'root', version: 2, bytes: metadataBytes(signed), expires: signed.signed.expires },
        loadSignersForRoot(dataDir, signed.signed),
      );
      expect(result.timestampVersion).toBe(stored + 1);
      expect((await instance.store.latestMetadata('root'))!.version).toBe(2);
      expect((await instance.store.latestMetadata('timestamp'))!.version).toBe(stored + 1);
    } finally {
      await instance.close();
    }
  });
});
