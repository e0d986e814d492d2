/**
 * Issue 19, `serve --sigstore-scope`: the publisher keeps the top-level target trusted_root.json
 * in step with the scope's published trust document (service/repo/sigstore-root.ts), re-signs
 * targets only when its bytes change, and removes it when the setting goes away.
 */
import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { readFixtureText } from '../../../fixtures/index.js';
import { openInstance, type Instance } from '../../../service/instance.js';
import { GC_GRACE_MS } from '../../../service/repo/publisher.js';
import { SIGSTORE_TRUSTED_ROOT_TARGET, type SigstoreRootSource } from '../../../service/repo/sigstore-root.js';
import { trustedRootBytes } from '../../../sync/formats/sigstore.js';
import { appApi, cleanupTempDirs, newDataDir, scopePath } from '../../support/service.js';

afterAll(cleanupTempDirs);

const SCOPE = 'registry.acme.io/team-a';
const source = (scope: string | null): SigstoreRootSource => ({ scope, build: trustedRootBytes() });

/** trusted_root.json as served (top-level targets, then the stored file), or null. */
async function servedRoot(instance: Instance): Promise<{ bytes: Buffer; json: { certificateAuthorities: unknown[] } } | null> {
  const targets = JSON.parse(instance.publisher.latestMetadata('targets')!.bytes.toString('utf8')).signed.targets;
  const info = targets[SIGSTORE_TRUSTED_ROOT_TARGET] as { length: number; hashes: { sha256: string } } | undefined;
  if (!info) return null;
  const stored = await instance.store.getTarget(info.hashes.sha256, SIGSTORE_TRUSTED_ROOT_TARGET);
  expect(stored, 'the target file of the served trusted_root.json').not.toBeNull();
  expect(createHash('sha256').update(stored!.bytes).digest('hex')).toBe(info.hashes.sha256);
  return { bytes: stored!.bytes, json: JSON.parse(stored!.bytes.toString('utf8')) };
}

const targetsVersion = (instance: Instance) => instance.publisher.latestMetadata('targets')!.version;

describe('when a scope is published as trusted_root.json', () => {
  it('follows the scope (inherited anchors too), re-signs targets only when it changes, and survives garbage collection when it returns to earlier bytes', async () => {
    let now = new Date();
    const { dataDir, token } = await newDataDir();
    const instance = await openInstance({ dataDir, clock: () => now, sigstoreRoot: source(SCOPE) });
    try {
      const { api } = appApi(instance, token);
      const ok = async (method: string, path: string, body?: unknown) => {
        const r = await api(method, path, body);
        expect(r.status, JSON.stringify(r.body)).toBeLessThan(300);
        await instance.publisher.flush();
        return r;
      };
      // Not defined yet: no trusted_root.json.
      await instance.publisher.notify();
      expect(await servedRoot(instance)).toBeNull();

      await ok('POST', '/scopes', { scope: 'registry.acme.io' });
      await ok('POST', '/scopes', { scope: SCOPE });
      const empty = await servedRoot(instance);
      expect(empty?.json.certificateAuthorities).toEqual([]);

      // An anchor of the parent scope is inherited (CONTRACT.md "Scopes"), so it is in the trusted root.
      now = new Date(now.getTime() + 60_000);
      const added = await ok('POST', `${scopePath('registry.acme.io')}/anchors`, { certificate: readFixtureText('certs/root-ca.pem'), type: 'ca' });
      const withCa = await servedRoot(instance);
      expect(withCa?.json.certificateAuthorities).toHaveLength(1);

      // A change elsewhere leaves targets (and trusted_root.json) alone.
      const before = targetsVersion(instance);
      await ok('POST', '/scopes', { scope: 'other.example' });
      expect(targetsVersion(instance)).toBe(before);

      // Back to the earlier bytes: served again, and kept when the versions in between are collected.
      now = new Date(now.getTime() + 60_000);
      await ok('DELETE', `${scopePath('registry.acme.io')}/anchors/${encodeURIComponent(added.body.anchor.id)}`);
      expect((await servedRoot(instance))?.bytes).toEqual(empty!.bytes);
      now = new Date(now.getTime() + GC_GRACE_MS + 10 * 60_000);
      await ok('POST', '/scopes', { scope: 'late.example' });
      expect((await servedRoot(instance))?.bytes).toEqual(empty!.bytes);
    } finally {
      await instance.close();
    }
  });

  it('is removed when the service starts without the setting, and left alone by a process that does not manage it', async () => {
    const { dataDir, token } = await newDataDir();
    const first = await openInstance({ dataDir, sigstoreRoot: source(SCOPE) });
    try {
      const { api } = appApi(first, token);
      expect((await api('POST', '/scopes', { scope: SCOPE })).status).toBe(201);
      await first.publisher.flush();
      expect(await servedRoot(first)).not.toBeNull();
    } finally {
      await first.close();
    }
    // A process opened without the option (bundle import, backup): it publishes nothing for it.
    const other = await openInstance({ dataDir });
    try {
      expect(await other.publisher.publish()).toBeNull();
      expect(await servedRoot(other)).not.toBeNull();
    } finally {
      await other.close();
    }
    // serve without --sigstore-scope: the first publish removes it.
    const without = await openInstance({ dataDir, sigstoreRoot: source(null) });
    try {
      const result = await without.publisher.publish();
      expect(result?.rolesSigned).toContain('targets');
      expect(await servedRoot(without)).toBeNull();
      // Checked once: nothing more to publish.
      expect(await without.publisher.publish()).toBeNull();
    } finally {
      await without.close();
    }
  });
});
