/** The HTTP service: createApp(deps) builds it; tests call app.request() without a socket. */
import { OpenAPIHono } from '@hono/zod-openapi';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import type { Instance } from '../instance.js';
import { KeyshareError, Codes, isKeyshareError } from '../errors.js';
import type { AppEnv } from './context.js';
import { statusFor } from './errors.js';
import { authorizeRequest, bearerAuth } from './middleware/auth.js';
import { auditRequests } from './middleware/audit.js';
import { tokenRoutes } from './routes/tokens.js';
import { auditRoutes } from './routes/audit.js';
import { tufRoutes } from './routes/tuf.js';
import { mirrorRoutes } from './routes/mirrors.js';
import { feedRoutes } from './routes/feed.js';
import { upstreamRoutes } from './routes/upstreams.js';
import { blockRoutes } from './routes/blocks.js';
import { scopeRoutes } from './routes/scopes.js';
import { revocationRoutes } from './routes/revocations.js';
import { crlFileRoutes, crlRoutes } from './routes/crls.js';
import { rootRoutes } from './routes/root.js';
import { tenantRoutes } from './routes/tenants.js';
import { caRoutes } from './routes/ca.js';
import { tsaRoutes } from './routes/tsa.js';
import { validationHook } from './validation.js';
import { silentLogger, type Logger } from '../log.js';
import { requestContext } from './middleware/request-context.js';
import { createMetrics, type Metrics } from './metrics.js';
import { openApiRoutes } from './openapi.js';
import { consoleRoutes, type ConsoleOptions } from './ui/console.js';

export interface AppDeps {
  instance: Instance;
  /** Request body limit for the admin API (bytes). */
  maxBodyBytes?: number;
  log?: (entry: Record<string, unknown>) => void;
  /** Structured logs (service/log.ts); silent when not given. */
  logger?: Logger;
  /** Prometheus metrics; by default a registry of this app's own. */
  metrics?: Metrics;
  /** The web console at /ui/. */
  console?: ConsoleOptions;
}

export const DEFAULT_MAX_BODY = 4 * 1024 * 1024;

export function createApp(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const log = deps.log ?? (() => {});
  const logger = deps.logger ?? silentLogger();
  const metrics = deps.metrics ?? createMetrics(deps.instance);

  app.use('*', async function injectInstance(c, next) {
    c.set('instance', deps.instance);
    await next();
  });
  app.use('*', requestContext({ logger }));
  app.use('*', metrics.middleware);

  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', (c) => {
    const ts = deps.instance.publisher.latestMetadata('timestamp');
    const ready = ts !== undefined && Date.parse(ts.expires) > Date.now();
    // A replica is ready once it serves a repository, whether or not it publishes (issue 11).
    return c.json({ status: ready ? 'ready' : 'not ready', timestampVersion: ts?.version ?? null, publisher: deps.instance.publisher.leads() }, ready ? 200 : 503);
  });

  app.get('/metrics', async (c) => c.body(await metrics.registry.metrics(), 200, { 'Content-Type': metrics.registry.contentType }));

  // The change feed downstream services subscribe to (sync/upstream): before the repository's files.
  app.route('/tuf', feedRoutes());
  app.route('/tuf', tufRoutes());
  app.route('/mirrors', mirrorRoutes());
  app.route('/crl', crlFileRoutes());
  app.route('/tsa', tsaRoutes());

  const api = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  api.use(
    '*',
    bodyLimit({
      maxSize: deps.maxBodyBytes ?? DEFAULT_MAX_BODY,
      onError: () => {
        throw new KeyshareError(Codes.BODY_TOO_LARGE, `request bodies are limited to ${deps.maxBodyBytes ?? DEFAULT_MAX_BODY} bytes`);
      },
    }),
  );
  api.use('*', auditRequests());
  api.use('*', bearerAuth());
  // Default deny; routes check the scopes they write (service/auth/authorize.ts).
  api.use('*', authorizeRequest());
  api.route('/tokens', tokenRoutes());
  api.route('/audit', auditRoutes());
  api.route('/scopes', scopeRoutes());
  api.route('/', revocationRoutes());
  api.route('/crls', crlRoutes());
  api.route('/', rootRoutes());
  api.route('/', tenantRoutes());
  api.route('/scopes', blockRoutes());
  api.route('/', upstreamRoutes());
  api.route('/ca', caRoutes());
  // /api/v1/openapi.json and /api/docs need no token: mounted before the admin API's middleware.
  app.route('/api', openApiRoutes(api));
  app.route('/api/v1', api);

  app.get('/ui', (c) => c.redirect('/ui/', 301));
  app.route('/ui/', consoleRoutes(deps.console));

  app.notFound((c) => c.json({ code: Codes.NOT_FOUND, message: `no route for ${c.req.method} ${c.req.path}` }, 404));
  app.onError((err, c) => {
    if (isKeyshareError(err)) {
      const status = statusFor(err.code);
      const body: Record<string, unknown> = { code: err.code, message: err.message };
      if (err.details !== undefined) body.details = err.details;
      return c.json(body, status);
    }
    if (err instanceof HTTPException && err.status < 500) {
      return c.json({ code: Codes.BAD_REQUEST, message: err.message || 'bad request' }, err.status);
    }
    // Never leak stack traces or SQL: log the cause, answer "internal error".
    log({ level: 'error', msg: 'internal error', err: String(err?.stack ?? err) });
    (c.var.log ?? logger).error({ err }, 'internal error');
    return c.json({ code: Codes.INTERNAL, message: 'internal error' }, 500);
  });
  return app;
}
