/** The authorisation rules on their own (service/auth/authorize.ts): pure, no HTTP. */
import { describe, expect, it } from 'vitest';
import { Actions, applyFileScopes, authorize, authorizeAttempt, ForbiddenError } from '../../../service/auth/authorize.js';
import { parseDuration } from '../../../service/util/duration.js';

const admin = { role: 'admin' as const, scopes: null };
const reader = { role: 'reader' as const, scopes: null };
const editor = { role: 'editor' as const, scopes: ['registry.acme.io/team-a', '*.corp.example'] };

const forbidden = (f: () => void) => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ForbiddenError);
    expect((e as ForbiddenError).code).toBe('FORBIDDEN');
    return;
  }
  throw new Error('expected FORBIDDEN');
};

describe('authorize', () => {
  it('lets an admin do anything, anywhere, but report as a client (issue 21: only a client token reports)', () => {
    for (const action of Object.values(Actions)) if (action !== Actions.CLIENT_REPORT) authorize(admin, action, [null, '*']);
    authorize(admin, 'POST /api/v1/upstreams', []);
    forbidden(() => authorize(admin, Actions.CLIENT_REPORT, [null]));
  });

  it('lets a client token only report, not even read', () => {
    const client = { tokenId: 'c', role: 'client' as const, scopes: null };
    authorize(client, Actions.CLIENT_REPORT, [null]);
    authorizeAttempt(client, Actions.CLIENT_REPORT);
    for (const action of Object.values(Actions)) if (action !== Actions.CLIENT_REPORT) forbidden(() => authorize(client, action, [null]));
    forbidden(() => authorizeAttempt(client, Actions.READ));
  });

  it('lets a reader only read', () => {
    authorize(reader, Actions.READ, []);
    authorize(reader, Actions.AUDIT_READ, []);
    forbidden(() => authorize(reader, Actions.SCOPE_CREATE, ['registry.acme.io/team-a']));
    forbidden(() => authorizeAttempt(reader, Actions.APPLY));
  });

  it('lets an editor write inside its patterns only', () => {
    authorize(editor, Actions.SCOPE_CREATE, ['registry.acme.io/team-a']);
    authorize(editor, Actions.ANCHOR_ADD, ['registry.acme.io/team-a/app', 'ghcr.corp.example/x']);
    forbidden(() => authorize(editor, Actions.SCOPE_CREATE, ['registry.acme.io']));
    forbidden(() => authorize(editor, Actions.SCOPE_CREATE, ['*']));
    forbidden(() => authorize(editor, Actions.SCOPE_CREATE, ['registry.acme.io/team-ab']));
    forbidden(() => authorize(editor, Actions.ANCHOR_ADD, ['registry.acme.io/team-a', 'registry.acme.io/team-b']));
    forbidden(() => authorize(editor, Actions.REVOKE, [null]));
  });

  it('keeps tokens, prune and anything unlisted for admins', () => {
    for (const action of [Actions.TOKEN_CREATE, Actions.TOKEN_LIST, Actions.APPLY_PRUNE, 'POST /api/v1/crls', 'root.publish']) {
      forbidden(() => authorize(editor, action, ['registry.acme.io/team-a']));
      forbidden(() => authorizeAttempt(editor, action));
    }
  });

  it('gives an editor without patterns no writes', () => {
    forbidden(() => authorize({ role: 'editor', scopes: null }, Actions.SCOPE_CREATE, ['registry.acme.io']));
    forbidden(() => authorize({ role: 'editor', scopes: [] }, Actions.SCOPE_CREATE, ['registry.acme.io']));
  });

  it('refuses an invalid scope for an editor with SCOPE_INVALID', () => {
    expect(() => authorize(editor, Actions.SCOPE_CREATE, ['Registry.Acme.io'])).toThrow(expect.objectContaining({ code: 'SCOPE_INVALID' }));
  });
});

describe('applyFileScopes', () => {
  it('names every scope and every revocation scope, null for everywhere', () => {
    expect(
      applyFileScopes({
        scopes: [{ scope: 'a.io' }, { scope: 'b.io/x' }],
        revoked: { keys: [{ id: 'k', scope: 'a.io' }, { id: 'k2' }], signatures: [{ digest: 'd', scope: null }] },
      }),
    ).toEqual(['a.io', 'b.io/x', 'a.io', null, null]);
    expect(applyFileScopes({})).toEqual([]);
  });
});

describe('parseDuration', () => {
  it('reads s, m, h, d, w, y and sums', () => {
    expect(parseDuration('30d')).toBe(30 * 86_400_000);
    expect(parseDuration('12h')).toBe(12 * 3_600_000);
    expect(parseDuration('1d12h')).toBe(36 * 3_600_000);
    expect(parseDuration('1y')).toBe(365 * 86_400_000);
  });
  it('refuses anything else with BAD_REQUEST', () => {
    for (const bad of ['', '30', 'd', '-1d', '1.5d', '0s', '1000y', 'P30D']) {
      expect(() => parseDuration(bad), bad).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    }
  });
});
