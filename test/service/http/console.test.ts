/**
 * The web console over app.request() (the browser flow is in test/e2e/console.test.ts): the
 * session cookie, CSRF protection, token rights, and sessions that end with their token.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openInstance, type Instance } from '../../../service/instance.js';
import { readFixtureText } from '../../../fixtures/index.js';
import { appApi, cleanupTempDirs, newDataDir, scopePath, type Api } from '../../support/service.js';
import { sqlRows } from '../../support/store.js';

const ORIGIN = 'http://localhost';
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const csrfIn = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';
const cookieFrom = (res: Response, name: string) => res.headers.getSetCookie().find((c) => c.startsWith(`${name}=`));

describe('the web console', () => {
  let instance: Instance;
  let token: string;
  let app: ReturnType<typeof appApi>['app'];
  let api: Api;

  beforeAll(async () => {
    const d = await newDataDir();
    token = d.token;
    instance = await openInstance({ dataDir: d.dataDir });
    ({ app, api } = appApi(instance, token));
    await api('POST', '/scopes', { scope: 'registry.acme.io' });
    await api('POST', '/scopes', { scope: 'registry.acme.io/team-a' });
  });
  afterAll(async () => {
    await instance.close();
    cleanupTempDirs();
  });

  /** Signs in with `t`; returns the session cookie and the page's CSRF token. */
  async function signIn(t: string): Promise<{ cookie: string; csrf: string; res: Response }> {
    const page = await app.request('/ui/');
    const pre = cookieFrom(page, 'ks_signin')!.split(';')[0]!;
    const res = await app.request('/ui/signin', {
      method: 'POST',
      headers: { cookie: pre, 'content-type': 'application/x-www-form-urlencoded', origin: ORIGIN },
      body: form({ token: t, csrf: csrfIn(await page.text()) }),
    });
    const set = cookieFrom(res, 'ks_session');
    if (!set) return { cookie: '', csrf: '', res };
    const cookie = set.split(';')[0]!;
    const scopes = await app.request('/ui/scopes', { headers: { cookie } });
    return { cookie, csrf: csrfIn(await scopes.text()), res };
  }

  const post = (path: string, cookie: string, fields: Record<string, string>, origin = ORIGIN) =>
    app.request(path, { method: 'POST', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', origin }, body: form(fields) });

  it('shows a sign-in form with a field named token, and no data, without a session', async () => {
    const res = await app.request('/ui/scopes');
    const html = await res.text();
    expect(html).toContain('name="token"');
    expect(html).not.toContain('registry.acme.io');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('sets an HttpOnly, SameSite=Strict session cookie that is not the token', async () => {
    const { res } = await signIn(token);
    expect(res.status).toBe(303);
    const set = cookieFrom(res, 'ks_session')!;
    expect(set).toMatch(/; HttpOnly/);
    expect(set).toMatch(/; SameSite=Strict/);
    expect(set).toMatch(/; Path=\/ui/);
    expect(set).not.toContain(token);
    expect(set).not.toContain(token.slice(16));
  });

  it('refuses a wrong token, and a sign-in without its CSRF pair', async () => {
    const bad = await signIn(`${token.slice(0, -3)}abc`);
    expect(bad.res.status).toBe(401);
    expect(bad.cookie).toBe('');
    const noPair = await app.request('/ui/signin', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: ORIGIN },
      body: form({ token, csrf: 'guess' }),
    });
    expect(noPair.status).toBe(400);
    expect(cookieFrom(noPair, 'ks_session')).toBeUndefined();
  });

  it('refuses a form post without the CSRF token, or from another origin', async () => {
    const { cookie, csrf } = await signIn(token);
    const missing = await post('/ui/scopes', cookie, { scope: 'csrf.example' });
    expect(missing.status).toBe(403);
    const wrong = await post('/ui/scopes', cookie, { scope: 'csrf.example', csrf: csrf.slice(0, -1) + 'x' });
    expect(wrong.status).toBe(403);
    const cross = await post('/ui/scopes', cookie, { scope: 'csrf.example', csrf }, 'https://evil.example');
    expect(cross.status).toBe(403);
    expect(await instance.store.getScope('csrf.example')).toBeNull();
    const ok = await post('/ui/scopes', cookie, { scope: 'csrf.example', csrf });
    expect(ok.status).toBe(303);
    expect(await instance.store.getScope('csrf.example')).not.toBeNull();
  });

  it('adds a scope, an anchor (pasted) and a revocation through the same operations as the API, audited', async () => {
    const { cookie, csrf } = await signIn(token);
    expect((await post('/ui/scopes', cookie, { scope: 'registry.acme.io/team-b', level: 'audit', noInherit: '1', csrf })).status).toBe(303);
    expect(await instance.store.getScope('registry.acme.io/team-b')).toMatchObject({ inherit: false, level: 'audit' });
    const res = await post('/ui/anchors', cookie, { scope: 'registry.acme.io/team-b', material: readFixtureText('keys/ec-p256.pub.pem'), name: 'ci', csrf });
    expect(res.status).toBe(303);
    const [anchor] = await instance.store.listAnchors(['registry.acme.io/team-b']);
    expect(anchor).toMatchObject({ type: 'publicKey', name: 'ci' });
    const page = await (await app.request('/ui/scopes', { headers: { cookie } })).text();
    expect(page).toContain(`Added publicKey anchor ci (${anchor!.id}) to registry.acme.io/team-b.`);
    // Issue 21: the first post answers the plan and changes nothing; the confirmed post revokes.
    const form = { kind: 'key', id: anchor!.id, reason: 'keyCompromise', scope: 'registry.acme.io/team-b', csrf };
    const asked = await (await post('/ui/revocations', cookie, form)).text();
    expect(asked).toContain('<h1>Confirm</h1>');
    expect(asked).toContain('name="confirm" value="1"');
    expect((await instance.store.listRevocations()).keys).toEqual([]);
    await post('/ui/revocations', cookie, { ...form, confirm: '1' });
    expect((await instance.store.listRevocations()).keys).toContainEqual(expect.objectContaining({ id: anchor!.id, reason: 'keyCompromise', scope: 'registry.acme.io/team-b' }));
    const audit = (await api('GET', '/audit')).body;
    const entries: { action: string; details: { via?: string } | null; outcome: string }[] = audit.entries ?? audit;
    const mine = entries.filter((e) => e.details?.via === 'console').map((e) => `${e.action} ${e.outcome}`);
    expect(mine).toEqual(expect.arrayContaining(['scope.create ok', 'anchor.add ok', 'revocation.add ok']));
  });

  it('reports a refused change by its code, and changes nothing', async () => {
    const { cookie, csrf } = await signIn(token);
    await post('/ui/anchors', cookie, { scope: 'registry.acme.io', material: readFixtureText('certs/non-ca.pem'), csrf });
    const page = await (await app.request('/ui/scopes', { headers: { cookie } })).text();
    expect(page).toMatch(/role="alert"[^>]*>Could not add the anchor to registry.acme.io: NOT_A_CA: /);
    expect(await instance.store.listAnchors(['registry.acme.io'])).toEqual([]);
  });

  it('lets a reader see but not change, and keeps an editor inside its scopes', async () => {
    const reader = (await api('POST', '/tokens', { role: 'reader' })).body.token as string;
    const r = await signIn(reader);
    const scopes = await (await app.request('/ui/scopes', { headers: { cookie: r.cookie } })).text();
    expect(scopes).toContain('registry.acme.io/team-a');
    expect(scopes).not.toContain('action="/ui/anchors"');
    await post('/ui/scopes', r.cookie, { scope: 'reader.example', csrf: r.csrf });
    expect(await instance.store.getScope('reader.example')).toBeNull();

    const editor = (await api('POST', '/tokens', { role: 'editor', scopes: ['registry.acme.io/team-a'] })).body.token as string;
    const e = await signIn(editor);
    await post('/ui/scopes', e.cookie, { scope: 'registry.acme.io/team-a/app', csrf: e.csrf });
    expect(await instance.store.getScope('registry.acme.io/team-a/app')).not.toBeNull();
    await post('/ui/scopes', e.cookie, { scope: 'registry.acme.io/other', csrf: e.csrf });
    expect(await instance.store.getScope('registry.acme.io/other')).toBeNull();
    const page = await (await app.request('/ui/scopes', { headers: { cookie: e.cookie } })).text();
    expect(page).toContain('FORBIDDEN');
  });

  it('ends a session when its token is revoked, and at sign-out', async () => {
    const created = (await api('POST', '/tokens', { role: 'admin' })).body;
    const s = await signIn(created.token);
    expect((await app.request('/ui/audit', { headers: { cookie: s.cookie } })).status).toBe(200);
    expect(await (await app.request('/ui/audit', { headers: { cookie: s.cookie } })).text()).toContain('<h1>Audit log</h1>');
    await api('DELETE', `/tokens/${created.id}`);
    expect(await (await app.request('/ui/audit', { headers: { cookie: s.cookie } })).text()).toContain('<h1>Sign in</h1>');

    const t = await signIn(token);
    const out = await post('/ui/signout', t.cookie, { csrf: t.csrf });
    expect(out.status).toBe(303);
    expect(await (await app.request('/ui/', { headers: { cookie: t.cookie } })).text()).toContain('<h1>Sign in</h1>');
  });

  it('shows CRLs with their nextUpdate and upstreams with their lag and last error', async () => {
    const { cookie } = await signIn(token);
    const issuer = `sha256:${'c'.repeat(64)}`;
    const stale = new Date(Date.now() - 3600_000).toISOString();
    await sqlRows(instance.store, `INSERT INTO crls (issuer, crl_number, this_update, next_update, der, updated_at) VALUES (?, '2a', ?, ?, ?, ?)`, [issuer, stale, stale, Buffer.from([0]), stale]);
    const lastSync = new Date(Date.now() - 3 * 3600_000).toISOString();
    await instance.store.putUpstream({
      name: 'corp-hq',
      url: 'https://hq.example',
      mode: 'mirror',
      scopes: null,
      root: Buffer.from('{}'),
      state: null,
      timestampVersion: 17,
      lastSuccessAt: lastSync,
      lastError: 'HTTP 503',
      createdAt: lastSync,
    });
    const crls = await (await app.request('/ui/crls', { headers: { cookie } })).text();
    expect(crls).toContain(issuer);
    // Stored as hex 2a, shown in decimal as openssl does (issue 15).
    expect(crls).toContain('<code>42</code>');
    expect(crls).toContain(`Stale since ${stale}`);
    const upstreams = await (await app.request('/ui/upstreams', { headers: { cookie } })).text();
    expect(upstreams).toContain('corp-hq');
    expect(upstreams).toContain('3 hours behind');
    expect(upstreams).toContain('HTTP 503');
    expect(upstreams).toContain('>17<');
    // And the overview says so at a glance.
    const overview = await (await app.request('/ui/', { headers: { cookie } })).text();
    expect(overview).toContain('Needs attention');
    expect(overview).toContain('1 CRL is past nextUpdate');
    expect(overview).toContain('Last sync failed: corp-hq');
  });

  it('says where a level comes from, why a scope has no effective anchors, links scope names, and shows the target of anchor.add', async () => {
    await api('POST', '/scopes', { scope: 'nits.acme.io', level: 'audit' });
    await api('POST', '/scopes', { scope: 'nits.acme.io/child' });
    await api('POST', '/scopes', { scope: 'lonely.acme.io' });
    await api('POST', '/scopes', { scope: 'gone.acme.io', inherit: false });
    const added = await api('POST', scopePath('gone.acme.io') + '/anchors', { publicKey: readFixtureText('keys/ed25519.pub.pem'), name: 'old' });
    await api('POST', '/revocations', { kind: 'key', id: added.body.anchor.id, reason: 'keyCompromise' });
    const { cookie } = await signIn(token);
    const page = await (await app.request('/ui/scopes', { headers: { cookie } })).text();
    const section = (scope: string) => page.slice(page.indexOf(`id="scope-${encodeURIComponent(scope)}"`)).split('</section>')[0]!;
    expect(section('lonely.acme.io')).toContain('(default)');
    expect(section('lonely.acme.io')).not.toContain('inherited');
    expect(section('lonely.acme.io')).toContain('No effective anchors: none is defined here');
    expect(section('nits.acme.io/child')).toContain('(inherited from nits.acme.io)');
    expect(section('gone.acme.io')).toContain('No effective anchors: the one anchor defined here is revoked.');
    expect(page).toContain(`<a href="/ui/scopes#scope-${encodeURIComponent('nits.acme.io/child')}"><code>nits.acme.io/child</code></a>`);
    const entries: { action: string; target: string | null }[] = (await api('GET', '/audit')).body.entries;
    expect(entries.filter((e) => e.action === 'anchor.add' && e.target === added.body.anchor.id)).toHaveLength(1);
    const audit = await (await app.request('/ui/audit', { headers: { cookie } })).text();
    expect(audit).toContain(added.body.anchor.id);
  });

  it('renders every view', async () => {
    const { cookie } = await signIn(token);
    for (const [path, title] of [
      ['/ui/', 'Overview'],
      ['/ui/scopes', 'Scopes'],
      ['/ui/revocations', 'Revocations'],
      ['/ui/crls', 'CRLs'],
      ['/ui/upstreams', 'Upstreams'],
      ['/ui/repository', 'Repository'],
      ['/ui/audit', 'Audit log'],
    ]) {
      const res = await app.request(path!, { headers: { cookie } });
      expect(res.status, path).toBe(200);
      const html = await res.text();
      expect(html, path).toContain(`<h1>${title}</h1>`);
      expect(html, path).toContain('<html lang="en">');
      expect(html, path).not.toContain('<script');
    }
    const repo = await (await app.request('/ui/repository', { headers: { cookie } })).text();
    for (const role of ['root', 'timestamp', 'snapshot', 'targets']) expect(repo).toContain(`<th scope="row">${role}</th>`);
  });
});

