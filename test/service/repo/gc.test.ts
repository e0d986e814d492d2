import { afterAll, describe, expect, it } from 'vitest';
import { openInstance } from '../../../service/instance.js';
import { GC_GRACE_MS } from '../../../service/repo/publisher.js';
import { cleanupTempDirs, newDataDir } from '../../support/service.js';
import { sqlCount } from '../../support/store.js';

afterAll(cleanupTempDirs);

describe('when versions have been superseded for longer than the grace period', () => {
  it('drops old metadata and target versions but keeps the current ones and every root', async () => {
    let now = new Date();
    const { dataDir } = await newDataDir();
    const instance = await openInstance({ dataDir, clock: () => now });
    try {
      await instance.service.createScope({ scope: 'registry.acme.io' });
      for (const level of ['audit', 'permissive', 'strict'] as const) {
        now = new Date(now.getTime() + 10 * 60 * 1000);
        await instance.service.createScope({ scope: `registry.acme.io/${level}`, level });
      }
      const count = (sql: string) => sqlCount(instance.store, sql);
      const timestampsBefore = await count(`SELECT COUNT(*) AS n FROM tuf_metadata WHERE role = 'timestamp'`);
      const indexBefore = await count(`SELECT COUNT(*) AS n FROM tuf_targets WHERE path LIKE 'index/%'`);
      expect(timestampsBefore).toBeGreaterThan(3);
      expect(indexBefore).toBeGreaterThan(3);

      // Past the grace period, the next publish collects what was superseded long enough ago.
      now = new Date(now.getTime() + GC_GRACE_MS + 10 * 60 * 1000);
      await instance.service.createScope({ scope: 'registry.acme.io/late' });

      expect(await count(`SELECT COUNT(*) AS n FROM tuf_metadata WHERE role = 'timestamp'`)).toBeLessThan(timestampsBefore);
      expect(await count(`SELECT COUNT(*) AS n FROM tuf_targets WHERE path LIKE 'index/%'`)).toBeLessThan(indexBefore);
      expect(await count(`SELECT COUNT(*) AS n FROM tuf_metadata WHERE role = 'root'`)).toBe(1);
      // Everything the current snapshot names is still there.
      const latestTs = (await instance.store.latestMetadata('timestamp'))!;
      const snapshotVersion = JSON.parse(latestTs.bytes.toString()).signed.meta['snapshot.json'].version;
      const snapshot = (await instance.store.getMetadata('snapshot', snapshotVersion))!;
      for (const [file, meta] of Object.entries(JSON.parse(snapshot.bytes.toString()).signed.meta) as [string, { version: number }][]) {
        expect(await instance.store.getMetadata(file.replace(/\.json$/, ''), meta.version), file).not.toBeNull();
      }
      // A version superseded only moments ago survives (a client may be mid-update).
      const previousTs = await instance.store.getMetadata('timestamp', latestTs.version - 1);
      expect(previousTs).not.toBeNull();
    } finally {
      await instance.close();
    }
  });
});
