/**
 * The authorisation matrix (issue 7): role (admin, editor, reader) × own or other scope × each
 * write endpoint of the admin API, through createApp().request() with no socket.
 * The editor's pattern is `registry.acme.io/team-a`; "other" is `registry.acme.io/team-b`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFixture, readFixtureText } from '../../../fixtures/index.js';
import { openInstance, type Instance } from '../../../service/instance.js';
import { appApi, cleanupTempDirs, newDataDir, scopePath, type Api, type ApiResponse } from '../../support/service.js';

type Role = 'admin' | 'editor' | 'reader';
type Where = 'own' | 'other';

const OWN = 'registry.acme.io/team-a';
const OTHER = 'registry.acme.io/team-b';
const KEY_PEM = readFixtureText('keys/ec-p256.pub.pem');

let instance: Instance;
const apis = {} as Record<Role, Api>;
let seq = 0;
/** A fresh scope under own or other, so that every cell starts from the same state. */
const fresh = (where: Where) => `${where === 'own' ? OWN : OTHER}/c${++seq}`;
const randomKeyId = () => `sha256:${(++seq).toString(16).padStart(64, '0')}`;

beforeAll(async () => {
  const dir = await newDataDir();
  instance = await openInstance({ dataDir: dir.dataDir });
  apis.admin = appApi(instance, dir.token).api;
  const mint = async (role: Role, scopes?: string[]) => (await instance.tokens.create('test', { role, scopes })).token;
  apis.editor = appApi(instance, await mint('editor', [OWN])).api;
  apis.reader = appApi(instance, await mint('reader')).api;
  for (const scope of ['registry.acme.io', OWN, OTHER]) await instance.service.createScope({ scope });
});
afterAll(async () => {
  await instance?.close();
  cleanupTempDirs();
});

interface Endpoint {
  name: string;
  /** Sets up what the request needs (as admin, directly) and returns the request and a check that it took effect. */
  prepare(scope: string): Promise<{ method: string; path: string; body?: unknown; status: number; applied: () => Promise<boolean> }>;
}

const hasScope = async (s: string) => (await instance.store.getScope(s)) !== null;
const hasAnchor = async (s: string, id: string) => (await instance.store.getAnchor(s, id)) !== null;
const keyRevokedAt = async (id: string, s: string | null) => (await instance.store.listRevocations()).keys.some((k) => k.id === id && (k.scope ?? null) === s);

const endpoints: Endpoint[] = [
  {
    name: 'POST /scopes',
    prepare: async (scope) => ({ method: 'POST', path: '/scopes', body: { scope }, status: 201, applied: () => hasScope(scope) }),
  },
  {
    name: 'DELETE /scopes/{scope}',
    prepare: async (scope) => {
      await instance.service.createScope({ scope });
      return { method: 'DELETE', path: scopePath(scope), status: 200, applied: async () => !(await hasScope(scope)) };
    },
  },
  {
    name: 'POST /scopes/{scope}/anchors',
    prepare: async (scope) => {
      await instance.service.createScope({ scope });
      return {
        method: 'POST',
        path: `${scopePath(scope)}/anchors`,
        body: { publicKey: KEY_PEM, name: 'ci' },
        status: 201,
        applied: async () => (await instance.store.listAnchors([scope])).length === 1,
      };
    },
  },
  {
    name: 'DELETE /scopes/{scope}/anchors/{id}',
    prepare: async (scope) => {
      await instance.service.createScope({ scope });
      const { anchor } = await instance.service.addAnchor(scope, { publicKey: KEY_PEM, name: 'ci' });
      return { method: 'DELETE', path: `${scopePath(scope)}/anchors/${encodeURIComponent(anchor.id)}`, status: 200, applied: async () => !(await hasAnchor(scope, anchor.id)) };
    },
  },
  {
    name: 'POST /revocations',
    prepare: async (scope) => {
      const id = randomKeyId();
      return { method: 'POST', path: '/revocations', body: { kind: 'key', id, scope, reason: 'keyCompromise' }, status: 201, applied: () => keyRevokedAt(id, scope) };
    },
  },
  {
    name: 'POST /apply',
    prepare: async (scope) => {
      const id = randomKeyId();
      return {
        method: 'POST',
        path: '/apply',
        body: { scopes: [{ scope, level: 'strict', anchors: [{ publicKey: KEY_PEM, name: 'ci' }] }], revoked: { keys: [{ id, scope }] } },
        status: 200,
        applied: async () => (await hasScope(scope)) && (await instance.store.listAnchors([scope])).length === 1 && (await keyRevokedAt(id, scope)),
      };
    },
  },
];