describe('the web console on a moving clock (issue 24 test audit, row 8)', () => {
  it('ends a session at its TTL, flags anchors expiring within 30 days, and warns of the root expiry', async () => {
    const { createApp } = await import('../../../service/http/app.js');
    const d = await newDataDir();
    const instance = await openInstance({ dataDir: d.dataDir });
    try {
      let now = new Date();
      const app = createApp({ instance, console: { sessionTtlSeconds: 60, clock: () => now } });
      const { api } = appApi(instance, d.token);
      expect((await api('POST', '/scopes', { scope: 'clock.example' })).status).toBe(201);
      expect((await api('POST', '/scopes/clock.example/anchors', { certificate: readFixtureText('certs/root-ca.pem'), type: 'ca', name: 'soon-expiring' })).status).toBe(201);
      const [anchor] = await instance.store.listAnchors(['clock.example']);
      const signIn = async () => {
        const page = await app.request('/ui/');
        const pre = cookieFrom(page, 'ks_signin')!.split(';')[0]!;
        const res = await app.request('/ui/signin', {
          method: 'POST',
          headers: { cookie: pre, 'content-type': 'application/x-www-form-urlencoded', origin: ORIGIN },
          body: form({ token: d.token, csrf: csrfIn(await page.text()) }),
        });
        const cookie = cookieFrom(res, 'ks_session')!.split(';')[0]!;
        return async () => (await app.request('/ui/', { headers: { cookie } })).text();
      };

      // The session lasts its TTL (60 s here), then the console asks to sign in again.
      const overview = await signIn();
      now = new Date(now.getTime() + 30_000);
      expect(await overview()).toContain('<h1>Overview</h1>');
      now = new Date(now.getTime() + 31_000);
      expect(await overview()).toContain('<h1>Sign in</h1>');

      // 20 days before the anchor's notAfter, the overview lists it as expiring.
      now = new Date(Date.parse(anchor!.notAfter!) - 20 * 86_400_000);
      expect(await (await signIn())()).toMatch(/Anchors expiring within 30 days[\s\S]*soon-expiring/);

      // 20 days before the root expires, the overview warns of it.
      now = new Date(Date.parse(instance.publisher.latestMetadata('root')!.expires) - 20 * 86_400_000);
      expect(await (await signIn())()).toMatch(/root v1 expires [^<]*, in 20 days/);
    } finally {
      await instance.close();
    }
  });
});
