import type { MiddlewareHandler } from 'hono';
import { ForbiddenError } from '../../auth/authorize.js';
import { parseToken } from '../../auth/tokens.js';
import { Codes, isKeyshareError } from '../../errors.js';
import { scrubSecrets } from '../../log.js';
import type { AppEnv } from '../context.js';

/** Requests whose route recorded its own entry (service/http/authz.ts `audited`). */
const recorded = new WeakSet<Request>();
export function markAudited(req: Request): void {
  recorded.add(req);
}

/** The longest path an audit entry keeps (issue 16, finding 2). */
export const MAX_AUDITED_PATH = 256;

/**
 * A request path as the audit log keeps it: credentials redacted by the same function as the
 * logs (log.ts scrubSecrets, issue 16 finding 6), then cut to MAX_AUDITED_PATH characters.
 */
export function auditedPath(path: string): string {
  const clean = scrubSecrets(path);
  return clean.length > MAX_AUDITED_PATH ? `${clean.slice(0, MAX_AUDITED_PATH)}...` : clean;
}

/**
 * The audit log's view of the admin API. Mounted before authentication, it sees the error
 * that any later middleware or route threw (hono sets `c.error` before the error handler
 * answers). It records denied attempts by a known token: FORBIDDEN, and UNAUTHORIZED when the
 * bearer names a token that exists (a wrong secret, or a revoked or expired token). A refusal
 * that names no known token is only counted and sampled (middleware/refusals.ts), so that
 * requests without a token cannot grow the database (issue 16, finding 2). For a write route
 * that does not record its own entry (root and key ceremonies, and routes added later), it
 * records an entry after the request: `ok` when it succeeded, `failed` with the code when not.
 */
export function auditRequests(): MiddlewareHandler<AppEnv> {
  return async function auditRequestsMiddleware(c, next) {
    await next();
    const err = c.error;
    const principal = c.get('principal') as AppEnv['Variables']['principal'] | undefined;
    const path = auditedPath(c.req.path);
    if (!isKeyshareError(err) || (err.code !== Codes.UNAUTHORIZED && err.code !== Codes.FORBIDDEN)) {
      const write = c.req.method !== 'GET' && c.req.method !== 'HEAD' && c.req.method !== 'OPTIONS';
      if (!write || !principal || recorded.has(c.req.raw) || (!err && c.res.status >= 400)) return;
      await c.get('instance').audit.append({
        actor: principal.tokenId,
        action: `${c.req.method} ${path}`,
        outcome: err ? 'failed' : 'ok',
        details: { method: c.req.method, path, ...(err ? { code: isKeyshareError(err) ? err.code : Codes.INTERNAL } : { status: c.res.status }) },
      });
      return;
    }
    if (c.var.refusalLimited) return;
    const details: Record<string, unknown> = { method: c.req.method, path, code: err.code, message: scrubSecrets(err.message) };
    if (!principal) {
      // Who it claimed to be (never the secret), if that token exists; else nobody to audit.
      const m = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '');
      const claimed = m ? parseToken(m[1]!) : null;
      if (!claimed || !(await c.get('instance').records.tokens.getToken(claimed.id))) return;
      details.claimedTokenId = claimed.id;
    }
    const forbidden = err instanceof ForbiddenError ? err : null;
    const scopes = forbidden?.scopes ?? [];
    await c.get('instance').audit.append({
      actor: principal?.tokenId ?? null,
      action: forbidden?.action ?? `${c.req.method} ${path}`,
      outcome: 'denied',
      scope: scopes.length === 1 ? scopes[0] ?? null : null,
      details: scopes.length > 1 ? { ...details, scopes } : details,
    });
  };
}
