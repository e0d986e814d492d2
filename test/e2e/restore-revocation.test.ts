/**
 * Issue 24, row 1: a restore from a backup taken before a revocation must not resurrect the
 * revoked key. The backup (SQLite: `keyshare backup`; PostgreSQL: pg_dump / pg_restore, as
 * docs/DEPLOYMENT.md says) is taken, a key is revoked and seen by a TUF client, the database is
 * lost and restored. Then:
 * - `keyshare serve` refuses with RESTORE_BEHIND, saying how many versions are missing;
 * - `keyshare revocations replay --since BACKUP` stores the revocation again from the journal;
 * - serve with --accept-restore-loss publishes above what the client saw: the client is not
 *   rolled back, and the key stays revoked, with an audit entry again.
 */
import 'reflect-metadata';
import { execFile, execFileSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackup, restoreBackup } from '../../service/backup.js';
import { configuredDatabase } from '../../service/config.js';
import { openInstance, type Instance } from '../../service/instance.js';
import { guardRestore } from '../../service/restore-guard.js';
import { journalPath } from '../../service/revocation-journal.js';
import { startServer, type RunningServer } from '../../service/server.js';
import { ON_POSTGRES } from '../support/database.js';
import { CachingTufClient, initTestDataDir, removeScratchDirs, scratchDir } from '../support/tuf-client.js';

const ROOT = process.cwd();
const BIN = join(ROOT, 'bin', 'keyshare.js');
const KEY = readFileSync(join(ROOT, 'fixtures/keys/ec-p256.pub.pem'), 'utf8');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}
function keyshare(args: string[]): Promise<Run> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KEYSHARE_')));
  return new Promise((done) =>
    execFile(process.execPath, [BIN, ...args], { env, timeout: 60_000 }, (error, stdout, stderr) =>
      done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout: String(stdout), stderr: String(stderr) }),
    ),
  );
}

async function serveDir(dataDir: string, staticDir: string): Promise<{ instance: Instance; server: RunningServer; api: (m: string, p: string, b?: unknown) => Promise<any> }> {
  const instance = await openInstance({ dataDir });
  const server = await startServer(instance, '127.0.0.1:0', () => {}, { staticDir });
  const token = readFileSync(join(dataDir, 'admin.token'), 'utf8').trim();
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server.url}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() };
  };
  return { instance, server, api };
}

