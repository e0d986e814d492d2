/**
 * Issue 24, row 6: rotation on replicas.
 * - A replica whose data dir lacks the key that the current root names (the publisher rotated
 *   it and died before its keys were copied) refuses to start with ONLINE_KEY_MISSING, and the
 *   message says which file to copy from where.
 * - A replica asked to sign while another publishes answers NOT_PUBLISHER naming the
 *   publisher's --advertise-url, so that the CLI (or the operator) can go there.
 */
import 'reflect-metadata';
import { execFile } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openInstance } from '../../service/instance.js';
import { currentKeyPath, nextKeyPath } from '../../service/repo/online-keys.js';
import { appApi, cleanupTempDirs, newDataDir } from '../support/service.js';

const BIN = join(process.cwd(), 'bin', 'keyshare.js');

afterAll(() => cleanupTempDirs());

describe('when the publisher rotated a key and died before its keys were copied', () => {
  it('the survivor refuses to start with ONLINE_KEY_MISSING, naming the file to copy', async () => {
    const { dataDir, token } = await newDataDir();
    const oldKey = readFileSync(currentKeyPath(dataDir, 'timestamp'));
    const publisher = await openInstance({ dataDir });
    try {
      const r = await appApi(publisher, token).api('POST', '/keys/timestamp/rotate');
      expect(r.status, JSON.stringify(r.body)).toBeLessThan(300);
    } finally {
      await publisher.close();
    }
    // The survivor's data dir: a copy taken before the rotation (the old key, no next key).
    writeFileSync(currentKeyPath(dataDir, 'timestamp'), oldKey, { mode: 0o600 });
    rmSync(nextKeyPath(dataDir, 'timestamp'), { force: true });
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KEYSHARE_')));
    const run = await new Promise<{ code: number; stderr: string }>((done) =>
      execFile(process.execPath, [BIN, 'serve', '--data', dataDir, '--listen', '127.0.0.1:0'], { env, timeout: 60_000 }, (e, _out, stderr) =>
        done({ code: e ? (typeof e.code === 'number' ? e.code : -1) : 0, stderr: String(stderr) }),
      ),
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^keyshare: ONLINE_KEY_MISSING: root v2 names \S+ for the timestamp role, and no key in \S+ .*holds it\..*copy keys\/timestamp\.next\.pem and keys\/timestamp\.pem .*root\.json/m); // (after any log lines serve wrote first)
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
  }, 90_000);
});

describe('when a replica that does not publish is asked to sign', () => {
  it('answers NOT_PUBLISHER naming the publisher it learnt from the database', async () => {
    const { dataDir, token } = await newDataDir();
    const replica = await openInstance({ dataDir });
    try {
      replica.publisher.setGate({ leads: () => false, handOff: () => {}, publisherUrl: () => 'https://keyshare-1.internal:8443' });
      const r = await appApi(replica, token).api('POST', '/keys/timestamp/rotate');
      expect(r.status).toBe(503);
      expect(r.body.code).toBe('NOT_PUBLISHER');
      expect(r.body.message).toContain('the publisher is https://keyshare-1.internal:8443: retry the key rotation with --server https://keyshare-1.internal:8443');
      expect(r.body.details).toEqual({ publisherUrl: 'https://keyshare-1.internal:8443' });
      // Without an advertised URL, the message says how to get one.
      replica.publisher.setGate({ leads: () => false, handOff: () => {} });
      const bare = await appApi(replica, token).api('POST', '/keys/timestamp/rotate');
      expect(bare.body.message).toContain('--advertise-url');
    } finally {
      await replica.close();
    }
  });
});
