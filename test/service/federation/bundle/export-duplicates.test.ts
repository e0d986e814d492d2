/**
 * Regression: `bundle export` once wrote a target twice when two targets roles listed it (same
 * path, same digest), and the import refused the bundle ("appears twice in the bundle"). A
 * consistent-snapshot target file is named by its digest, so the archive holds it once.
 * The state is made as a publish would leave it mid-move: the top-level targets role lists a
 * trust file that its hashed bin lists too (valid TUF: the first role in delegation order wins).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MetaFile, Metadata, MetadataKind, Targets, TargetFile } from '@tufjs/models';
import * as tar from 'tar';
import { afterAll, describe, expect, it } from 'vitest';
import { readFixtureText } from '../../../../fixtures/index.js';
import { openInstance } from '../../../../service/instance.js';
import { loadSignersForRoot } from '../../../../service/repo/online-keys.js';
import { expiresAt, parseMetadata } from '../../../../service/repo/tuf.js';
import { signSnapshotAndTimestamp, signedRecord } from '../../../../service/repo/writer.js';
import { exportBundle } from '../../../../service/federation/bundle/export.js';
import { importBundle } from '../../../support/federation.js';
import { cleanupTempDirs, newDataDir, tempDir } from '../../../support/service.js';

afterAll(cleanupTempDirs);

describe('when two targets roles list the same trust file', () => {
  it('exports it once, and the bundle imports', async () => {
    const { dataDir } = await newDataDir();
    const inst = await openInstance({ dataDir });
    try {
      await inst.service.apply({ scopes: [{ scope: 'registry.acme.io', anchors: [{ publicKey: readFixtureText('keys/ec-p256.pub.pem') }] }] } as never);
      await inst.publisher.flush();
      const store = inst.store;
      const latest = new Map((await store.latestMetadataAll()).map((r) => [r.role, r]));
      const snapshot = parseMetadata(MetadataKind.Snapshot, latest.get('snapshot')!.bytes).signed;
      // The bin that lists the scope's trust file, and that entry.
      let listed: TargetFile | undefined;
      for (const file of Object.keys(snapshot.meta)) {
        const role = file.replace(/\.json$/, '');
        const rec = latest.get(role) ?? (await store.getMetadata(role, snapshot.meta[file]!.version));
        const t = parseMetadata(MetadataKind.Targets, rec!.bytes).signed.targets['trust/registry.acme.io.json'];
        if (t && role !== 'targets') listed = t;
      }
      expect(listed).toBeDefined();
      // The top-level targets role lists it too, as a new version; snapshot and timestamp follow.
      const root = parseMetadata(MetadataKind.Root, latest.get('root')!.bytes).signed;
      const signers = loadSignersForRoot(dataDir, root);
      const targetsRec = latest.get('targets')!;
      const signed = (JSON.parse(targetsRec.bytes.toString('utf8')) as { signed: Record<string, any> }).signed;
      signed.targets = { ...signed.targets, [listed!.path]: listed!.toJSON() };
      const next = await signedRecord('targets', new Metadata(Targets.fromJSON({ ...signed, version: targetsRec.version + 1 } as never)), signers.targets);
      const meta = Object.fromEntries(Object.entries(snapshot.meta).map(([f, m]) => [f, new MetaFile({ version: f === 'targets.json' ? next.version : m.version })]));
      const tv = latest.get('timestamp')!.version;
      const now = new Date();
      const pair = await signSnapshotAndTimestamp({ signers, meta, snapshotVersion: snapshot.version + 1, timestampVersion: tv + 1, snapshotExpires: expiresAt(now, 86_400), timestampExpires: expiresAt(now, 86_400) });
      await store.commitPublish({ upToSeq: 0, docs: [], targets: [], metadata: [next, ...pair], publishedAt: now.toISOString(), baseTimestampVersion: tv });
    } finally {
      await inst.close();
    }

    const out = join(tempDir('keyshare-dup-'), 'b.tar');
    await exportBundle({ dataDir, out });
    const names: string[] = [];
    await tar.t({ file: out, onReadEntry: (e) => void names.push(e.path) });
    const trustFiles = names.filter((n) => /^tuf\/targets\/trust\/[0-9a-f]{64}\.registry\.acme\.io\.json$/.test(n));
    expect(trustFiles).toHaveLength(1);
    expect(new Set(names).size).toBe(names.length);

    const site = await newDataDir();
    const r = await importBundle({ dataDir: site.dataDir, file: out, root: readFileSync(join(dataDir, 'root.json')) });
    expect(r.scopes.created).toContain('registry.acme.io');
  });
});
