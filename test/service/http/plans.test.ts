/**
 * Issue 21: every admin write previews its plan with ?dryRun=true, and the plan equals the diff
 * that the same write then publishes (GET /api/v1/diff between the versions before and after).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFixtureText } from '../../../fixtures/index.js';
import { openInstance, type Instance } from '../../../service/instance.js';
import { expectedCertId, expectedSpkiId } from '../crypto/helpers.js';
import { appApi, cleanupTempDirs, newDataDir, scopePath, type Api } from '../../support/service.js';

const ROOT_CA = readFixtureText('certs/root-ca.pem');
const EC_KEY = readFixtureText('keys/ec-p256.pub.pem');
const ED_KEY = readFixtureText('keys/ed25519.pub.pem');

let instance: Instance;
let api: Api;
let app: ReturnType<typeof appApi>['app'];
let token: string;

beforeAll(async () => {
  const dir = await newDataDir();
  instance = await openInstance({ dataDir: dir.dataDir });
  ({ api, app } = appApi(instance, dir.token));
  token = dir.token;
  const setup = await api('POST', '/apply', {
    scopes: [
      { scope: 'registry.acme.io', level: 'strict', anchors: [{ certificate: ROOT_CA, name: 'acme-root', type: 'ca' }] },
      { scope: 'registry.acme.io/team-a', anchors: [{ publicKey: EC_KEY, name: 'ci' }] },
      { scope: 'registry.acme.io/team-b' },
    ],
  });
  expect(setup.status, JSON.stringify(setup.body)).toBe(200);
});
afterAll(async () => {
  await instance?.close();
  cleanupTempDirs();
});

const timestampVersion = () => instance.publisher.latestMetadata('timestamp')!.version;

/** Plans `path` with dryRun, checks nothing changed, then makes the write and compares the plan with the published diff. */
async function planEqualsDiff(method: string, path: string, body?: unknown) {
  const before = timestampVersion();
  const sep = path.includes('?') ? '&' : '?';
  const planned = await api(method, `${path}${sep}dryRun=true`, body);
  expect(planned.status, JSON.stringify(planned.body)).toBe(200);
  expect(planned.body).toMatchObject({ dryRun: true, published: null });
  await instance.publisher.flush();
  expect(timestampVersion()).toBe(before);
  const done = await api(method, path, body);
  expect(done.status, JSON.stringify(done.body)).toBeLessThan(300);
  const v = done.body.published.timestampVersion as number;
  const diff = await api('GET', `/diff?from=${before}&to=${v}`);
  expect(diff.status, JSON.stringify(diff.body)).toBe(200);
  expect(diff.body.changes).toEqual(planned.body.plan);
  expect(planned.body.plan.length).toBeGreaterThan(0);
  return planned.body.plan as { scope: string; change: string; anchorsAdded: { id: string; definedAt: string }[]; anchorsRemoved: { id: string }[]; revoked: { id: string }[]; level?: unknown }[];
}

