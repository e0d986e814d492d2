/**
 * The audit log (issue 7): every change is an entry (who, what, scope, before and after
 * digests, when), denied attempts too; entries are hash-chained, and verify finds an edit or
 * a deletion in the middle.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readFixtureText } from '../../../fixtures/index.js';
import { openInstance, type Instance } from '../../../service/instance.js';
import { entryHash } from '../../../service/audit/chain.js';
import { appApi, cleanupTempDirs, newDataDir, scopePath, type Api } from '../../support/service.js';
import { sqlRows } from '../../support/store.js';

const KEY_PEM = readFixtureText('keys/ec-p256.pub.pem');
const KEY_ID = `sha256:${'ab'.repeat(32)}`;

let instance: Instance;
let admin: Api;
let adminId: string;

beforeEach(async () => {
  const dir = await newDataDir();
  instance = await openInstance({ dataDir: dir.dataDir });
  admin = appApi(instance, dir.token).api;
  adminId = dir.token.split('_')[1]!;
});
afterEach(async () => {
  await instance?.close();
});
afterAll(() => cleanupTempDirs());

const entries = async (query = '') => {
  const res = await admin('GET', `/audit${query}`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.entries as any[];
};
const verify = async () => (await admin('GET', '/audit/verify')).body;

/** A few changes, a denied attempt and a failed one: a chain of 8 entries after init's. */
async function makeHistory(): Promise<void> {
  expect((await admin('POST', '/scopes', { scope: 'registry.acme.io' })).status).toBe(201);
  expect((await admin('POST', `${scopePath('registry.acme.io')}/anchors`, { publicKey: KEY_PEM, name: 'ci' })).status).toBe(201);
  expect((await admin('POST', '/revocations', { kind: 'key', id: KEY_ID, reason: 'keyCompromise' })).status).toBe(201);
  expect((await admin('POST', '/apply', { scopes: [{ scope: 'registry.acme.io/team-a', level: 'strict' }] })).status).toBe(200);
  const editor = (await admin('POST', '/tokens', { role: 'editor', scopes: ['registry.acme.io/team-a'] })).body;
  expect((await appApi(instance, editor.token).api('POST', '/scopes', { scope: 'registry.acme.io/team-b' })).status).toBe(403);
  expect((await admin('POST', '/scopes', { scope: 'registry.acme.io' })).status).toBe(409);
  expect((await admin('DELETE', scopePath('registry.acme.io/team-a'))).status).toBe(200);
}

