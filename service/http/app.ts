/** The HTTP service: createApp(deps) builds it; tests call app.request() without a socket. */
import { OpenAPIHono } from '@hono/zod-openapi';
import { Hono, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { isStreamedApply, NDJSON } from './apply-stream.js';
import { HTTPException } from 'hono/http-exception';
import type { Instance } from '../instance.js';
import { KeyshareError, Codes, isKeyshareError } from '../errors.js';
import type { AppEnv } from './context.js';
import { statusFor } from './errors.js';
import { authorizeRequest, bearerAuth } from './middleware/auth.js';
import { auditRequests } from './middleware/audit.js';
import { limitRefusals, type RefusalLimits } from './middleware/refusals.js';
import { tokenRoutes } from './routes/tokens.js';
import { auditRoutes } from './routes/audit.js';
import { tufRoutes } from './routes/tuf.js';
import { logRoutes } from './routes/log.js';
import { witnessRoutes } from './routes/witnesses.js';
import { witnessServiceRoutes } from './routes/witness.js';
import type { Witness } from '../tlog/witness.js';
import { mirrorRoutes } from './routes/mirrors.js';
import { feedRoutes, type FeedLimits } from './routes/feed.js';
import { upstreamRoutes } from './routes/upstreams.js';
import { allBlockRoutes, blockRoutes } from './routes/blocks.js';
import { scopeRoutes } from './routes/scopes.js';
import { revocationRoutes } from './routes/revocations.js';
import { crlFileRoutes, crlRoutes } from './routes/crls.js';
import { rootRoutes } from './routes/root.js';
import { tenantRoutes } from './routes/tenants.js';
import { caRoutes } from './routes/ca.js';
import { tsaRoutes } from './routes/tsa.js';
import { validationHook } from './validation.js';
import { clientOf, TrustedProxies } from './client.js';
import { silentLogger, type Logger } from '../log.js';
import { requestContext } from './middleware/request-context.js';
import { createMetrics, type Metrics } from './metrics.js';
import { openApiRoutes } from './openapi.js';
import { consoleRoutes, type ConsoleOptions } from './ui/console.js';
import { storageOf, storeFault } from '../store/faults.js';
import { readinessOf } from './readiness.js';
import type { Upstreams } from '../federation.js';
import { historyRoutes } from './routes/history.js';
import { clientRoutes } from './routes/clients.js';
import { registerClientMetrics } from './client-metrics.js';
import { DEFAULT_CLIENT_LIMITS, type ClientLimitsConfig } from '../rollout.js';

export interface AppDeps {
  instance: Instance;
  /** Upstream federation, wired by the composition root (service/composition.ts); an app built without it answers /api/v1/upstreams with INTERNAL. */
  upstreams?: Upstreams;
  /** Request body limit for the admin API (bytes). */
  maxBodyBytes?: number;
  log?: (entry: Record<string, unknown>) => void;
  /** Structured logs (service/log.ts); silent when not given. */
  logger?: Logger;
  /** Prometheus metrics; by default a registry of this app's own. */
  metrics?: Metrics;
  /** The web console at /ui/. */
  console?: ConsoleOptions;
  /** `--trusted-proxy`: peers whose X-Forwarded-* headers are believed (client.ts); none by default. */
  trustedProxies?: TrustedProxies;
  /** Refused admin API requests per client address (middleware/refusals.ts). */
  refusalLimits?: RefusalLimits;
  /** Long-poll slots of the change feed (routes/feed.ts; issue 16, finding 3). */
  feedLimits?: FeedLimits;
  /** Issue 21: how many reporting clients are kept, for how long, and how many label sets /metrics names. */
  clientLimits?: ClientLimitsConfig;
  /** Issue 23, `serve --witness-for`: this service witnesses those logs at /witness/ (C2SP tlog-witness). */
  witness?: Witness;
  /** Issue 23: told when a witness is added, so that it is sent the checkpoint at once. */
  onWitnessAdded?: () => void;
}

export const DEFAULT_MAX_BODY = 4 * 1024 * 1024;

/**
 * Issue 24 row 4: a write acknowledged while this process's publishing is failing says so, in a
 * `Warning` header (RFC 7234 5.5, code 199) beside its `published: null`.
 */
function warnUnpublished(): MiddlewareHandler<AppEnv> {
  return async function warnUnpublished(c, next) {
    await next();
    if (c.req.method === 'GET' || c.req.method === 'HEAD' || c.res.status >= 300) return;
    const { publisher } = c.get('instance');
    const failing = publisher.leads() ? publisher.publishHealth().lastError : null;
    if (!failing) return;
    const text = `saved but not published: ${failing.code}: ${failing.message}`.replace(/[^\x20-\x7e]/g, ' ').replace(/["\\]/g, "'").slice(0, 300);
    c.header('Warning', `199 keyshare "${text}"`);
  };
}

export function createApp(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const log = deps.log ?? (() => {});
  const logger = deps.logger ?? silentLogger();
  const metrics = deps.metrics ?? createMetrics(deps.instance);
  const proxies = deps.trustedProxies ?? TrustedProxies.none();
  const clientLimits = deps.clientLimits ?? DEFAULT_CLIENT_LIMITS;
  registerClientMetrics(metrics.registry, deps.instance, clientLimits);

  app.use('*', async function injectInstance(c, next) {
    c.set('instance', deps.instance);
    c.set('upstreams', deps.upstreams ?? null);
    c.set('client', clientOf(c, proxies));
    await next();
  });
  app.use('*', requestContext({ logger }));
  app.use('*', metrics.middleware);

  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    // A replica is ready once it serves a repository, whether or not it publishes (issue 11); see readiness.ts.
    const body = await readinessOf(deps.instance);
    // Issue 24 row 3: origins whose imported trust expired are named (detail, not readiness).
    return c.json({ ...body, ...(await expiredOrigins(deps.instance)) }, body.status === 'ready' ? 200 : 503);
  });

  app.get('/metrics', async (c) => c.body(await metrics.registry.metrics(), 200, { 'Content-Type': metrics.registry.contentType }));

  // The change feed downstream services subscribe to (service/federation/upstream): before the repository's files.
  app.route('/tuf', feedRoutes(deps.feedLimits));
  app.route('/tuf', tufRoutes());
  app.route('/log', logRoutes());
  if (deps.witness) app.route('/witness', witnessServiceRoutes(deps.witness));
  app.route('/mirrors', mirrorRoutes());
  app.route('/crl', crlFileRoutes());
  app.route('/tsa', tsaRoutes());

  const api = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  // Before anything else: an address out of refusals is answered 429 without work (issue 16, finding 2).
  api.use('*', limitRefusals({ metrics, limits: deps.refusalLimits }));
  const limitBody = bodyLimit({
    maxSize: deps.maxBodyBytes ?? DEFAULT_MAX_BODY,
    onError: () => {
      throw new KeyshareError(Codes.BODY_TOO_LARGE, `request bodies are limited to ${deps.maxBodyBytes ?? DEFAULT_MAX_BODY} bytes`);
    },
  });
  // A streamed apply keeps the limit per line, and a cap of its own on the whole (routes/revocations.ts).
  api.use('*', async function bodyLimits(c, next) {
    return isStreamedApply(c.req.method, c.req.path, c.req.header('content-type')) ? next() : limitBody(c, next);
  });
  api.use('*', warnUnpublished());
  api.use('*', auditRequests());
  api.use('*', bearerAuth());
  // Default deny; routes check the scopes they write (service/auth/authorize.ts).
  api.use('*', authorizeRequest());
  api.route('/tokens', tokenRoutes());
  api.route('/audit', auditRoutes());
  api.route('/scopes', scopeRoutes());
  api.route('/', revocationRoutes({ maxLineBytes: deps.maxBodyBytes ?? DEFAULT_MAX_BODY }));
  api.route('/crls', crlRoutes());
  api.route('/', rootRoutes());
  api.route('/', tenantRoutes());
  api.route('/scopes', blockRoutes());
  api.route('/blocks', allBlockRoutes());
  api.route('/', upstreamRoutes());
  api.route('/ca', caRoutes());
  api.route('/', historyRoutes());
  api.route('/', clientRoutes(clientLimits));
  api.route('/', witnessRoutes(deps.onWitnessAdded));
  // /api/v1/openapi.json and /api/docs need no token: mounted before the admin API's middleware.
  app.route('/api', openApiRoutes(api));
  app.route('/api/v1', api);

  app.get('/ui', (c) => c.redirect('/ui/', 301));
  app.route('/ui/', consoleRoutes({ ...deps.console, clientLimits }));

  app.notFound((c) => c.json({ code: Codes.NOT_FOUND, message: `no route for ${c.req.method} ${c.req.path}` }, 404));
  app.onError((err, c) => {
    // Issue 24 rows 5 and 9: a database that is down or full is named as such, never INTERNAL.
    const fault = isKeyshareError(err) ? null : storeFault(err, storageOf(deps.instance.store.dialect, deps.instance.dataDir));
    if (fault) (c.var.log ?? logger).error({ err }, fault.code);
    const known = fault ?? (isKeyshareError(err) ? err : null);
    if (known) {
      const status = statusFor(known.code);
      const body: Record<string, unknown> = { code: known.code, message: known.message };
      if (known.details !== undefined) body.details = known.details;
      if (status === 503) c.header('Retry-After', '5');
      return c.json(body, status);
    }
    // A malformed percent-escape in a path is the client's error (issue 16, finding 5), wherever it is decoded.
    if (err instanceof URIError) return c.json({ code: Codes.BAD_REQUEST, message: 'the URL holds a malformed percent-encoding' }, 400);
    if (err instanceof HTTPException && err.status < 500) {
      return c.json({ code: Codes.BAD_REQUEST, message: httpRefusal(err, c.req.path, c.req.header('content-type')) }, err.status);
    }
    // Never leak stack traces or SQL: log the cause, answer "internal error".
    log({ level: 'error', msg: 'internal error', err: String(err?.stack ?? err) });
    (c.var.log ?? logger).error({ err }, 'internal error');
    return c.json({ code: Codes.INTERNAL, message: 'internal error' }, 500);
  });
  return app;
}

/** `/readyz` detail: the origins whose trust is past its expiry (`expired`) or withdrawn past the grace. */
async function expiredOrigins(instance: Instance): Promise<{ origins?: { name: string; expires: string; withdrawn: boolean }[] }> {
  try {
    const now = Date.now();
    const origins = (await instance.records.upstreams.listUpstreams())
      .map((u) => ({ name: u.name, state: u.state as { expires?: string; withdrawnAt?: string } | null }))
      .filter((u) => u.state?.expires && Date.parse(u.state.expires) <= now)
      .map((u) => ({ name: u.name, expires: u.state!.expires!, withdrawn: Boolean(u.state!.withdrawnAt) }));
    return origins.length ? { origins } : {};
  } catch {
    return {}; // the database's own health is reported elsewhere
  }
}

/**
 * The message of a refusal by hono or its validators, saying what to send instead (issue 15:
 * every error says what to do; hono's own text is "Unsupported Media Type").
 */
function httpRefusal(err: HTTPException, path: string, contentType: string | undefined): string {
  if (err.status === 415) {
    const accepted = /\/apply$/.test(path) ? `application/json (or ${NDJSON}, each line a part of the apply file)` : 'application/json';
    return `the body must be sent as ${accepted}, not ${contentType ? JSON.stringify(contentType) : 'without a Content-Type'}`;
  }
  if (err.message === 'Malformed JSON in request body') return 'the body is not valid JSON: send one JSON object (docs/REFERENCE.md lists each route\'s body)';
  return err.message || 'bad request';
}
