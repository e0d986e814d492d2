/**
 * Bench B9 (issue 17, ninth round): a trust document is stored once, as its history row, which
 * also serves it as a target (service/store/rows.ts publishRows; migrations sqlite
 * 0007_trust_history_targets, pg 0005_trust_history_targets). In each dialect: a database of the
 * layout before (documents in tuf_targets and in trust_history) migrates, serves every target it
 * served and reads the same history; publishes after it write one row per document, and garbage
 * collection still removes superseded targets.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { drizzle as sqliteDrizzle } from 'drizzle-orm/better-sqlite3';
import { migrate as sqliteMigrate } from 'drizzle-orm/better-sqlite3/migrator';
import { drizzle as pgDrizzle } from 'drizzle-orm/node-postgres';
import { migrate as pgMigrate } from 'drizzle-orm/node-postgres/migrator';
import { packageRoot } from '../../../service/util/paths.js';
import { SqliteStore, type MetadataRecord, type Store } from '../../../service/store/index.js';
import { PgStore } from '../../../service/store/pg/store.js';
import { freshDatabase, testPostgres, type RunningPostgres } from '../../support/postgres.js';
import { sqlCount } from '../../support/store.js';

const NOW = new Date('2026-01-01T00:00:00Z');
const at = (minutes: number) => new Date(NOW.getTime() + minutes * 60_000).toISOString();
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const doc = (name: string) => Buffer.from(`{"document":"${name}"}`);
const meta = (role: string, version: number): MetadataRecord => ({ role, version, bytes: Buffer.from(`{"${role}":${version}}`), expires: at(60 * 24) });

const scratch = mkdtempSync(join(tmpdir(), 'keyshare-history-targets-'));
let cluster: Promise<RunningPostgres> | undefined;
afterAll(async () => {
  rmSync(scratch, { recursive: true, force: true });
  await (await cluster)?.stop();
});

/** The migrations folder of `dialect` without `tag` and what follows it: the layout before. */
function migrationsBefore(dialect: 'sqlite' | 'pg', tag: string): string {
  const from = join(packageRoot(), 'service/store/migrations', dialect);
  const to = mkdtempSync(join(scratch, `${dialect}-`));
  cpSync(from, to, { recursive: true });
  const journal = JSON.parse(readFileSync(join(to, 'meta/_journal.json'), 'utf8')) as { entries: { tag: string; idx: number }[] };
  const idx = journal.entries.find((e) => e.tag === tag)!.idx;
  journal.entries = journal.entries.filter((e) => e.idx < idx);
  writeFileSync(join(to, 'meta/_journal.json'), JSON.stringify(journal));
  return to;
}

/** A database of each dialect at the layout before, filled by `fill` (statements with `?`), then opened as a store (which migrates). */
const DIALECTS: [string, (fill: (run: (text: string, params: unknown[]) => Promise<void>) => Promise<void>) => Promise<Store>][] = [
  [
    'sqlite',
    async (fill) => {
      const file = join(mkdtempSync(join(scratch, 'db-')), 'keyshare.db');
      const db = new Database(file);
      sqliteMigrate(sqliteDrizzle(db), { migrationsFolder: migrationsBefore('sqlite', '0007_trust_history_targets') });
      await fill(async (text, params) => void db.prepare(text).run(...params));
      db.close();
      return SqliteStore.open(file);
    },
  ],
  [
    'postgres',
    async (fill) => {
      const url = await freshDatabase(await (cluster ??= testPostgres()));
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await pgMigrate(pgDrizzle(client), { migrationsFolder: migrationsBefore('pg', '0005_trust_history_targets') });
        await fill(async (text, params) => {
          let n = 0;
          await client.query(
            text.replace(/\?/g, () => `$${++n}`),
            params,
          );
        });
      } finally {
        await client.end();
      }
      return PgStore.open(url);
    },
  ],
];

const A1 = doc('acme v1');
const A2 = doc('acme v2');
const D = doc('default');
const OLD = doc('published before the history');
const PRUNED = doc('its target was collected');
const INDEX = Buffer.from('{"index":1}');

