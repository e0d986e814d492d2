/**
 * The restore guard's sources (service/restore-guard.ts, issue 24 row 1): a database behind
 * the version a peer serves, or behind --min-version, is refused with RESTORE_BEHIND, even
 * without a `keyshare restore` marker (a pg_restore, a copied file); an unreachable peer is
 * skipped; accepting the loss jumps above the highest version. And the pg_dump header's time.
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { guardRestore, pgDumpCreatedAt } from '../../service/restore-guard.js';
import { RevocationJournal, journalPath, readJournal } from '../../service/revocation-journal.js';
import { openInstance } from '../../service/instance.js';
import { cleanupTempDirs, newDataDir } from '../support/service.js';

afterAll(() => cleanupTempDirs());

describe('the restore guard', () => {
  it('refuses a database behind a peer or --min-version, and jumps above them once accepted', async () => {
    const { dataDir } = await newDataDir();
    const journal = journalPath(dataDir);
    const behind = await guardRestore({ dataDir, journal, peers: ['http://peer.invalid', 'http://down.invalid'], peerVersion: async (u) => (u.includes('down') ? Promise.reject(new Error('ECONNREFUSED')) : 40) }).catch((e) => e);
    expect(behind.code).toBe('RESTORE_BEHIND');
    expect(behind.message).toMatch(/but version 40 was published \(peer http:\/\/peer\.invalid\): \d+ version\(s\) are missing/);
    expect(behind.message).toContain(`there is no revocation journal at ${journal}`);
    expect((await guardRestore({ dataDir, journal, minVersion: 50 }).catch((e) => e)).code).toBe('RESTORE_BEHIND');
    const accepted = await guardRestore({ dataDir, journal, minVersion: 50, acceptLoss: true });
    expect(accepted!.to).toBe(51);
    const instance = await openInstance({ dataDir });
    try {
      expect(instance.publisher.latestMetadata('timestamp')!.version).toBe(51);
    } finally {
      await instance.close();
    }
    // Nothing behind: an ordinary start.
    expect(await guardRestore({ dataDir, journal, minVersion: 50 })).toBeNull();
  });

  it('reads the creation time of a pg_dump custom archive (as early as any time zone)', () => {
    // PGDMP 1.16.0, intSize 4, offSize 8, format 1 (custom), compression algorithm 0, then
    // sec 5, min 4, hour 3, mday 27, mon 10 (November), year 126 (2026), isdst 0.
    const int = (v: number) => [0, v & 0xff, (v >> 8) & 0xff, 0, 0];
    const head = Uint8Array.from([...Buffer.from('PGDMP'), 1, 16, 0, 4, 8, 1, 0, ...[5, 4, 3, 27, 10, 126, 0].flatMap(int)]);
    expect(pgDumpCreatedAt(head)!.toISOString()).toBe('2026-11-26T13:04:05.000Z');
    expect(pgDumpCreatedAt(Buffer.from('not a dump'))).toBeNull();
  });

  it('journals revocations, skips a line a crash cut short, and reports (not throws) a failed append', async () => {
    const { dataDir } = await newDataDir();
    const file = journalPath(dataDir);
    const revocation = { kind: 'key' as const, id: `sha256:${'a'.repeat(64)}`, scope: null, reason: 'keyCompromise' as const, revokedAt: '2026-11-27T03:00:00Z' };
    new RevocationJournal(file).record([revocation]);
    appendFileSync(file, '{"mediaType":"application/vnd.keyshare.rev');
    expect(readJournal(file).map((e) => e.revocation)).toEqual([revocation]);
    const later = { ...revocation, id: `sha256:${'b'.repeat(64)}` };
    new RevocationJournal(file).record([later]);
    expect(readJournal(file).map((e) => e.revocation)).toEqual([revocation, later]);
    appendFileSync(file, '{"mediaType":"something else","at":"2026-11-27T03:00:00Z"}\n');
    expect(() => readJournal(file)).toThrow(/line 4 is not a application\/vnd\.keyshare\.revocation-journal\.v1\+json entry/);
    const errors: string[] = [];
    new RevocationJournal(join(dataDir, 'missing', 'journal'), undefined, (e) => errors.push(e.message)).record([revocation]);
    expect(errors.join()).toMatch(/cannot append 1 revocation\(s\) to the revocation journal .*ENOENT.*a restore would lose them/);
  });
});
