/**
 * A lone `tenant add` never fails with CONFLICT because something else published (docs-run saw
 * "timestamp moved from 26 to 28 during publish"): `keyshare bundle export` commits a version of
 * its own on the same database, in another process, which the service notices only at its next
 * check (Publisher.checkExternalWrites, every 2 s). The tenant publish builds on the stored state,
 * and builds again when another process's publish lands between its read and its commit.
 */
import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { exportBundle } from '../../service/federation/bundle/export.js';
import { cleanupTempDirs, scopePath, startTestService, tempDir, type TestService } from '../support/service.js';

vi.setConfig({ testTimeout: 120_000 });

let svc: TestService;
let dir: string;
let exports = 0;

/** A publish by another process: exportBundle opens its own connection, as `keyshare bundle export` does. */
async function exportElsewhere(): Promise<void> {
  await exportBundle({ dataDir: svc.dataDir, out: join(dir, `${exports++}.tar`) });
}

const stored = async () => (await svc.instance.store.latestMetadata('timestamp'))!.version;
const served = () => svc.instance.publisher.latestMetadata('timestamp')!.version;

async function addTenant(name: string, scope: string) {
  return svc.api('POST', '/tenants', { name, scopes: [scope] });
}

beforeEach(async () => {
  svc = await startTestService();
  // No background check: the service must not rely on having noticed the other process's publish.
  svc.instance.publisher.stop();
  dir = tempDir('keyshare-tenant-race-');
  for (const scope of ['registry.acme.io/team-a/app', 'registry.other.io']) expect((await svc.api('POST', '/scopes', { scope })).status).toBe(201);
  const pem = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
  expect((await svc.api('POST', `${scopePath('registry.acme.io/team-a/app')}/anchors`, { publicKey: pem, name: 'app' })).status).toBe(201);
  await svc.instance.publisher.flush();
});
afterEach(async () => {
  await svc?.close();
});
afterAll(() => cleanupTempDirs());

describe('tenant add while another process publishes', () => {
  it('builds on versions another process published since the service last loaded', async () => {
    const before = served();
    // An export commits two timestamp versions (the bundle's and the live one): "moved from 26 to 28".
    await exportElsewhere();
    await exportElsewhere();
    const elsewhere = await stored();
    expect(elsewhere).toBe(before + 4);
    expect(served()).toBe(before); // the service has not noticed yet

    const r = await addTenant('team-a', 'registry.acme.io/team-a');
    expect(r.body, JSON.stringify(r.body)).not.toHaveProperty('code');
    expect(r.status).toBe(201);
    expect(r.body.tenant.published).toBe(true);
    expect(r.body.published.timestampVersion).toBe(elsewhere + 1);
    expect(await stored()).toBe(elsewhere + 1);
  });

  it('builds again when another process publishes between its read and its commit', async () => {
    const before = served();
    // The other process's publish lands after the tenant's metadata is built, just before its commit.
    const store = svc.instance.store;
    const transaction = store.transaction.bind(store);
    let raced = 0;
    const spy = vi.spyOn(store, 'transaction').mockImplementation(async (fn) => {
      if (raced === 0) {
        raced++;
        await exportElsewhere();
      }
      return transaction(fn);
    });
    try {
      const r = await addTenant('team-a', 'registry.acme.io/team-a');
      expect(raced).toBe(1);
      expect(r.body, JSON.stringify(r.body)).not.toHaveProperty('code');
      expect(r.status).toBe(201);
      expect(r.body.published.timestampVersion).toBe(before + 3);
    } finally {
      spy.mockRestore();
    }
    // One definition, one delegation.
    const tenants = (await svc.api('GET', '/tenants')).body.tenants;
    expect(tenants.map((t: { name: string; published: boolean }) => [t.name, t.published])).toEqual([['team-a', true]]);
    const targets = JSON.parse(svc.instance.publisher.latestMetadata('targets')!.bytes.toString('utf8'));
    expect(targets.signed.delegations.roles.filter((x: { name: string }) => x.name === 'tenant-team-a')).toHaveLength(1);
  });

  it('serialises with this process\'s own background publishes', async () => {
    const before = served();
    const pem = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect((await svc.api('POST', `${scopePath('registry.other.io')}/anchors`, { publicKey: pem, name: 'other' })).status).toBe(201);
    // A publish (as the CRL timer or a revocation starts one) in flight when the tenant is added.
    const background = svc.instance.publisher.notify();
    const r = await addTenant('team-a', 'registry.acme.io/team-a');
    await background;
    expect(r.body, JSON.stringify(r.body)).not.toHaveProperty('code');
    expect(r.status).toBe(201);
    await svc.instance.publisher.flush();
    expect(await stored()).toBeGreaterThanOrEqual(before + 2);
  });

  it('removes a tenant on versions another process published', async () => {
    expect((await addTenant('team-a', 'registry.acme.io/team-a')).status).toBe(201);
    await exportElsewhere();
    const r = await svc.api('DELETE', '/tenants/team-a');
    expect(r.body, JSON.stringify(r.body)).not.toHaveProperty('code');
    expect(r.status).toBe(200);
  });
});
