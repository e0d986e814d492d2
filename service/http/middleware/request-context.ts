import { randomUUID } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { Logger } from '../../log.js';
import type { AppEnv } from '../context.js';

/** A request ID from a caller is kept only when it is short and plain (it goes into logs and headers). */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Paths that are polled all the time: logged at debug, not info. */
const QUIET = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * Gives each request an ID (the caller's `x-request-id` when valid, else a new UUID), echoes it
 * in the response, binds a child logger to it, and logs one line per request: method, path
 * (never the query string, which could carry a credential), status and duration.
 */
export function requestContext(options: { logger: Logger }): MiddlewareHandler<AppEnv> {
  return async function requestContextMiddleware(c, next) {
    const incoming = c.req.header('x-request-id');
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    const log = options.logger.child({ reqId: requestId });
    c.set('requestId', requestId);
    c.set('log', log);
    const started = performance.now();
    try {
      await next();
    } finally {
      try {
        c.res.headers.set('x-request-id', requestId);
      } catch {
        // an immutable response (e.g. passed through from fetch): leave it as it is
      }
      const entry = {
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round((performance.now() - started) * 10) / 10,
        principal: c.var.principal?.tokenId,
      };
      if (QUIET.has(c.req.path)) log.debug(entry, 'request');
      else log.info(entry, 'request');
    }
  };
}
