/**
 * What a route calls before and around a write: `authorize` (the rules are in
 * service/auth/authorize.ts) and `audited` (the change and its audit entry land together,
 * service/audit/log.ts).
 */
import type { Context } from 'hono';
import { authorize } from '../auth/authorize.js';
import type { AuditInfo } from '../audit/log.js';
import type { AppEnv } from './context.js';
import { markAudited } from './middleware/audit.js';

/** Throws FORBIDDEN unless the caller may perform `action` on each of `scopes` (null: everywhere). */
export function authorizeFor(c: Context<AppEnv>, action: string, scopes: readonly (string | null)[]): void {
  authorize(c.get('principal'), action, scopes);
}

/** Authorises, then runs the operation as an audited change on behalf of the caller. */
export function audited<T>(c: Context<AppEnv>, info: AuditInfo & { scopes: readonly (string | null)[] }, fn: () => Promise<T>): Promise<T> {
  const { scopes, ...rest } = info;
  authorizeFor(c, info.action, scopes);
  markAudited(c.req.raw);
  return c.get('instance').audit.run(c.get('principal').tokenId, rest, fn);
}