describe('when changes are made', () => {
  it('records each one with who, what, scope, before and after digests, and when', async () => {
    const t0 = new Date().toISOString();
    await makeHistory();
    const log = await entries();
    expect(log.map((e) => [e.seq, e.action, e.outcome])).toEqual([
      [1, 'token.create', 'ok'], // init's admin token
      [2, 'scope.create', 'ok'],
      [3, 'anchor.add', 'ok'],
      [4, 'revocation.add', 'ok'],
      [5, 'apply', 'ok'],
      [6, 'token.create', 'ok'],
      [7, 'scope.create', 'denied'],
      [8, 'scope.create', 'failed'],
      [9, 'scope.delete', 'ok'],
    ]);
    const [init, create, anchor, revoke, apply, token, denied, failed, del] = log;
    expect(init).toMatchObject({ tokenId: null, target: adminId, before: null, details: { role: 'admin', by: 'init' } });
    expect(create).toMatchObject({ tokenId: adminId, scope: 'registry.acme.io', before: null });
    expect(create.after).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(anchor.before).toBe(create.after); // the scope as created, before the anchor
    expect(anchor.after).not.toBe(anchor.before);
    expect(revoke).toMatchObject({ scope: null, target: KEY_ID, before: null });
    expect(apply.before).not.toBe(apply.after);
    expect(token).toMatchObject({ tokenId: adminId, details: { role: 'editor', scopes: ['registry.acme.io/team-a'] } });
    expect(denied).toMatchObject({ tokenId: token.target, scope: 'registry.acme.io/team-b', details: { code: 'FORBIDDEN' } });
    expect(failed).toMatchObject({ tokenId: adminId, details: { code: 'SCOPE_EXISTS' } });
    expect(del).toMatchObject({ scope: 'registry.acme.io/team-a', after: null });
    expect(del.before).toMatch(/^sha256:/);
    for (const e of log) expect(e.at >= t0 || e.seq === 1).toBe(true);
    // chained
    for (let i = 1; i < log.length; i++) expect(log[i].prevHash).toBe(log[i - 1].hash);
  });

  it('records one entry per change, not the publish that follows it', async () => {
    await admin('POST', '/scopes', { scope: 'registry.acme.io' });
    await instance.publisher.idle();
    expect((await entries()).filter((e) => e.action !== 'token.create')).toHaveLength(1);
  });

  it('records requests with a wrong secret for a known token, with the token ID they claimed', async () => {
    const forged = `ks_${adminId}_${'A'.repeat(43)}`;
    expect((await appApi(instance, forged).api('POST', '/scopes', { scope: 'evil.io' })).status).toBe(401);
    const [a] = (await entries()).filter((e) => e.outcome === 'denied');
    expect(a).toMatchObject({ tokenId: null, action: 'POST /api/v1/scopes', details: { code: 'UNAUTHORIZED', claimedTokenId: adminId } });
    expect(JSON.stringify(a)).not.toContain('A'.repeat(43));
  });

  it('does not record requests that name no known token (issue 16: only counted and sampled)', async () => {
    expect((await appApi(instance, null).api('GET', '/tokens')).status).toBe(401);
    expect((await appApi(instance, `ks_000000000000_${'A'.repeat(43)}`).api('GET', '/tokens')).status).toBe(401);
    expect((await entries()).filter((e) => e.outcome === 'denied')).toEqual([]);
  });

  it('records a reader that tries to write', async () => {
    const reader = (await admin('POST', '/tokens', { role: 'reader' })).body;
    expect((await appApi(instance, reader.token).api('POST', '/revocations', { kind: 'key', id: KEY_ID })).status).toBe(403);
    expect((await entries()).at(-1)).toMatchObject({ tokenId: reader.id, action: 'revocation.add', outcome: 'denied' });
  });

  it('lists entries since a time, or a duration back from now', async () => {
    await makeHistory();
    const all = await entries();
    const cut = all[4].at;
    expect((await entries(`?since=${encodeURIComponent(cut)}`)).map((e) => e.seq)).toEqual(all.filter((e) => e.at >= cut).map((e) => e.seq));
    expect(await entries('?since=1h')).toHaveLength(all.length);
    expect(await entries(`?since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).toHaveLength(0);
    expect((await admin('GET', '/audit?since=yesterday')).body.code).toBe('BAD_REQUEST');
  });

  it('pages with after and limit', async () => {
    await makeHistory();
    const page = (await admin('GET', '/audit?limit=4')).body;
    expect(page.entries.map((e: any) => e.seq)).toEqual([1, 2, 3, 4]);
    expect(page.next).toBe(4);
    const rest = (await admin('GET', `/audit?after=${page.next}`)).body;
    expect(rest.entries[0].seq).toBe(5);
    expect(rest.next).toBeNull();
  });
});

describe('when one operation runs several transactions', () => {
  it('records it once, by the transaction that claims it first, even when two run at once, and not by one that rolled back', async () => {
    const tx = (fail: boolean) =>
      instance.store.transaction(async () => {
        await instance.store.setMeta('audit-test', String(fail));
        if (fail) throw new Error('boom');
      });
    // PostgreSQL runs both outermost transactions at once (SQLite one after the other): one claims the record at begin.
    await instance.audit.run(null, { action: 'test.twice' }, async () => {
      await Promise.all([tx(false), tx(false)]);
    });
    // The first one rolls back and releases its claim: the second one records the operation.
    await instance.audit.run(null, { action: 'test.retry' }, async () => {
      await tx(true).catch(() => {});
      await tx(false);
    });
    const all = await instance.audit.list();
    expect(all.filter((e) => e.action === 'test.twice')).toHaveLength(1);
    expect(all.filter((e) => e.action === 'test.retry').map((e) => e.outcome)).toEqual(['ok']);
    expect(await instance.audit.verify()).toMatchObject({ ok: true });
  });
});

describe('when a write route does not record its own entry (root and key ceremonies, routes added later)', () => {
  it('records it after the request: ok, or failed with the code', async () => {
    expect((await admin('DELETE', '/root/proposal')).status).toBe(404);
    const rotated = await admin('POST', '/keys/timestamp/rotate', {});
    expect(rotated.status, JSON.stringify(rotated.body)).toBe(200);
    const log = (await entries()).slice(1);
    expect(log).toHaveLength(2);
    expect(log[0]).toMatchObject({ tokenId: adminId, action: 'DELETE /api/v1/root/proposal', outcome: 'failed', details: { code: 'NO_PROPOSAL' } });
    expect(log[1]).toMatchObject({ tokenId: adminId, action: 'POST /api/v1/keys/timestamp/rotate', outcome: 'ok', details: { status: 200 } });
  });

  it('records a token change once, and a refused one as failed', async () => {
    const created = (await admin('POST', '/tokens', { role: 'reader' })).body;
    expect((await admin('DELETE', `/tokens/${created.id}`)).status).toBe(200);
    expect((await admin('DELETE', '/tokens/0123456789ab')).status).toBe(404);
    expect((await entries()).slice(1).map((e) => [e.action, e.outcome, e.target])).toEqual([
      ['token.create', 'ok', created.id],
      ['token.revoke', 'ok', created.id],
      ['DELETE /api/v1/tokens/0123456789ab', 'failed', null],
    ]);
  });
});

describe('audit verify', () => {
  it('passes on an untouched chain', async () => {
    await makeHistory();
    expect(await verify()).toEqual({ ok: true, entries: 9, head: { seq: 9, hash: (await entries()).at(-1).hash } });
  });

  it('passes on the chain init starts', async () => {
    expect(await verify()).toMatchObject({ ok: true, entries: 1 });
  });

  it('finds an entry edited in the database', async () => {
    await makeHistory();
    await sqlRows(instance.store, `UPDATE audit SET token_id = 'someone-else' WHERE seq = 4`);
    expect(await verify()).toMatchObject({ ok: false, firstBadSeq: 4, problem: expect.stringMatching(/edited/) });
  });

  it('finds an edited digest', async () => {
    await makeHistory();
    await sqlRows(instance.store, `UPDATE audit SET after_digest = ? WHERE seq = 3`, [`sha256:${'0'.repeat(64)}`]);
    expect(await verify()).toMatchObject({ ok: false, firstBadSeq: 3 });
  });

  it('finds an edit whose hash was recomputed, at the next entry', async () => {
    await makeHistory();
    await sqlRows(instance.store, `UPDATE audit SET outcome = 'ok' WHERE seq = 7`);
    const row = (await entries()).find((e) => e.seq === 7);
    await sqlRows(instance.store, `UPDATE audit SET hash = ? WHERE seq = 7`, [entryHash(row.prevHash, row)]);
    expect(await verify()).toMatchObject({ ok: false, firstBadSeq: 8, problem: expect.stringMatching(/does not link/) });
  });

  it('finds an entry deleted from the middle', async () => {
    await makeHistory();
    await sqlRows(instance.store, `DELETE FROM audit WHERE seq = 5`);
    expect(await verify()).toMatchObject({ ok: false, firstBadSeq: 5, problem: expect.stringMatching(/missing/) });
  });

  it('finds entries cut off the end', async () => {
    await makeHistory();
    await sqlRows(instance.store, `DELETE FROM audit WHERE seq >= 8`);
    expect(await verify()).toMatchObject({ ok: false, firstBadSeq: 8, problem: expect.stringMatching(/cut short/) });
  });

  it('keeps the break visible after new entries are appended', async () => {
    await makeHistory();
    await sqlRows(instance.store, `DELETE FROM audit WHERE seq = 9`);
    expect((await admin('POST', '/scopes', { scope: 'registry.acme.io/team-c' })).status).toBe(201);
    expect(await verify()).toMatchObject({ ok: false, firstBadSeq: 9 });
  });
});