describe('the plan of each write kind equals the diff it publishes', () => {
  it('anchor add: the anchor shows in the scope and every scope inheriting it', async () => {
    const plan = await planEqualsDiff('POST', `${scopePath('registry.acme.io')}/anchors`, { publicKey: ED_KEY, name: 'release' });
    expect(plan.map((p) => p.scope)).toEqual(['registry.acme.io', 'registry.acme.io/team-a', 'registry.acme.io/team-b']);
    expect(plan[1]!.anchorsAdded).toEqual([expect.objectContaining({ id: expectedSpkiId(ED_KEY), definedAt: 'registry.acme.io' })]);
  });

  it('revoke key without scope: every scope that trusted it loses it and lists the revocation', async () => {
    const plan = await planEqualsDiff('POST', '/revocations', { kind: 'key', id: expectedSpkiId(ED_KEY), reason: 'keyCompromise' });
    expect(plan.find((p) => p.scope === 'registry.acme.io/team-a')).toMatchObject({ anchorsRemoved: [{ id: expectedSpkiId(ED_KEY) }], revoked: [{ id: expectedSpkiId(ED_KEY) }] });
  });

  it('revoke signature at a scope: only that scope', async () => {
    const digest = `sha256:${'ab'.repeat(32)}`;
    const plan = await planEqualsDiff('POST', '/revocations', { kind: 'signature', digest, scope: 'registry.acme.io/team-b' });
    expect(plan.map((p) => [p.scope, p.revoked.map((r) => r.id)])).toEqual([['registry.acme.io/team-b', [digest]]]);
  });

  it('anchor rm: an inherited CA leaves the children too', async () => {
    const plan = await planEqualsDiff('DELETE', `${scopePath('registry.acme.io')}/anchors/${encodeURIComponent(expectedCertId(ROOT_CA))}`);
    expect(plan.map((p) => p.scope)).toEqual(['registry.acme.io', 'registry.acme.io/team-a', 'registry.acme.io/team-b']);
  });

  it('apply: level changes', async () => {
    const plan = await planEqualsDiff('POST', '/apply', { scopes: [{ scope: 'registry.acme.io', level: 'audit' }] });
    expect(plan.find((p) => p.scope === 'registry.acme.io')?.level).toEqual({ from: 'strict', to: 'audit' });
  });

  it('scope add: the new scope, with the anchors it inherits', async () => {
    const plan = await planEqualsDiff('POST', '/scopes', { scope: 'registry.acme.io/team-c', level: 'strict' });
    expect(plan).toEqual([expect.objectContaining({ scope: 'registry.acme.io/team-c', change: 'create' })]);
    expect((await api('DELETE', scopePath('registry.acme.io/team-c'))).status).toBe(200);
  });

  it('anchor block and unblock: the blocked anchor leaves the scope and those inheriting it, and comes back', async () => {
    const id = expectedSpkiId(EC_KEY);
    const blocked = await planEqualsDiff('POST', `${scopePath('registry.acme.io/team-a')}/blocks`, { id });
    expect(blocked.map((p) => [p.scope, p.anchorsRemoved.map((a) => a.id)])).toEqual([['registry.acme.io/team-a', [id]]]);
    const lifted = await planEqualsDiff('DELETE', `${scopePath('registry.acme.io/team-a')}/blocks/${encodeURIComponent(id)}`);
    expect(lifted.map((p) => [p.scope, p.anchorsAdded.map((a) => a.id)])).toEqual([['registry.acme.io/team-a', [id]]]);
  });

  it('scope rm: the scope is removed', async () => {
    const plan = await planEqualsDiff('DELETE', scopePath('registry.acme.io/team-b'));
    expect(plan).toEqual([expect.objectContaining({ scope: 'registry.acme.io/team-b', change: 'remove' })]);
  });
});

describe('diff between versions', () => {
  it('spans several versions, filters by scope, and refuses a version never published', async () => {
    const first = await api('GET', '/diff?from=1');
    expect(first.body.to).toBe(timestampVersion());
    // From nothing to now: the scopes that exist, created.
    expect(first.body.changes.map((p: { scope: string; change: string }) => [p.scope, p.change])).toEqual([
      ['registry.acme.io', 'create'],
      ['registry.acme.io/team-a', 'create'],
    ]);
    const teamA = await api('GET', `/diff?from=1&scope=${encodeURIComponent('registry.acme.io/team-a')}`);
    expect(teamA.body.changes.map((p: { scope: string }) => p.scope)).toEqual(['registry.acme.io/team-a']);
    expect((await api('GET', `/diff?to=${timestampVersion() + 1}`)).body.code).toBe('VERSION_UNKNOWN');
    const history = await api('GET', '/history?limit=3');
    expect(history.body.versions.map((v: { version: number }) => v.version)).toEqual([timestampVersion(), timestampVersion() - 1, timestampVersion() - 2]);
  });
});

describe('the console', () => {
  it('shows the version history with diffs and the audit entries that caused them, and the rollout', async () => {
    const cookieFrom = (res: Response, name: string) => res.headers.getSetCookie().find((c) => c.startsWith(`${name}=`))!.split(';')[0]!;
    const first = await app.request('/ui/');
    const pre = cookieFrom(first, 'ks_signin');
    const csrf = /name="csrf" value="([^"]+)"/.exec(await first.text())![1]!;
    const signin = await app.request('/ui/signin', {
      method: 'POST',
      headers: { cookie: pre, 'content-type': 'application/x-www-form-urlencoded', origin: 'http://localhost' },
      body: new URLSearchParams({ token, csrf }).toString(),
    });
    const cookie = cookieFrom(signin, 'ks_session');
    const history = await (await app.request('/ui/history', { headers: { cookie } })).text();
    expect(history).toContain(`Version ${timestampVersion()}`);
    expect(history).toContain('registry.acme.io/team-b</code>: remove');
    expect(history, history.slice(history.indexOf("<main"))).toMatch(/#\d+ scope\.delete/);
    const rollout = await (await app.request('/ui/rollout', { headers: { cookie } })).text();
    expect(rollout).toContain(`sha256:${'ab'.repeat(32)}`);
    expect(rollout).toContain('0 of 0 (100%)');
    // Plans are not audited: only the changes are.
    const audit = (await api('GET', '/audit')).body.entries as { action: string }[];
    expect(audit.filter((e) => e.action.startsWith('DELETE ') || e.action.startsWith('POST '))).toEqual([]);
  });
});