const article = (role: Role) => (role === 'reader' ? 'a reader' : `an ${role}`);

/** admin: everything; editor: only inside its pattern; reader: nothing. */
const allowed = (role: Role, where: Where) => role === 'admin' || (role === 'editor' && where === 'own');

async function call(role: Role, req: { method: string; path: string; body?: unknown }): Promise<ApiResponse> {
  return apis[role](req.method, req.path, req.body);
}

for (const ep of endpoints) {
  describe(`${ep.name}`, () => {
    for (const role of ['admin', 'editor', 'reader'] as Role[]) {
      for (const where of ['own', 'other'] as Where[]) {
        const verdict = allowed(role, where) ? 'allows' : 'forbids';
        it(`${verdict} ${article(role)} token at ${where === 'own' ? "the editor's own" : 'another'} scope`, async () => {
          const scope = fresh(where);
          const req = await ep.prepare(scope);
          const res = await call(role, req);
          if (allowed(role, where)) {
            expect(res.status, JSON.stringify(res.body)).toBe(req.status);
            expect(await req.applied()).toBe(true);
          } else {
            expect(res.status, JSON.stringify(res.body)).toBe(403);
            expect(res.body.code).toBe('FORBIDDEN');
            expect(await req.applied()).toBe(false);
          }
        });
      }
    }
  });
}

describe('POST /crls (admin only: a CRL changes trust wherever its CA is an anchor)', () => {
  beforeAll(async () => {
    await instance.service.addAnchor(OWN, { certificate: readFixtureText('certs/root-ca.pem'), name: 'root' });
  });
  const body = () => ({ crl: readFixture('crls/root-ca.crl').toString('base64'), encoding: 'base64' });
  for (const role of ['editor', 'reader', 'admin'] as Role[]) {
    it(`${role === 'admin' ? 'allows' : 'forbids'} ${article(role)} token, even for a CA at the editor's own scope`, async () => {
      const res = await call(role, { method: 'POST', path: '/crls', body: body() });
      expect(res.status, JSON.stringify(res.body)).toBe(role === 'admin' ? 201 : 403);
      expect(await instance.store.listCrls()).toHaveLength(role === 'admin' ? 1 : 0);
      const last = (await instance.audit.list({ limit: 10_000 })).at(-1)!;
      expect(last).toMatchObject({ action: 'crl.add', outcome: role === 'admin' ? 'ok' : 'denied' });
    });
  }
});

describe('token endpoints', () => {
  const requests = async () => {
    const victim = async () => (await instance.tokens.create('test', { role: 'reader' })).id;
    return [
      { name: 'POST /tokens', method: 'POST', path: '/tokens', body: { role: 'reader' }, status: 201 },
      { name: 'GET /tokens', method: 'GET', path: '/tokens', status: 200 },
      { name: 'DELETE /tokens/{id}', method: 'DELETE', path: `/tokens/${await victim()}`, status: 200 },
      { name: 'POST /tokens/{id}/rotate', method: 'POST', path: `/tokens/${await victim()}/rotate`, status: 201 },
    ];
  };
  for (const role of ['admin', 'editor', 'reader'] as Role[]) {
    it(`${role === 'admin' ? 'allows' : 'forbids'} ${article(role)} token to manage tokens`, async () => {
      for (const req of await requests()) {
        const res = await call(role, req);
        expect(res.status, `${req.name}: ${JSON.stringify(res.body)}`).toBe(role === 'admin' ? req.status : 403);
      }
    });
  }
});