describe(`when a backup taken before a revocation is restored (${ON_POSTGRES ? 'PostgreSQL: pg_dump / pg_restore' : 'SQLite: keyshare backup / restore'})`, () => {
  let lost: string; // the data dir whose database is lost
  let restored: string; // the data dir served after the restore
  let staticDir: string;
  let backupFile: string;
  let keyId: string;
  let client: CachingTufClient;
  let seenVersion: number;

  beforeAll(async () => {
    lost = await initTestDataDir();
    staticDir = join(scratchDir(), 'static');
    const first = await serveDir(lost, staticDir);
    try {
      expect((await first.api('POST', '/scopes', { scope: 'registry.acme.io' })).status).toBe(201);
      const added = await first.api('POST', `/scopes/${encodeURIComponent('registry.acme.io')}/anchors`, { publicKey: KEY, name: 'ci' });
      expect(added.status).toBe(201);
      keyId = added.body.anchor.id;
      await first.instance.publisher.notify();
      // The backup, while the key is trusted.
      backupFile = join(scratchDir(), ON_POSTGRES ? 'keyshare.dump' : 'keyshare.tar');
      if (ON_POSTGRES) execFileSync('pg_dump', ['--format=custom', `--file=${backupFile}`, configuredDatabase(lost)!]);
      else await createBackup({ dataDir: lost, out: backupFile });
      // Then the key is revoked, and a client sees it.
      const revoked = await first.api('POST', '/revocations', { kind: 'key', id: keyId, reason: 'keyCompromise' });
      expect(revoked.status).toBe(201);
      client = new CachingTufClient(first.server.url, join(lost, 'root.json'));
      const doc = await client.readJson('trust/registry.acme.io.json');
      expect(doc.anchors).toEqual([]);
      expect(doc.revoked.keys.map((k: { id: string }) => k.id)).toContain(keyId);
      seenVersion = client.cached('timestamp').signed.version;
    } finally {
      await first.server.close();
    }
    expect(readFileSync(journalPath(lost), 'utf8')).toContain(keyId);
    // The database is lost, and restored from the backup.
    if (ON_POSTGRES) {
      execFileSync('pg_restore', ['--clean', '--if-exists', '--no-owner', `--dbname=${configuredDatabase(lost)!}`, backupFile]);
      restored = lost;
    } else {
      restored = join(scratchDir(), 'restored');
      await restoreBackup({ file: backupFile, dataDir: restored });
    }
  }, 120_000);

  afterAll(() => removeScratchDirs());

  it('serve refuses with RESTORE_BEHIND, saying how many versions are missing and which revocation the journal holds', async () => {
    const run = await keyshare(['serve', '--data', restored, '--static-dir', staticDir, '--listen', '127.0.0.1:0']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^keyshare: RESTORE_BEHIND: /m); // (after any log lines serve wrote first)
    expect(run.stderr).toMatch(new RegExp(`but version ${seenVersion} was published \\(static dir [^)]*\\): \\d+ version\\(s\\) are missing`));
    expect(run.stderr).toContain('keyshare revocations replay --since');
    // Nothing was published meanwhile: the static dir still holds what the client saw.
    expect(JSON.parse(readFileSync(join(staticDir, 'timestamp.json'), 'utf8')).signed.version).toBe(seenVersion);
    if (ON_POSTGRES) expect(run.stderr).toContain(`holds 1 revocation(s) that the database lacks (key ${keyId}`);
  }, 60_000);

  it('replay stores the revocation again from the journal, since the backup', async () => {
    const run = await keyshare(['revocations', 'replay', '--since', backupFile, '--journal', journalPath(lost), '--data', restored, '--json']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout);
    expect(out.journals[0].replayed.map((e: { revocation: { id: string } }) => e.revocation.id)).toEqual([keyId]);
    // Idempotent: a second replay stores nothing.
    const again = JSON.parse((await keyshare(['revocations', 'replay', '--since', backupFile, '--journal', journalPath(lost), '--data', restored, '--json'])).stdout);
    expect(again.journals[0].replayed).toEqual([]);
  }, 60_000);

  it('with --accept-restore-loss, clients are not rolled back and the key stays revoked', async () => {
    const guarded = await guardRestore({ dataDir: restored, staticDir, acceptLoss: true, journal: journalPath(restored) });
    expect(guarded!.highest!.version).toBe(seenVersion);
    expect(guarded!.to).toBeGreaterThan(seenVersion);
    const second = await serveDir(restored, staticDir);
    try {
      await second.instance.publisher.notify();
      const reader = new CachingTufClient(second.server.url, join(restored, 'root.json'));
      // The same client, with the cache of what it saw before the loss: no ROLLBACK.
      const moved = new CachingTufClient(second.server.url, join(restored, 'root.json'));
      cpSync(client.metadataDir, moved.metadataDir, { recursive: true });
      const doc = await moved.readJson('trust/registry.acme.io.json');
      expect(moved.cached('timestamp').signed.version).toBeGreaterThan(seenVersion);
      expect(doc.anchors).toEqual([]);
      expect(doc.revoked.keys.map((k: { id: string }) => k.id)).toContain(keyId);
      expect((await reader.readJson('trust/registry.acme.io.json')).anchors).toEqual([]);
      // The audit log has the revocation again, and the decision to serve the restore.
      const audit = await second.api('GET', '/audit');
      const entries = JSON.stringify(audit.body);
      expect(entries).toContain('replayedFrom');
      expect(entries).toContain('restore.accept');
    } finally {
      await second.server.close();
    }
    // The next start is an ordinary one.
    expect(await guardRestore({ dataDir: restored, staticDir, journal: journalPath(restored) })).toBeNull();
    expect(existsSync(join(restored, 'root.json'))).toBe(true);
  }, 60_000);
});
