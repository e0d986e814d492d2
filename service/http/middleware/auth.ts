import type { Context, MiddlewareHandler } from 'hono';
import { parseToken, secretMatches, type TokenRole } from '../../auth/tokens.js';
import { KeyshareError, Codes } from '../../errors.js';
import { Actions, authorizeAttempt } from '../../auth/authorize.js';
import type { AppEnv } from '../context.js';

/** Bearer-token authentication against hashed tokens in the store (constant-time compare). */
export function bearerAuth(options: { clock?: () => Date } = {}): MiddlewareHandler<AppEnv> {
  const clock = options.clock ?? (() => new Date());
  return async function bearerAuthMiddleware(c, next) {
    const record = await bearerToken(c, clock());
    if (!record) throw new KeyshareError(Codes.UNAUTHORIZED, 'a valid bearer token is required');
    c.set('principal', { tokenId: record.id, role: record.role as TokenRole, scopes: record.scopes });
    await next();
  };
}

/** The token record of a request's `Authorization: Bearer` header when it is valid (not revoked, not expired) at `now`; else null. */
export async function bearerToken(c: Context<AppEnv>, now: Date) {
  const header = c.req.header('authorization') ?? '';
  const m = /^Bearer\s+(\S+)$/i.exec(header);
  const parsed = m ? parseToken(m[1]!) : null;
  const record = parsed ? await c.get('instance').records.tokens.getToken(parsed.id) : null;
  const valid =
    parsed !== null &&
    record !== null &&
    secretMatches(parsed.secret, record.hash) &&
    record.revokedAt === null &&
    (record.expiresAt === null || Date.parse(record.expiresAt) > now.getTime());
  return valid ? record : null;
}

/**
 * Default deny for the admin API (authorisation rules: service/auth/authorize.ts). Reads pass;
 * the writes an editor may make inside its scopes pass on to their route, which calls
 * `authorize` with the scopes it writes; any other write (tokens, upstreams, CRLs, root and
 * key ceremonies, tenants, and every write route added later) needs an admin token.
 */
export function authorizeRequest(): MiddlewareHandler<AppEnv> {
  return async function authorizeRequestMiddleware(c, next) {
    const method = c.req.method.toUpperCase();
    if (method !== 'GET' && method !== 'HEAD') {
      const known = WRITE_ROUTES.find((r) => r.method === method && r.path.test(c.req.path));
      authorizeAttempt(c.get('principal'), known?.action ?? `${method} ${c.req.path}`);
    } else {
      // Reads pass for every role but `client` (issue 21: it only reports).
      authorizeAttempt(c.get('principal'), Actions.READ);
    }
    await next();
  };
}

/**
 * Write routes and their actions. Editors may attempt the scoped ones (each route then checks
 * the scopes it writes with `authorize`); a write not listed here is admin-only.
 */
const WRITE_ROUTES: { method: string; path: RegExp; action: string }[] = [
  { method: 'POST', path: /^\/api\/v1\/scopes\/?$/, action: Actions.SCOPE_CREATE },
  { method: 'DELETE', path: /^\/api\/v1\/scopes\/[^/]+\/?$/, action: Actions.SCOPE_DELETE },
  { method: 'POST', path: /^\/api\/v1\/scopes\/[^/]+\/anchors\/?$/, action: Actions.ANCHOR_ADD },
  { method: 'DELETE', path: /^\/api\/v1\/scopes\/[^/]+\/anchors\/[^/]+\/?$/, action: Actions.ANCHOR_REMOVE },
  { method: 'POST', path: /^\/api\/v1\/scopes\/[^/]+\/blocks\/?$/, action: Actions.ANCHOR_BLOCK },
  { method: 'DELETE', path: /^\/api\/v1\/scopes\/[^/]+\/blocks\/[^/]+\/?$/, action: Actions.ANCHOR_UNBLOCK },
  { method: 'POST', path: /^\/api\/v1\/revocations\/?$/, action: Actions.REVOKE },
  { method: 'POST', path: /^\/api\/v1\/apply\/?$/, action: Actions.APPLY },
  { method: 'POST', path: /^\/api\/v1\/tenants\/[^/]+\/signatures\/?$/, action: Actions.TENANT_SIGN },
  { method: 'POST', path: /^\/api\/v1\/crls\/?$/, action: Actions.CRL_ADD },
  { method: 'POST', path: /^\/api\/v1\/tokens\/?$/, action: Actions.TOKEN_CREATE },
  { method: 'DELETE', path: /^\/api\/v1\/tokens\/[^/]+\/?$/, action: Actions.TOKEN_REVOKE },
  { method: 'POST', path: /^\/api\/v1\/tokens\/[^/]+\/rotate\/?$/, action: Actions.TOKEN_ROTATE },
  { method: 'POST', path: /^\/api\/v1\/ca\/[^/]+\/certificates\/?$/, action: Actions.CA_ISSUE },
  { method: 'POST', path: /^\/api\/v1\/clients\/reports\/?$/, action: Actions.CLIENT_REPORT },
];