for (const [dialect, openOld] of DIALECTS) {
  describe(`${dialect}: a database whose documents are targets and history rows both`, () => {
    it('migrates, serves every target it served, reads the same history, and then stores a document once', async () => {
      const store = await openOld(async (run) => {
        const target = (bytes: Buffer, path: string, minutes: number) => run('INSERT INTO tuf_targets (sha256, path, bytes, published_at) VALUES (?, ?, ?, ?)', [sha(bytes), path, bytes, at(minutes)]);
        const history = (version: number, scope: string, bytes: Buffer | null, minutes: number) =>
          run('INSERT INTO trust_history (version, scope, document, published_at) VALUES (?, ?, ?, ?)', [version, scope, bytes, at(minutes)]);
        await target(OLD, 'trust/old.io.json', 0);
        await target(A1, 'trust/acme.io.json', 1);
        await target(A2, 'trust/acme.io.json', 2);
        await target(D, 'trust/_default.json', 2);
        await target(INDEX, 'index.json', 2);
        await history(1, 'acme.io', A1, 1);
        await history(1, 'pruned.io', PRUNED, 1);
        await history(2, 'acme.io', A2, 2);
        await history(2, '*', D, 2);
        await history(2, 'gone.io', null, 2);
        const m = meta('timestamp', 2);
        await run('INSERT INTO tuf_metadata (role, version, bytes, expires, published_at) VALUES (?, ?, ?, ?, ?)', [m.role, m.version, m.bytes, m.expires, at(2)]);
      });
      try {
        const served = async (bytes: Buffer, path: string) => (await store.getTarget(sha(bytes), path))?.bytes ?? null;
        // Every target served before is served, with its path; the one collected before still is not.
        for (const [bytes, path] of [[A1, 'trust/acme.io.json'], [A2, 'trust/acme.io.json'], [D, 'trust/_default.json'], [OLD, 'trust/old.io.json'], [INDEX, 'index.json']] as const) {
          expect(await served(bytes, path), path).toEqual(bytes);
          expect((await store.getTarget(sha(bytes), path))?.path).toBe(path);
        }
        expect(await served(PRUNED, 'trust/pruned.io.json')).toBeNull();
        expect(await served(A1, 'trust/other.io.json')).toBeNull();
        // The documents that have a history row left tuf_targets.
        expect(await sqlCount(store, 'SELECT COUNT(*) AS n FROM tuf_targets')).toBe(2);

        // The history reads as before: the same records, no new field.
        const row = (version: number, scope: string, document: Buffer | null, minutes: number) => ({ version, scope, document, publishedAt: at(minutes) });
        expect(await store.listTrustHistory({ after: 0, upTo: 9, limit: 100 })).toEqual([
          row(1, 'acme.io', A1, 1),
          row(1, 'pruned.io', PRUNED, 1),
          row(2, '*', D, 2),
          row(2, 'acme.io', A2, 2),
          row(2, 'gone.io', null, 2),
        ]);
        expect(await store.trustHistoryAt(1)).toEqual([row(1, 'acme.io', A1, 1), row(1, 'pruned.io', PRUNED, 1)]);

        // A publish after the migration: each document is one history row, and serves its target (a removed one: a row without).
        const A3 = doc('acme v3');
        const OLD2 = doc('old.io v2');
        const INDEX2 = Buffer.from('{"index":2}');
        await store.commitPublish({
          upToSeq: 0,
          docs: [
            { scope: 'acme.io', version: 3, issuedAt: at(3), digest: 'a3', deleted: false },
            { scope: 'old.io', version: 2, issuedAt: at(3), digest: 'o2', deleted: false },
            { scope: 'pruned.io', version: 2, issuedAt: at(3), digest: 'p2', deleted: true },
          ],
          targets: [A3, OLD2].map((bytes, i) => ({ sha256: sha(bytes), path: ['trust/acme.io.json', 'trust/old.io.json'][i]!, bytes })).concat({ sha256: sha(INDEX2), path: 'index.json', bytes: INDEX2 }),
          metadata: [meta('snapshot', 3), meta('timestamp', 3)],
          publishedAt: at(3),
          baseTimestampVersion: 2,
        });
        expect(await sqlCount(store, 'SELECT COUNT(*) AS n FROM tuf_targets')).toBe(3);
        expect(await served(A3, 'trust/acme.io.json')).toEqual(A3);
        expect(await served(OLD2, 'trust/old.io.json')).toEqual(OLD2);
        expect(await served(INDEX2, 'index.json')).toEqual(INDEX2);
        expect((await store.trustHistoryAt(3)).map((h) => [h.scope, h.version, h.document])).toEqual([
          ['*', 2, D],
          ['acme.io', 3, A3],
          ['gone.io', 2, null],
          ['old.io', 3, OLD2],
          ['pruned.io', 3, null],
        ]);

        // Collection past the grace: the superseded index.json, and old.io's document that a history row superseded.
        expect(await store.pruneSuperseded(at(2))).toEqual({ metadata: 0, targets: 0 });
        expect((await store.pruneSuperseded(at(60))).targets).toBe(2);
        expect(await served(OLD, 'trust/old.io.json')).toBeNull();
        expect(await served(INDEX, 'index.json')).toBeNull();
        for (const [bytes, path] of [[A1, 'trust/acme.io.json'], [A3, 'trust/acme.io.json'], [OLD2, 'trust/old.io.json'], [INDEX2, 'index.json'], [D, 'trust/_default.json']] as const) {
          expect(await served(bytes, path), path).toEqual(bytes);
        }
      } finally {
        await store.close();
      }
    });
  });
}