describe('when an editor reaches outside its pattern', () => {
  it('refuses to create the parent scope, which would govern other teams', async () => {
    for (const scope of ['*', '*.acme.io', 'registry.acme.io', 'registry.acme.io/other']) {
      const existed = await hasScope(scope);
      const r = await apis.editor('POST', '/scopes', { scope });
      expect(r.status, scope).toBe(403);
      expect(await hasScope(scope)).toBe(existed);
    }
    // nor remove it
    expect((await apis.editor('DELETE', scopePath('registry.acme.io'))).status).toBe(403);
    expect(await hasScope('registry.acme.io')).toBe(true);
  });

  it('refuses a sibling that only shares a prefix (team-a does not contain team-ab)', async () => {
    expect((await apis.editor('POST', '/scopes', { scope: `${OWN}b` })).status).toBe(403);
  });

  it('allows its pattern scope itself', async () => {
    const anchors = await apis.editor('POST', `${scopePath(OWN)}/anchors`, { publicKey: KEY_PEM, name: 'team-a' });
    expect(anchors.status, JSON.stringify(anchors.body)).toBe(201);
  });

  it('refuses a revocation without scope (it applies everywhere)', async () => {
    const id = randomKeyId();
    const res = await apis.editor('POST', '/revocations', { kind: 'key', id });
    expect(res.status).toBe(403);
    expect(await keyRevokedAt(id, null)).toBe(false);
    expect((await apis.admin('POST', '/revocations', { kind: 'key', id })).status).toBe(201);
  });

  it('refuses an apply file that touches another scope, and changes nothing', async () => {
    const mine = fresh('own');
    const theirs = fresh('other');
    const res = await apis.editor('POST', '/apply', { scopes: [{ scope: mine }, { scope: theirs }] });
    expect(res.status).toBe(403);
    expect((await hasScope(mine)) || (await hasScope(theirs))).toBe(false);
  });

  it('refuses an apply file with a revocation that applies everywhere', async () => {
    const mine = fresh('own');
    const res = await apis.editor('POST', '/apply', { scopes: [{ scope: mine }], revoked: { keys: [{ id: randomKeyId() }] } });
    expect(res.status).toBe(403);
    expect(await hasScope(mine)).toBe(false);
  });

  it('refuses apply --prune (it can remove any scope), which an admin may use', async () => {
    const file = { scopes: (await instance.store.listScopes()).map((s) => ({ scope: s.scope, inherit: s.inherit, level: s.level })) };
    const editor = await apis.editor('POST', '/apply?prune=true', { scopes: [{ scope: OWN }] });
    expect(editor.status).toBe(403);
    expect(await hasScope(OTHER)).toBe(true);
    const admin = await apis.admin('POST', '/apply?prune=true', file);
    expect(admin.status, JSON.stringify(admin.body)).toBe(200);
  });

  it('refuses writes that no route lets an editor make (default deny)', async () => {
    const res = await apis.editor('POST', '/some-future-endpoint', {});
    expect(res.status).toBe(403);
  });
});

describe('an editor with a wildcard pattern', () => {
  it('writes to registries under the domain, not to the domain itself or elsewhere', async () => {
    const token = (await instance.tokens.create('test', { role: 'editor', scopes: ['*.corp.example'] })).token;
    const { api } = appApi(instance, token);
    expect((await api('POST', '/scopes', { scope: 'ghcr.corp.example/team' })).status).toBe(201);
    expect((await api('POST', '/scopes', { scope: '*.eu.corp.example' })).status).toBe(201);
    expect((await api('POST', '/scopes', { scope: 'corp.example' })).status).toBe(403);
    expect((await api('POST', '/scopes', { scope: '*.example' })).status).toBe(403);
    expect((await api('POST', '/scopes', { scope: 'ghcr.io/corp.example' })).status).toBe(403);
  });
});

describe('reads', () => {
  for (const role of ['admin', 'editor', 'reader'] as Role[]) {
    it(`allow ${article(role)} token to read scopes, revocations and the audit log`, async () => {
      for (const path of ['/scopes', scopePath(OWN), scopePath(OTHER), '/revocations', '/audit', '/audit/verify']) {
        const res = await apis[role]('GET', path);
        expect(res.status, `${path}: ${JSON.stringify(res.body)}`).toBe(200);
      }
    });
  }
});
