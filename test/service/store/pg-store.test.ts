/**
 * The store's PostgreSQL dialect (issue 11), against Debian's PostgreSQL started by the test:
 * the same records as the SQLite store for the same calls, transactions and savepoints, and
 * replicas (two PgStore instances on one database) racing on publish, audit and migrations.
 *
 * Needs Debian's postgresql: fails without it when CI is set, skips (visibly) otherwise.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../../service/util/paths.js';
import { SqliteStore, type MetadataRecord, type PublishCommit, type UpstreamRecord } from '../../../service/store/index.js';
import { PgStore } from '../../../service/store/pg/store.js';
import { ChainVerifier, chainEntry } from '../../../service/audit/chain.js';
import type { AnchorRecord } from '../../../service/domain/types.js';
import { KeyshareError } from '../../../service/errors.js';
import { POSTGRES_BIN_DIR, startPostgres, type RunningPostgres } from '../../support/postgres.js';

// STYLE.md: a test that needs a system tool fails when the tool is missing and CI is set.
if (!POSTGRES_BIN_DIR && process.env.CI) {
  throw new Error('PostgreSQL is not installed (Debian package postgresql): the PostgreSQL store tests cannot run in CI without it');
}

const NOW = new Date('2026-01-01T00:00:00Z');
const at = (minutes: number) => new Date(NOW.getTime() + minutes * 60_000).toISOString();

function anchor(scope: string, id: string, more: Partial<AnchorRecord> = {}): AnchorRecord {
  return { scope, id, name: id.slice(-4), type: 'publicKey', material: `-----BEGIN PUBLIC KEY-----\n${id}\n`, trustedIdentities: null, ...more };
}
function metadata(role: string, version: number, tag = ''): MetadataRecord {
  return { role, version, bytes: Buffer.from(`{"${role}":${version}${tag}}`), expires: at(60 * 24) };
}
function publish(base: number, next: number, more: Partial<PublishCommit> = {}): PublishCommit {
  return {
    upToSeq: 0,
    docs: [],
    targets: [],
    metadata: [metadata('snapshot', next), metadata('timestamp', next)],
    publishedAt: at(next),
    baseTimestampVersion: base,
    ...more,
  };
}
function upstream(name: string, more: Partial<UpstreamRecord> = {}): UpstreamRecord {
  return {
    name,
    url: `https://${name}.example`,
    mode: 'mirror',
    scopes: ['*.acme.io'],
    root: Buffer.from('{"signed":{}}'),
    state: { etag: 'x', nested: { b: 1, a: [true, null] } },
    timestampVersion: null,
    lastSuccessAt: null,
    lastError: null,
    createdAt: at(0),
    ...more,
  };
}

/**
 * What a call returned, or what it threw (so that both stores can be compared): a keyshare
 * error's code, or the database's own error (SQLite's SqliteError, node-postgres' error
 * unwrapped from drizzle's DrizzleQueryError), which differ by dialect.
 */
async function attempt(f: () => unknown): Promise<unknown> {
  try {
    return await f();
  } catch (e) {
    return { threw: e instanceof KeyshareError ? e.code : 'database error' };
  }
}

/**
 * The same calls for either store: every public method of the SQLite store (but transaction,
 * which takes a synchronous function there), with reads after each kind of write. The SQLite
 * store answers synchronously, and `await` takes its values as they are.
 */
