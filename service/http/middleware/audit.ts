import type { MiddlewareHandler } from 'hono';
import { ForbiddenError } from '../../auth/authorize.js';
import { parseToken } from '../../auth/tokens.js';
import { Codes, isKeyshareError } from '../../errors.js';
import type { AppEnv } from '../context.js';

/**
 * Records every denied attempt on the admin API (UNAUTHORIZED and FORBIDDEN) in the audit log.
 * Mounted before authentication, it sees the error that any later middleware or route threw
 * (hono sets `c.error` before the error handler answers).
 */
export function auditDenials(): MiddlewareHandler<AppEnv> {
  return async function auditDenialsMiddleware(c, next) {
    await next();
    const err = c.error;
    if (!isKeyshareError(err) || (err.code !== Codes.UNAUTHORIZED && err.code !== Codes.FORBIDDEN)) return;
    const principal = c.get('principal') as AppEnv['Variables']['principal'] | undefined;
    const details: Record<string, unknown> = { method: c.req.method, path: c.req.path, code: err.code, message: err.message };
    if (!principal) {
      // Who it claimed to be, if the token has our shape (never the secret).
      const m = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '');
      const claimed = m ? parseToken(m[1]!) : null;
      if (claimed) details.claimedTokenId = claimed.id;
    }
    const forbidden = err instanceof ForbiddenError ? err : null;
    const scopes = forbidden?.scopes ?? [];
    c.get('instance').audit.append({
      actor: principal?.tokenId ?? null,
      action: forbidden?.action ?? `${c.req.method} ${c.req.path}`,
      outcome: 'denied',
      scope: scopes.length === 1 ? scopes[0] ?? null : null,
      details: scopes.length > 1 ? { ...details, scopes } : details,
    });
  };
}
