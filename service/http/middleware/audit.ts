import type { MiddlewareHandler } from 'hono';
import { ForbiddenError } from '../../auth/authorize.js';
import { parseToken } from '../../auth/tokens.js';
import { Codes, isKeyshareError } from '../../errors.js';
import type { AppEnv } from '../context.js';

/** Requests whose route recorded its own entry (service/http/authz.ts `audited`). */
const recorded = new WeakSet<Request>();
export function markAudited(req: Request): void {
  recorded.add(req);
}

/**
 * The audit log's view of the admin API. Mounted before authentication, it sees the error
 * that any later middleware or route threw (hono sets `c.error` before the error handler
 * answers). It records every denied attempt (UNAUTHORIZED and FORBIDDEN), and, for a write
 * route that does not record its own entry (root and key ceremonies, and routes added later),
 * an entry after the request: `ok` when it succeeded, `failed` with the code when it did not.
 */
export function auditRequests(): MiddlewareHandler<AppEnv> {
  return async function auditRequestsMiddleware(c, next) {
    await next();
    const err = c.error;
    const principal = c.get('principal') as AppEnv['Variables']['principal'] | undefined;
    if (!isKeyshareError(err) || (err.code !== Codes.UNAUTHORIZED && err.code !== Codes.FORBIDDEN)) {
      const write = c.req.method !== 'GET' && c.req.method !== 'HEAD' && c.req.method !== 'OPTIONS';
      if (!write || !principal || recorded.has(c.req.raw) || (!err && c.res.status >= 400)) return;
      await c.get('instance').audit.append({
        actor: principal.tokenId,
        action: `${c.req.method} ${c.req.path}`,
        outcome: err ? 'failed' : 'ok',
        details: { method: c.req.method, path: c.req.path, ...(err ? { code: isKeyshareError(err) ? err.code : Codes.INTERNAL } : { status: c.res.status }) },
      });
      return;
    }
    const details: Record<string, unknown> = { method: c.req.method, path: c.req.path, code: err.code, message: err.message };
    if (!principal) {
      // Who it claimed to be, if the token has our shape (never the secret).
      const m = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '');
      const claimed = m ? parseToken(m[1]!) : null;
      if (claimed) details.claimedTokenId = claimed.id;
    }
    const forbidden = err instanceof ForbiddenError ? err : null;
    const scopes = forbidden?.scopes ?? [];
    await c.get('instance').audit.append({
      actor: principal?.tokenId ?? null,
      action: forbidden?.action ?? `${c.req.method} ${c.req.path}`,
      outcome: 'denied',
      scope: scopes.length === 1 ? scopes[0] ?? null : null,
      details: scopes.length > 1 ? { ...details, scopes } : details,
    });
  };
}