async function scenario(s: PgStore): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const log = async (label: string, f: () => unknown) => void (out[label] = await attempt(f));

  await log('meta', async () => [await s.getMeta('k'), await s.setMeta('k', 'v1'), await s.setMeta('k', 'v2'), await s.getMeta('k')]);

  // Scopes whose byte order differs from a locale's (punctuation, digits).
  for (const scope of ['*', 'acme.io/team_a', 'acme.io/team-a', 'acme.io', '*.acme.io', 'acme.io/team2', 'b.io']) {
    await s.createScope({ scope, inherit: scope !== 'b.io', level: scope === '*' ? 'strict' : null }, NOW);
  }
  await log('createScope twice', () => s.createScope({ scope: 'b.io', inherit: true, level: null }, NOW));
  await log('updateScope', () => s.updateScope({ scope: 'b.io', inherit: true, level: 'audit', source: 'ignored' }));
  await log('updateScope missing', () => s.updateScope({ scope: 'c.io', inherit: true, level: null }));
  await s.createScope({ scope: 'fed.io', inherit: true, level: null, source: 'up1' }, NOW);
  await log('updateFederatedScope', () => s.updateFederatedScope({ scope: 'fed.io', inherit: false, level: 'skip', source: 'up2' }));
  await log('scopes', () => s.listScopes());
  await log('getScope', async () => [await s.getScope('b.io'), await s.getScope('nope.io')]);
  await log('requireScope missing', () => s.requireScope('nope.io'));

  await s.addAnchor(anchor('acme.io', 'sha256:aa'), NOW);
  await s.addAnchor(anchor('acme.io', 'sha256:bb', { type: 'ca', trustedIdentities: ['*', 'x509.subject: CN=a'], serial: '0a', notAfter: at(9), subject: 'CN=a', issuerName: 'CN=r', keyId: 'sha256:k' }), NOW);
  await s.addAnchor(anchor('b.io', 'pgp:cc', { type: 'pgp', source: 'up1' }), NOW);
  await s.addAnchor(anchor('acme.io/team-a', 'sha256:aa'), NOW);
  await log('addAnchor twice', () => s.addAnchor(anchor('acme.io', 'sha256:aa'), NOW));
  await log('addAnchor no scope', () => s.addAnchor(anchor('nope.io', 'sha256:aa'), NOW));
  await log('replaceAnchor', () => s.replaceAnchor(anchor('acme.io', 'sha256:aa', { name: 'renamed', trustedIdentities: ['a'] }), NOW));
  await log('removeAnchor', () => s.removeAnchor('acme.io/team-a', 'sha256:aa'));
  await log('removeAnchor missing', () => s.removeAnchor('acme.io/team-a', 'sha256:aa'));
  await log('removeAnchor no scope', () => s.removeAnchor('nope.io', 'sha256:aa'));
  await log('anchors', () => s.listAnchors());
  await log('anchors of scopes', async () => [await s.listAnchors(['b.io', 'acme.io']), await s.listAnchors(['b.io']), await s.listAnchors([])]);
  await log('anchors of types', () => s.listAnchorsOfTypes(['ca', 'pgp']));
  await log('getAnchor', async () => [await s.getAnchor('acme.io', 'sha256:bb'), await s.getAnchor('acme.io', 'sha256:zz')]);

  const revoked = at(1);
  await log('addRevocation', async () => [
    await s.addRevocation({ kind: 'certificate', issuer: 'sha256:bb', serial: '0a', scope: null, reason: 'keyCompromise', revokedAt: revoked }),
    await s.addRevocation({ kind: 'key', id: 'sha256:aa', scope: 'acme.io', reason: 'superseded', revokedAt: revoked }),
    await s.addRevocation({ kind: 'signature', digest: 'sha256:dd', scope: null, reason: 'unspecified', revokedAt: revoked }),
    await s.addRevocation({ kind: 'key', id: 'sha256:aa', scope: 'acme.io', reason: 'superseded', revokedAt: revoked }),
    await s.addRevocation({ kind: 'key', id: 'sha256:aa', scope: null, reason: 'superseded', revokedAt: revoked }),
  ]);
  await log('revocations', () => s.listRevocations());

  const crl = { issuer: 'sha256:bb', crlNumber: '0f', thisUpdate: at(0), nextUpdate: at(60), der: Buffer.from([0x30, 0x00, 0xff]), updatedAt: at(0) };
  await log('putCrl', () => s.putCrl({ ...crl, url: 'http://crl.example/a.crl' }, false));
  await log('putCrl same number', () => s.putCrl(crl, true));
  await log('putCrl newer keeps url', () => s.putCrl({ ...crl, crlNumber: '10', der: Buffer.from([1, 2]) }, false));
  await log('recordCrlFetch', () => s.recordCrlFetch('sha256:bb', at(2), 'timed out'));
  await log('setCrlUrl', async () => {
    const seq = await s.changeSeq();
    return [await s.setCrlUrl('sha256:bb', null), (await s.changeSeq()) - seq, await s.setCrlUrl('sha256:bb', null), (await s.changeSeq()) - seq, await s.setCrlUrl('sha256:none', 'http://x')];
  });
  await log('crls', async () => [await s.getCrl('sha256:bb'), await s.getCrl('sha256:none'), await s.listCrls(), await s.crlSummaries()]);

  await s.addAnchor(anchor('b.io', 'sha256:ee'), NOW);
  await log('anchor blocks', async () => [
    await s.addAnchorBlock('b.io', 'pgp:cc', NOW),
    await s.addAnchorBlock('b.io', 'pgp:cc', NOW),
    await s.addAnchorBlock('acme.io', 'pgp:cc', NOW),
    await attempt(() => s.addAnchorBlock('nope.io', 'pgp:cc', NOW)),
    await s.removeAnchorBlock('acme.io', 'pgp:cc'),
    await s.removeAnchorBlock('acme.io', 'pgp:cc'),
    await s.listAnchorBlocks(),
    await s.listAnchorBlocks('b.io'),
    await s.listAnchorBlocks('acme.io'),
  ]);
  await log('deleteScope', () => s.deleteScope('acme.io/team2'));
  await log('deleteScope with anchors', () => s.deleteScope('b.io'));
  await log('deleteScope missing', () => s.deleteScope('b.io'));
  await log('dirty before publish', async () => [await s.changeSeq(), (await s.listDirty()).sort((a, b) => (a.scope < b.scope ? -1 : 1))]);

  // Publishing: documents, targets and metadata together; consumed marks cleared, kept ones not.
  await s.putRoot(metadata('root', 1), at(0));
  const upTo = await s.changeSeq();
  await log('commitPublish', () =>
    s.commitPublish(
      publish(0, 1, {
        upToSeq: upTo - 1,
        keepDirty: ['acme.io'],
        docs: [
          { scope: 'acme.io', version: 1, issuedAt: at(3), digest: 'd1', deleted: false },
          { scope: 'gone.io', version: 4, issuedAt: at(3), digest: 'd2', deleted: true },
        ],
        targets: [
          { sha256: 'aa11', path: 'trust/acme.io.json', bytes: Buffer.from('{"v":1}') },
          { sha256: 'bb22', path: 'index.json', bytes: Buffer.from('[]') },
        ],
        metadata: [metadata('targets', 1), metadata('snapshot', 1), metadata('timestamp', 1)],
      }),
    ),
  );
  await log('commitPublish on an old base', () => s.commitPublish(publish(0, 2)));
  await log('dirty after publish', async () => (await s.listDirty()).map((d) => d.scope).sort());
  await s.createScope({ scope: 'late.io', inherit: true, level: null }, NOW);
  await log('commitPublish 2', () =>
    s.commitPublish(
      publish(1, 2, {
        upToSeq: Number.MAX_SAFE_INTEGER,
        docs: [{ scope: 'acme.io', version: 2, issuedAt: at(4), digest: 'd3', deleted: false }],
        targets: [
          { sha256: 'aa33', path: 'trust/acme.io.json', bytes: Buffer.from('{"v":2}') },
          { sha256: 'bb22', path: 'index.json', bytes: Buffer.from('[]') },
        ],
        metadata: [metadata('targets', 2), metadata('snapshot', 2), metadata('timestamp', 2)],
      }),
    ),
  );
  await log('dirty after publish 2', () => s.listDirty());
  await log('trust docs', async () => [await s.getTrustDocs(['acme.io', 'gone.io', 'nope.io']), await s.getTrustDocs([]), await s.listTrustDocs()]);
  await log('metadata', async () => [
    await s.latestMetadata('timestamp'),
    await s.latestMetadata('nope'),
    (await s.latestMetadataAll()).sort((a, b) => (a.role < b.role ? -1 : 1)),
    await s.getMetadata('snapshot', 1),
    await s.getMetadata('snapshot', 9),
    await s.listMetadataVersions('targets'),
  ]);
  await log('targets', async () => [await s.getTarget('aa11', 'trust/acme.io.json'), await s.getTarget('aa11', 'index.json')]);
  await log('putRoot same version', () => s.putRoot(metadata('root', 1), at(5)));
  await log('counts before prune', async () => Promise.all((['scopes', 'anchors', 'revocations', 'tuf_metadata', 'tuf_targets'] as const).map((n) => s.count(n))));
  await log('pruneSuperseded', async () => [await s.pruneSuperseded(at(2)), await s.pruneSuperseded(at(60)), await s.listMetadataVersions('timestamp'), await s.count('tuf_targets')]);

  await log('tokens', async () => [
    await s.addToken({ id: 't2', hash: 'h2', role: 'editor', scopes: ['acme.io/*'], expiresAt: at(99), createdAt: at(2), revokedAt: null }),
    await s.addToken({ id: 't1', hash: 'h1', role: 'admin', scopes: null, expiresAt: null, createdAt: at(1), revokedAt: null }),
    await attempt(() => s.addToken({ id: 't1', hash: 'h', role: 'admin', scopes: null, expiresAt: null, createdAt: at(1), revokedAt: null })),
    await s.revokeToken('t2', at(3)),
    await s.revokeToken('t9', at(3)),
    await s.getToken('t2'),
    await s.getToken('t9'),
    await s.listTokens(),
  ]);

  await log('upstreams', async () => [
    await s.putUpstream(upstream('up2')),
    await s.putUpstream(upstream('up1', { mode: 'federate', scopes: null, state: null })),
    await s.putUpstream(upstream('up2', { url: 'https://moved.example', timestampVersion: 7 })),
    await s.getUpstream('up2'),
    await s.getUpstream('nope'),
    await s.listUpstreams(),
    await s.upstreamSummaries(),
    await s.updateUpstreamStatus('up1', { lastError: 'boom', timestampVersion: 3, state: { z: 1, a: 2 }, root: Buffer.from('r2') }),
    await s.updateUpstreamStatus('up1', {}),
    await s.updateUpstreamStatus('nope', {}),
    await s.updateUpstreamStatus('nope', { lastError: 'x' }),
    await s.getUpstream('up1'),
  ]);
  await log('upstream files', async () => {
    await s.replaceUpstreamFiles('up2', [{ path: 'old.json', bytes: Buffer.from('old') }]);
    // A generator, as the mirror sync passes one; more rows than one INSERT batch.
    function* files() {
      for (let i = 0; i < 1_203; i++) yield { path: `${i}.snapshot.json`, bytes: Buffer.from([i & 0xff, 0, 0xff]) };
      yield { path: '1.root.json', bytes: Buffer.from('root') };
      yield { path: 'timestamp.json', bytes: Buffer.alloc(0) };
    }
    await s.replaceUpstreamFiles('up2', files());
    const listed = Array.from(await s.listUpstreamFiles('up2'));
    return [
      await s.countUpstreamFiles('up2'),
      listed.length,
      listed.slice(0, 5),
      listed.at(-1),
      await s.getUpstreamFile('up2', '1.root.json'),
      await s.getUpstreamFile('up2', 'old.json'),
      await s.getUpstreamFile('up2', 'timestamp.json'),
    ];
  });
  await log('deleteUpstream', async () => [await s.deleteUpstream('up2'), await s.deleteUpstream('up2'), await s.countUpstreamFiles('up2'), await s.listUpstreams()]);

  await log('audit', async () => {
    const head0 = await s.auditHead();
    const entries = [];
    for (let i = 0; i < 3; i++) {
      entries.push(
        await s.appendAudit((head) =>
          chainEntry(head, { at: at(i), tokenId: i ? 't1' : null, action: `act${i}`, scope: null, target: 'x', outcome: 'ok', before: null, after: 'a', details: i ? { z: i, a: ['é', null] } : null }),
        ),
      );
    }
    return [head0, entries, await s.auditHead(), await s.listAudit({ limit: 10 }), await s.listAudit({ afterSeq: 1, limit: 1 }), await s.listAudit({ since: at(2), limit: 10 })];
  });
  await log('final counts', async () => Promise.all((['scopes', 'anchors', 'revocations', 'tuf_metadata', 'tuf_targets'] as const).map((n) => s.count(n))));
  return out;
}

