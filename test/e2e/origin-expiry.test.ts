/**
 * Issue 24, row 3: an imported bundle's trust carries its origin's expiry. Past it, the site
 * flags the origin (`upstream ls`, `/readyz`, `keyshare_origin_expires_seconds`); past the grace
 * period it stops republishing the origin's scopes (fail closed) and says so loudly; a newer
 * bundle brings them back.
 */
import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFixtureText } from '../../fixtures/index.js';
import { openInstance, type Instance } from '../../service/instance.js';
import { ANY_ADDRESS } from '../../service/net/outbound.js';
import { exportBundle } from '../../service/federation/bundle/export.js';
import { federationClient, importBundle } from '../support/federation.js';
import { UpstreamManager } from '../../service/federation/upstream/manager.js';
import { appApi, cleanupTempDirs, newDataDir, tempDir } from '../support/service.js';

const DAY = 86_400_000;
const SCOPE = 'registry.origin.io';

describe('when an imported bundle expires', () => {
  let site: Instance;
  let originDir: string;
  let originName: string;
  let now: number;
  const errors: string[] = [];
  let manager: UpstreamManager;
  /** A bundle valid for `validForSeconds` from `ago` ms in the past (so that it expires soon after the import). */
  const exportFresh = async (validForSeconds: number, ago = 0) => {
    const out = join(tempDir(), `b-${Date.now()}.tar`);
    const r = await exportBundle({ dataDir: originDir, out, validForSeconds, clock: () => new Date(Date.now() - ago) });
    return { out, r };
  };

  beforeAll(async () => {
    ({ dataDir: originDir } = await newDataDir());
    const origin = await openInstance({ dataDir: originDir });
    try {
      await origin.service.createScope({ scope: SCOPE });
      await origin.service.addAnchor(SCOPE, { publicKey: readFixtureText('keys/ec-p256.pub.pem'), name: 'ci' });
      await origin.publisher.flush();
    } finally {
      await origin.close();
    }
    const { out, r } = await exportFresh(60, 55_000);
    originName = r.origin;
    const { dataDir } = await newDataDir();
    await importBundle({ dataDir, file: out, root: readFileSync(join(originDir, 'root.json')), tmpDir: tempDir() });
    site = await openInstance({ dataDir, outbound: ANY_ADDRESS });
    await site.publisher.flush();
    now = Date.now() - 55_000; // the manager's clock: when the bundle was made
    manager = new UpstreamManager(site, federationClient, { clock: () => new Date(now), originGraceSeconds: 7 * 86_400, onError: (e) => errors.push((e as Error).message) });
  }, 60_000);

  afterAll(async () => {
    await site?.close();
    cleanupTempDirs();
  });

  it('is valid and republished before its expiry', async () => {
    const [u] = await manager.list();
    expect(u).toMatchObject({ name: originName, expiry: 'valid' });
    expect(await site.store.getScope(SCOPE)).not.toBeNull();
  });

  it('past its expiry, is flagged in upstream ls, /readyz and the metric, and still republished within the grace', async () => {
    now += 2 * 60_000;
    expect(await manager.enforceOriginExpiry()).toEqual([]);
    const [u] = await manager.list();
    expect(u).toMatchObject({ expiry: 'expired' });
    expect(u!.expiresInSeconds).toBeLessThan(0);
    expect(await site.store.getScope(SCOPE)).not.toBeNull();
    const { app } = appApi(site, null);
    // /readyz and the metric read the real clock: the bundle was valid for 60 s.
    await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(u!.expires!) - Date.now() + 1000)));
    const ready = await (await app.request('/readyz')).json();
    expect(ready.origins).toEqual([{ name: originName, expires: u!.expires, withdrawn: false }]);
    const metrics = await (await app.request('/metrics')).text();
    expect(metrics).toMatch(new RegExp(`keyshare_origin_expires_seconds\\{origin="${originName}"\\} -\\d+`));
  }, 90_000);

  it('past the grace period, stops republishing its scopes (fail closed), loudly', async () => {
    now += 8 * DAY;
    expect(await manager.enforceOriginExpiry()).toEqual([originName]);
    expect(errors.join('\n')).toMatch(/^ORIGIN_EXPIRED: the trust of .* no longer republished/m);
    expect(await site.store.getScope(SCOPE)).toBeNull();
    const [u] = await manager.list();
    expect(u).toMatchObject({ expiry: 'withdrawn' });
    expect(u!.lastError).toMatch(/^ORIGIN_EXPIRED/);
    await site.publisher.flush();
    const index = JSON.stringify(await site.store.listScopes());
    expect(index).not.toContain(SCOPE);
    // Idempotent: nothing more to withdraw.
    expect(await manager.enforceOriginExpiry()).toEqual([]);
  });

  it('a newer bundle brings the trust back', async () => {
    const { out } = await exportFresh(30 * 86_400);
    await importBundle({ dataDir: site.dataDir, file: out, root: readFileSync(join(originDir, 'root.json')), tmpDir: tempDir() });
    expect(await site.store.getScope(SCOPE)).not.toBeNull();
    now = Date.now();
    const [u] = await manager.list();
    expect(u).toMatchObject({ expiry: 'valid', lastError: null });
  }, 60_000);
});
