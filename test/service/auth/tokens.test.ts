/**
 * Tokens (issue 7): random, shown once, stored hashed, expiring, revocable, rotatable.
 * hono's test style: createApp().request(), no socket.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { openInstance, type Instance } from '../../../service/instance.js';
import { appApi, cleanupTempDirs, newDataDir, type Api } from '../../support/service.js';
import { rawDb, sqlRows, tableNames } from '../../support/store.js';
import { itSqlite } from '../../support/database.js';

let instance: Instance;
let dataDir: string;
let adminToken: string;
let admin: Api;
const as = (token: string | null) => appApi(instance, token).api;

beforeAll(async () => {
  const dir = await newDataDir();
  dataDir = dir.dataDir;
  adminToken = dir.token;
  instance = await openInstance({ dataDir });
  admin = as(adminToken);
});
afterEach(() => {
  vi.useRealTimers();
});
afterAll(async () => {
  await instance?.close();
  cleanupTempDirs();
});

describe('when a token is created', () => {
  it('returns id, token, role, scopes and expiresAt, and the token works', async () => {
    const res = await admin('POST', '/tokens', { role: 'editor', scopes: ['registry.acme.io/team-a'], expires: '30d' });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(Object.keys(res.body).sort()).toEqual(['expiresAt', 'id', 'role', 'scopes', 'token']);
    expect(res.body).toMatchObject({ role: 'editor', scopes: ['registry.acme.io/team-a'] });
    expect(res.body.token).toMatch(new RegExp(`^ks_${res.body.id}_[A-Za-z0-9_-]{43}$`));
    const days = (Date.parse(res.body.expiresAt) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(29.9);
    expect(days).toBeLessThanOrEqual(30);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect((await as(res.body.token)('GET', '/scopes')).status).toBe(200);
  });

  it('makes a different random token each time', async () => {
    const a = await admin('POST', '/tokens', { role: 'reader' });
    const b = await admin('POST', '/tokens', { role: 'reader' });
    expect(a.body.id).not.toBe(b.body.id);
    expect(a.body.token).not.toBe(b.body.token);
  });

  it('stores only a hash: the secret is nowhere in the database', async () => {
    const { body } = await admin('POST', '/tokens', { role: 'admin' });
    const secret = body.token.split('_').pop();
    for (const table of await tableNames(instance.store)) {
      const rows = JSON.stringify(await sqlRows(instance.store, `SELECT * FROM "${table}"`), (_k, v) => (Buffer.isBuffer(v) ? v.toString('latin1') : v));
      expect(rows, table).not.toContain(secret);
    }
    const [row] = await sqlRows<{ hash: string }>(instance.store, 'SELECT * FROM tokens WHERE id = ?', [body.id]);
    expect(row!.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  itSqlite('stores only a hash: the secret is nowhere in the database files, WAL included (SQLite)', async () => {
    const { body } = await admin('POST', '/tokens', { role: 'admin' });
    const secret = body.token.split('_').pop();
    rawDb(instance.store).pragma('wal_checkpoint(TRUNCATE)');
    for (const f of readdirSync(dataDir).filter((f) => f.startsWith('keyshare.db'))) {
      expect(readFileSync(join(dataDir, f)).includes(Buffer.from(secret)), f).toBe(false);
    }
  });

  it('lists tokens without secrets or hashes', async () => {
    const res = await admin('GET', '/tokens');
    expect(res.status).toBe(200);
    expect(res.body.tokens.length).toBeGreaterThan(2);
    for (const t of res.body.tokens) {
      expect(Object.keys(t).sort()).toEqual(['createdAt', 'expiresAt', 'id', 'revokedAt', 'role', 'scopes', 'status']);
    }
    expect(JSON.stringify(res.body)).not.toMatch(/ks_[0-9a-f]{12}_/);
  });

  const refusals: [string, unknown, string][] = [
    ['an editor token without scopes', { role: 'editor' }, 'BAD_REQUEST'],
    ['scopes on a reader token', { role: 'reader', scopes: ['registry.acme.io'] }, 'BAD_REQUEST'],
    ['scopes on an admin token', { role: 'admin', scopes: ['registry.acme.io'] }, 'BAD_REQUEST'],
    ['an invalid scope pattern', { role: 'editor', scopes: ['Registry.Acme.io'] }, 'SCOPE_INVALID'],
    ['an unknown role', { role: 'owner' }, 'BAD_REQUEST'],
    ['an invalid duration', { role: 'reader', expires: 'soon' }, 'BAD_REQUEST'],
    ['a zero duration', { role: 'reader', expires: '0d' }, 'BAD_REQUEST'],
  ];
  for (const [what, body, code] of refusals) {
    it(`refuses ${what} (${code})`, async () => {
      const res = await admin('POST', '/tokens', body);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe(code);
    });
  }
});

describe('when a token expires', () => {
  it('is refused with UNAUTHORIZED once its time is up', async () => {
    const { body } = await admin('POST', '/tokens', { role: 'reader', expires: '1h' });
    const reader = as(body.token);
    expect((await reader('GET', '/scopes')).status).toBe(200);
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 59 * 60_000);
    expect((await reader('GET', '/scopes')).status).toBe(200);
    vi.setSystemTime(Date.now() + 2 * 60_000);
    const res = await reader('GET', '/scopes');
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('UNAUTHORIZED');
    const listed = (await admin('GET', '/tokens')).body.tokens.find((t: { id: string }) => t.id === body.id);
    expect(listed.status).toBe('expired');
  });
});

describe('when a token is revoked', () => {
  it('is refused with UNAUTHORIZED on the next request', async () => {
    const { body } = await admin('POST', '/tokens', { role: 'editor', scopes: ['registry.acme.io'] });
    const editor = as(body.token);
    expect((await editor('GET', '/scopes')).status).toBe(200);
    const res = await admin('DELETE', `/tokens/${body.id}`);
    expect(res.status).toBe(200);
    expect(res.body.token).toMatchObject({ id: body.id, status: 'revoked' });
    const after = await editor('GET', '/scopes');
    expect(after.status).toBe(401);
    expect(after.body.code).toBe('UNAUTHORIZED');
    expect((await editor('POST', '/scopes', { scope: 'registry.acme.io/x' })).status).toBe(401);
  });

  it('answers TOKEN_NOT_FOUND for an unknown token', async () => {
    const res = await admin('DELETE', '/tokens/0123456789ab');
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('TOKEN_NOT_FOUND');
  });

  it('refuses to revoke the last admin token (LAST_ADMIN_TOKEN)', async () => {
    const dir = await newDataDir();
    const other = await openInstance({ dataDir: dir.dataDir });
    try {
      const api = appApi(other, dir.token).api;
      const id = dir.token.split('_')[1];
      const res = await api('DELETE', `/tokens/${id}`);
      expect(res.status).toBe(409);
      expect(res.body.code).toBe('LAST_ADMIN_TOKEN');
      expect((await api('GET', '/scopes')).status).toBe(200);
    } finally {
      await other.close();
    }
  });
});

describe('when a token is wrong', () => {
  const cases: [string, Record<string, string>][] = [
    ['no Authorization header', {}],
    ['a token of the wrong shape', { authorization: 'Bearer hunter2' }],
    ['a Basic credential', { authorization: `Basic ${Buffer.from('admin:admin').toString('base64')}` }],
  ];
  for (const [what, headers] of cases) {
    it(`refuses ${what} with UNAUTHORIZED`, async () => {
      const res = await as(null)('GET', '/scopes', undefined, headers);
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('UNAUTHORIZED');
    });
  }

  it('refuses a known token ID with the wrong secret', async () => {
    const [, id, secret] = adminToken.split('_');
    const forged = `ks_${id}_${secret!.slice(0, -1)}${secret!.endsWith('A') ? 'B' : 'A'}`;
    const res = await as(forged)('GET', '/scopes');
    expect(res.status).toBe(401);
  });
});

describe('when the admin token from init is rotated', () => {
  it('gives a new admin token and revokes the old one at once', async () => {
    const dir = await newDataDir();
    const other = await openInstance({ dataDir: dir.dataDir });
    try {
      const oldApi = appApi(other, dir.token).api;
      const id = dir.token.split('_')[1];
      const res = await oldApi('POST', `/tokens/${id}/rotate`);
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body).toMatchObject({ role: 'admin', scopes: null, expiresAt: null, replaced: id });
      expect(res.body.id).not.toBe(id);
      expect((await oldApi('GET', '/scopes')).status).toBe(401);
      const newApi = appApi(other, res.body.token).api;
      expect((await newApi('POST', '/scopes', { scope: 'registry.acme.io' })).status).toBe(201);
      const listed = (await newApi('GET', '/tokens')).body.tokens;
      expect(listed.find((t: { id: string }) => t.id === id).status).toBe('revoked');
      // Now the old one can go, and the new one is the last admin token.
      expect((await newApi('DELETE', `/tokens/${res.body.id}`)).body.code).toBe('LAST_ADMIN_TOKEN');
    } finally {
      await other.close();
    }
  });
});
