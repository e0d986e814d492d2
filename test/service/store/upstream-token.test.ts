/**
 * Issue 16: an upstream's token is stored with its row (migrations sqlite 0006_upstream_token,
 * pg 0004_upstream_token), kept through every later write of the row, and left out of the
 * summaries. On the run's dialect (KEYSHARE_TEST_DATABASE=postgres: PostgreSQL).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Store, UpstreamRecord } from '../../../service/store/index.js';
import { freshStore } from '../../support/database.js';

let store: Store;
beforeEach(async () => {
  store = await freshStore();
});
afterEach(async () => store.close());

const row = (name: string, token?: string | null): UpstreamRecord => ({
  name,
  url: 'https://keyshare.hq.acme.io',
  mode: 'federate',
  scopes: null,
  root: Buffer.from('{}'),
  state: null,
  timestampVersion: null,
  lastSuccessAt: null,
  lastError: null,
  createdAt: '2026-01-01T00:00:00.000Z',
  ...(token === undefined ? {} : { token }),
});

describe("when an upstream's token is stored", () => {
  it('is read back, kept through status updates and rewrites of the row, and absent from summaries', async () => {
    await store.putUpstream(row('hq', 'ks_0123456789ab_secret'));
    await store.putUpstream(row('plain'));
    expect((await store.getUpstream('hq'))?.token).toBe('ks_0123456789ab_secret');
    expect((await store.getUpstream('plain'))?.token ?? null).toBeNull();

    await store.updateUpstreamStatus('hq', { lastError: 'DOWNLOAD_FAILED: x' });
    const fresh = (await store.getUpstream('hq'))!;
    await store.putUpstream({ ...fresh, state: { withdrawnAt: '2026-01-02T00:00:00.000Z' }, timestampVersion: 7 });
    const listed = (await store.listUpstreams()).find((u) => u.name === 'hq');
    expect(listed).toMatchObject({ token: 'ks_0123456789ab_secret', timestampVersion: 7, lastError: 'DOWNLOAD_FAILED: x' });

    expect(JSON.stringify(await store.upstreamSummaries())).not.toContain('secret');
  });
});