describe.skipIf(!POSTGRES_BIN_DIR)('the PostgreSQL store', () => {
  let server: RunningPostgres;
  let admin: pg.Client;
  let dbs = 0;
  const open: { close(): unknown }[] = [];

  /** A fresh, empty database on the test cluster; `options` of CREATE DATABASE (e.g. a locale). */
  async function freshUrl(options = ''): Promise<string> {
    const name = `t${++dbs}`;
    await admin.query(`CREATE DATABASE ${name} ${options}`);
    return server.url.replace(/\/keyshare$/, `/${name}`);
  }
  async function openStore(url: string): Promise<PgStore> {
    const s = await PgStore.open(url);
    open.push(s);
    return s;
  }

  beforeAll(async () => {
    server = await startPostgres();
    admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
  }, 120_000);
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()));
  });
  afterAll(async () => {
    await admin?.end();
    await server?.stop();
  });

  describe('when the same calls are made to it and to the SQLite store', () => {
    it('returns the same records, errors and dirty marks for every method, on a database with a non-C collation', async () => {
      const sqlite = SqliteStore.memory();
      open.push(sqlite);
      const expected = await scenario(sqlite as unknown as PgStore);
      // ICU en-US sorts "acme.io/team-a" after "acme.io/team_a" and "*.acme.io" apart from "*": the columns must not.
      const s = await openStore(await freshUrl("TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C'"));
      const actual = await scenario(s);
      for (const label of Object.keys(expected)) expect({ [label]: actual[label] }).toStrictEqual({ [label]: expected[label] });
      expect(Object.keys(actual)).toEqual(Object.keys(expected));

      // A few of the expectations spelled out, besides "the same as SQLite".
      expect(actual['createScope twice']).toEqual({ threw: 'SCOPE_EXISTS' });
      expect(actual['addAnchor twice']).toEqual({ threw: 'ANCHOR_EXISTS' });
      expect(actual['removeAnchor missing']).toEqual({ threw: 'ANCHOR_NOT_FOUND' });
      expect(actual['putCrl same number']).toEqual({ threw: 'ROLLBACK' });
      expect(actual['commitPublish on an old base']).toEqual({ threw: 'CONFLICT' });
      expect(actual['setCrlUrl']).toEqual([true, 1, true, 1, false]);
      expect(actual['putRoot same version']).toEqual({ threw: 'database error' });
      // acme.io is kept (keepDirty), b.io is newer than upToSeq; the rest was consumed.
      expect(actual['dirty after publish']).toEqual(['acme.io', 'b.io']);
      expect((actual['scopes'] as { scope: string }[]).map((r) => r.scope)).toEqual(['*', '*.acme.io', 'acme.io', 'acme.io/team-a', 'acme.io/team2', 'acme.io/team_a', 'b.io', 'fed.io']);
    });
  });

  describe('when the anchors of more scopes than PostgreSQL binds in one statement are listed', () => {
    it('lists them (a publish after a global revocation asks for every scope)', async () => {
      // PostgreSQL binds at most 65535 parameters per statement: the scopes go as one array.
      const s = await openStore(await freshUrl());
      const scopes = Array.from({ length: 70_000 }, (_, i) => `r${i}.acme.io`);
      for (const scope of [scopes[0]!, scopes[69_999]!]) {
        await s.createScope({ scope, inherit: true, level: null }, NOW);
        await s.addAnchor(anchor(scope, 'sha256:aa'), NOW);
      }
      expect((await s.listAnchors(scopes)).map((a) => a.scope)).toEqual([scopes[0], scopes[69_999]]);
      expect([...(await s.getTrustDocs(scopes)).keys()]).toEqual([]);
    });
  });

  describe('when a query fails', () => {
    it('throws the database error without the SQL or its parameters, which would reach the logs', async () => {
      const s = await openStore(await freshUrl());
      const token = { id: 't1', hash: 'secret-token-hash', role: 'admin', scopes: null, expiresAt: null, createdAt: at(1), revokedAt: null };
      await s.addToken(token);
      const error = await s.addToken(token).then(
        () => null,
        (e: unknown) => e as Error & { code?: string },
      );
      expect(error?.code).toBe('23505'); // unique_violation
      const everything = JSON.stringify({ message: error?.message, stack: error?.stack, ...error });
      expect(everything).not.toMatch(/secret-token-hash|insert into|params/i);
      expect(error).not.toHaveProperty('cause');
    });
  });

  describe('when a transaction fails', () => {
    it('rolls back every write of it, dirty marks and change seq included', async () => {
      const s = await openStore(await freshUrl());
      await s.createScope({ scope: 'a.io', inherit: true, level: null }, NOW);
      const seq = await s.changeSeq();
      const boom = new Error('boom');
      await expect(
        s.transaction(async () => {
          await s.createScope({ scope: 'b.io', inherit: true, level: null }, NOW);
          await s.addAnchor(anchor('a.io', 'sha256:aa'), NOW);
          await s.setMeta('k', 'v');
          throw boom;
        }),
      ).rejects.toBe(boom);
      expect((await s.listScopes()).map((r) => r.scope)).toEqual(['a.io']);
      expect(await s.listAnchors()).toEqual([]);
      expect(await s.getMeta('k')).toBeNull();
      expect(await s.changeSeq()).toBe(seq);
      expect((await s.listDirty()).map((d) => d.scope)).toEqual(['a.io']);
    });

    it('rolls back a nested transaction to its savepoint, and the outer one goes on', async () => {
      const s = await openStore(await freshUrl());
      const result = await s.transaction(async () => {
        await s.createScope({ scope: 'a.io', inherit: true, level: null }, NOW);
        const inner = await attempt(() =>
          s.transaction(async () => {
            await s.createScope({ scope: 'b.io', inherit: true, level: null }, NOW);
            await s.transaction(async () => s.createScope({ scope: 'c.io', inherit: true, level: null }, NOW));
            await s.createScope({ scope: 'a.io', inherit: true, level: null }, NOW); // SCOPE_EXISTS
          }),
        );
        // A failed statement inside the savepoint did not abort the transaction.
        await s.createScope({ scope: 'd.io', inherit: true, level: null }, NOW);
        return inner;
      });
      expect(result).toEqual({ threw: 'SCOPE_EXISTS' });
      expect((await s.listScopes()).map((r) => r.scope)).toEqual(['a.io', 'd.io']);
      expect(await s.changeSeq()).toBe(2);
    });

    it('runs two nested transactions started at once inside one one after another, each in its savepoint (port.ts)', async () => {
      const s = await openStore(await freshUrl());
      const results = await s.transaction(async () =>
        Promise.allSettled([s.createScope({ scope: 'a.io', inherit: true, level: null }, NOW), s.createScope({ scope: 'b.io', inherit: true, level: null }, NOW)]),
      );
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
      expect((await s.listScopes()).map((r) => r.scope)).toEqual(['a.io', 'b.io']);
    });

    it('still answers a call made after the transaction from a callback created inside it', async () => {
      const s = await openStore(await freshUrl());
      let later: () => Promise<unknown> = async () => null;
      await s.transaction(async () => {
        await s.createScope({ scope: 'a.io', inherit: true, level: null }, NOW);
        later = () => s.getScope('a.io');
      });
      // The transaction's client went back to the pool: the call must not use it.
      expect(await later()).toEqual({ scope: 'a.io', inherit: true, level: null, source: null });
    });
  });

  describe('when an observer watches transactions', () => {
    it('sees only the outermost one, inside it, and never an audit append', async () => {
      const s = await openStore(await freshUrl());
      const seen: string[] = [];
      s.observeTransactions({
        async begin() {
          seen.push('begin');
          return (await s.listScopes()).length;
        },
        async commit(pending) {
          // Inside the transaction: the change is visible here, and what is written lands with it.
          seen.push(`commit ${String(pending)}->${(await s.listScopes()).length}`);
          await s.appendAudit((head) => chainEntry(head, { at: at(0), tokenId: null, action: 'a', scope: null, target: null, outcome: 'ok', before: null, after: null, details: null }));
        },
      });
      await s.transaction(async () => {
        await s.createScope({ scope: 'a.io', inherit: true, level: null }, NOW);
        await s.createScope({ scope: 'b.io', inherit: true, level: null }, NOW);
      });
      await s.createScope({ scope: 'c.io', inherit: true, level: null }, NOW);
      await expect(s.createScope({ scope: 'c.io', inherit: true, level: null }, NOW)).rejects.toMatchObject({ code: 'SCOPE_EXISTS' });
      await s.appendAudit((head) => chainEntry(head, { at: at(1), tokenId: null, action: 'b', scope: null, target: null, outcome: 'ok', before: null, after: null, details: null }));
      expect(seen).toEqual(['begin', 'commit 0->2', 'begin', 'commit 2->3', 'begin']);
      expect((await s.listAudit({ limit: 10 })).map((e) => e.action)).toEqual(['a', 'a', 'b']);
    });

    it('lands nothing the observer wrote when the transaction fails after it', async () => {
      const s = await openStore(await freshUrl());
      s.observeTransactions({
        begin: async () => 'pending',
        commit: async () => {
          await s.appendAudit((head) => chainEntry(head, { at: at(0), tokenId: null, action: 'a', scope: null, target: null, outcome: 'ok', before: null, after: null, details: null }));
          throw new Error('observer failed');
        },
      });
      await expect(s.createScope({ scope: 'a.io', inherit: true, level: null }, NOW)).rejects.toThrow('observer failed');
      expect(await s.listScopes()).toEqual([]);
      expect(await s.listAudit({ limit: 10 })).toEqual([]);
      expect(await s.auditHead()).toBeNull();
    });
  });

  describe('when two replicas share one database', () => {
    it('applies the migrations once when they open it at the same time', async () => {
      const url = await freshUrl();
      const stores = await Promise.all(Array.from({ length: 4 }, () => openStore(url)));
      const { rows } = await stores[0]!.rawPoolForTests().query('SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations');
      // Each migration once: as many rows as the journal has entries.
      const journal = JSON.parse(readFileSync(join(packageRoot(), 'service/store/migrations/pg/meta/_journal.json'), 'utf8')) as { entries: unknown[] };
      expect(rows[0].n).toBe(journal.entries.length);
      await stores[1]!.createScope({ scope: 'a.io', inherit: true, level: null }, NOW);
      expect(await stores[3]!.getScope('a.io')).not.toBeNull();
    });

    it('lets exactly one of two publishes on the same base commit; the other gets CONFLICT', async () => {
      const url = await freshUrl();
      const [a, b] = [await openStore(url), await openStore(url)];
      let base = 0;
      for (let round = 0; round < 8; round++) {
        // Same version numbers, different bytes: what two publishers that both saw `base` build.
        const results = await Promise.allSettled([
          a.commitPublish(publish(base, base + 1, { metadata: [metadata('snapshot', base + 1, ',"by":"a"'), metadata('timestamp', base + 1, ',"by":"a"')] })),
          b.commitPublish(publish(base, base + 1, { metadata: [metadata('snapshot', base + 1, ',"by":"b"'), metadata('timestamp', base + 1, ',"by":"b"')] })),
        ]);
        const failed = results.filter((r) => r.status === 'rejected');
        expect(failed).toHaveLength(1);
        expect((failed[0] as PromiseRejectedResult).reason).toMatchObject({ code: 'CONFLICT' });
        base++;
        // Snapshot and timestamp of one publisher, never a mix.
        const ts = (await a.latestMetadata('timestamp'))!.bytes.toString();
        const snap = (await b.getMetadata('snapshot', base))!.bytes.toString();
        expect(ts.slice(-5)).toBe(snap.slice(-5));
      }
      expect((await b.listMetadataVersions('timestamp')).map((m) => m.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    });

    it('keeps one linear audit chain when both append at once, in and out of transactions', async () => {
      const url = await freshUrl();
      const [a, b] = [await openStore(url), await openStore(url)];
      const append = (s: PgStore, i: number) =>
        s.appendAudit((head) => chainEntry(head, { at: at(i), tokenId: null, action: `act${i}`, scope: null, target: null, outcome: 'ok', before: null, after: null, details: { i } }));
      const inTx = (s: PgStore, i: number) =>
        s.transaction(async () => {
          await s.createScope({ scope: `s${i}.io`, inherit: true, level: null }, NOW);
          return append(s, i);
        });
      await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 4 === 0 ? inTx : append)(i % 2 ? a : b, i)));
      const entries = await a.listAudit({ limit: 100 });
      expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
      const verifier = new ChainVerifier();
      for (const e of entries) expect(verifier.push(e)).toBe(true);
      expect(verifier.finish(await b.auditHead())).toMatchObject({ ok: true, entries: 40 });
    });

    it('never loses or duplicates a change when both write at once', async () => {
      const url = await freshUrl();
      const [a, b] = [await openStore(url), await openStore(url)];
      await a.createScope({ scope: 'x.io', inherit: true, level: null }, NOW);
      const both = <T>(f: (s: PgStore) => Promise<T>) => Promise.all([attempt(() => f(a)), attempt(() => f(b))]);

      // Check-then-write, each decided once.
      expect((await both((s) => s.createScope({ scope: 'y.io', inherit: true, level: null }, NOW))).sort()).toEqual([undefined, { threw: 'SCOPE_EXISTS' }].sort());
      expect((await both((s) => s.addAnchor(anchor('x.io', 'sha256:aa'), NOW))).sort()).toEqual([undefined, { threw: 'ANCHOR_EXISTS' }].sort());
      expect((await both((s) => s.addRevocation({ kind: 'key', id: 'sha256:aa', scope: null, reason: 'keyCompromise', revokedAt: at(0) }))).sort()).toEqual([false, true]);
      expect((await both((s) => s.addAnchorBlock('x.io', 'sha256:zz', NOW))).sort()).toEqual([false, true]);
      await both((s) => s.replaceAnchor(anchor('x.io', 'sha256:aa', { name: s === a ? 'a' : 'b' }), NOW));
      expect(await a.listAnchors()).toHaveLength(1);
      await both((s) => s.replaceUpstreamFiles('up', [{ path: 'timestamp.json', bytes: Buffer.from(s === a ? 'a' : 'b') }]));
      expect(await a.countUpstreamFiles('up')).toBe(1);

      // CRL numbers only go up (RFC 5280 5.2.3), whichever upload lands first.
      const crl = (n: string) => ({ issuer: 'sha256:ca', crlNumber: n, thisUpdate: at(0), nextUpdate: at(9), der: Buffer.from(n), updatedAt: at(0) });
      await Promise.all([attempt(() => a.putCrl(crl('05'), false)), attempt(() => b.putCrl(crl('06'), false))]);
      expect((await a.getCrl('sha256:ca'))!.crlNumber).toBe('06');

      // An anchor added while its scope is deleted: either both land in order, or the add finds no scope.
      await a.createScope({ scope: 'z.io', inherit: true, level: null }, NOW);
      const [added] = await Promise.all([attempt(() => a.addAnchor(anchor('z.io', 'sha256:bb'), NOW)), b.deleteScope('z.io')]);
      expect([undefined, { threw: 'SCOPE_NOT_FOUND' }]).toContainEqual(added);
      expect(await a.listAnchors(['z.io'])).toEqual([]);

      // A transaction of several writes against a single one that touches the same scope: in turn, no deadlock.
      await a.createScope({ scope: 'w.io', inherit: true, level: null }, NOW);
      const several = a.transaction(async () => {
        await a.createScope({ scope: 'v.io', inherit: true, level: null }, NOW);
        await new Promise((r) => setTimeout(r, 50));
        await a.addAnchor(anchor('w.io', 'sha256:cc'), NOW);
      });
      const [severalResult] = await Promise.all([attempt(() => several), b.deleteScope('w.io')]);
      expect([undefined, { threw: 'SCOPE_NOT_FOUND' }]).toContainEqual(severalResult);
      expect(await a.listAnchors(['w.io'])).toEqual([]);

      // Dirty marks from both: one seq each, no gaps, the newest per scope.
      await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).createScope({ scope: `d${i}.io`, inherit: true, level: null }, NOW)));
      const dirty = await a.listDirty();
      const seqs = dirty.map((d) => d.seq).sort((x, y) => x - y);
      expect(new Set(seqs).size).toBe(seqs.length);
      expect(seqs.at(-1)).toBe(await b.changeSeq());
      expect(dirty.filter((d) => d.scope.startsWith('d'))).toHaveLength(20);
    });

    it('keeps a mark made while a publish runs, even when the publish clears up to the seq it read', async () => {
      const url = await freshUrl();
      const [a, b] = [await openStore(url), await openStore(url)];
      await a.createScope({ scope: 'a.io', inherit: true, level: null }, NOW);
      let release!: () => void;
      let marked!: () => void;
      const held = new Promise<void>((r) => (release = r));
      const inside = new Promise<void>((r) => (marked = r));
      // b's change holds its seq uncommitted while a publishes everything it could see.
      const writing = b.transaction(async () => {
        await b.createScope({ scope: 'b.io', inherit: true, level: null }, NOW);
        marked();
        await held;
      });
      await inside;
      const upToSeq = await a.changeSeq();
      await a.commitPublish(publish(0, 1, { upToSeq }));
      release();
      await writing;
      expect((await a.listDirty()).map((d) => d.scope)).toEqual(['b.io']);
    });
  });
});
