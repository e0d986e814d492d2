import type { MiddlewareHandler } from 'hono';
import { parseToken, secretMatches, type TokenRole } from '../../auth/tokens.js';
import { KeyshareError, Codes } from '../../errors.js';
import type { AppEnv } from '../context.js';

/** Bearer-token authentication against hashed tokens in the store (constant-time compare). */
export function bearerAuth(options: { clock?: () => Date } = {}): MiddlewareHandler<AppEnv> {
  const clock = options.clock ?? (() => new Date());
  return async function bearerAuthMiddleware(c, next) {
    const header = c.req.header('authorization') ?? '';
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    const parsed = m ? parseToken(m[1]!) : null;
    const record = parsed ? c.get('instance').store.getToken(parsed.id) : null;
    const valid =
      parsed !== null &&
      record !== null &&
      secretMatches(parsed.secret, record.hash) &&
      record.revokedAt === null &&
      (record.expiresAt === null || Date.parse(record.expiresAt) > clock().getTime());
    if (!valid) throw new KeyshareError(Codes.UNAUTHORIZED, 'a valid bearer token is required');
    c.set('principal', { tokenId: record!.id, role: record!.role as TokenRole, scopes: record!.scopes });
    await next();
  };
}

/** Writes need an admin or editor token. */
export function requireWriter(): MiddlewareHandler<AppEnv> {
  return async function requireWriterMiddleware(c, next) {
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD' && c.get('principal').role === 'reader') {
      throw new KeyshareError(Codes.FORBIDDEN, 'this token can only read');
    }
    await next();
  };
}
