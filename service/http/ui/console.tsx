/**
 * The web console at /ui/ (CONTRACT.md "HTTP"): server-rendered pages and plain HTML forms that
 * work without JavaScript. This module is its router: the headers and limits every answer has,
 * then sign-in (./signin.tsx), then one module per page (./pages/), each its view and its routes.
 *
 * Security:
 * - Sign-in takes a token in the form field `token`; the session cookie is HttpOnly,
 *   SameSite=Strict, Path=/ui, and Secure over https. The token itself is never stored.
 * - Every form carries a CSRF token (the session's, or before sign-in one paired with a
 *   short-lived cookie), compared in constant time; a cross-origin Origin header is refused too.
 * - Writes call the same TrustService operations as the admin API, through the same
 *   authorisation (service/auth/authorize.ts) and the same audit log, as the token's principal.
 * - Strict CSP (no scripts at all), no framing, no caching of pages.
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { html } from 'hono/html';
import { DEFAULT_CLIENT_LIMITS, type ClientLimitsConfig } from '../../rollout.js';
import { page, type C, type ConsoleApp, type ConsoleContext, type ConsoleEnv } from './kit.js';
import { CONSOLE_CSS, ErrorPage } from './layout.js';
import { auditRoutes } from './pages/audit.js';
import { crlsRoutes } from './pages/crls.js';
import { historyRoutes } from './pages/history.js';
import { overviewRoutes } from './pages/overview.js';
import { repositoryRoutes } from './pages/repository.js';
import { revocationsRoutes } from './pages/revocations.js';
import { rolloutRoutes } from './pages/rollout.js';
import { scopesRoutes } from './pages/scopes.js';
import { upstreamsRoutes } from './pages/upstreams.js';
import { sessionRoutes } from './signin.js';

export interface ConsoleOptions {
  /** Session lifetime (default 8 hours). */
  sessionTtlSeconds?: number;
  clock?: () => Date;
  /** Largest form body, uploads included (default 1 MiB). */
  maxBodyBytes?: number;
  /** Issue 21: the client registry's limits, as the API's (the Rollout page counts the same clients). */
  clientLimits?: ClientLimitsConfig;
}

const CSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** The pages, each mounted after the session gate. */
const PAGES: ((app: ConsoleApp, ctx: ConsoleContext) => void)[] = [
  overviewRoutes,
  scopesRoutes,
  revocationsRoutes,
  crlsRoutes,
  upstreamsRoutes,
  repositoryRoutes,
  auditRoutes,
  historyRoutes,
  rolloutRoutes,
];

export function consoleRoutes(options: ConsoleOptions = {}): Hono<ConsoleEnv> {
  const ctx: ConsoleContext = { clock: options.clock ?? (() => new Date()), clientLimits: options.clientLimits ?? DEFAULT_CLIENT_LIMITS };
  const app = new Hono<ConsoleEnv>();

  app.use('*', async function consoleHeaders(c, next) {
    await next();
    c.res.headers.set('Content-Security-Policy', CSP);
    c.res.headers.set('X-Frame-Options', 'DENY');
    c.res.headers.set('X-Content-Type-Options', 'nosniff');
    // same-origin, not no-referrer: with no-referrer Chromium sends `Origin: null` on form posts.
    c.res.headers.set('Referrer-Policy', 'same-origin');
    if (!c.res.headers.has('Cache-Control')) c.res.headers.set('Cache-Control', 'no-store');
  });

  app.get('/console.css', (c) => c.body(CONSOLE_CSS, 200, { 'Content-Type': 'text/css; charset=utf-8', 'Cache-Control': 'public, max-age=3600' }));

  // Form bodies are capped before they are read (STYLE.md "Cap every size").
  const maxBody = options.maxBodyBytes ?? 1024 * 1024;
  app.use(
    '*',
    bodyLimit({
      maxSize: maxBody,
      onError: (c) => c.html(html`<!doctype html>${(<ErrorPage status={413} message={`Forms and uploads are limited to ${maxBody} bytes.`} user={null} />)}`, 413),
    }),
  );

  /** Cross-origin form posts are refused outright (the CSRF token is checked as well). */
  app.use('*', async function sameOrigin(c, next) {
    if (c.req.method === 'POST') {
      const origin = c.req.header('origin');
      if (origin === 'null' || (origin && origin !== c.var.client.origin)) {
        return page(c, <ErrorPage status={403} message="Cross-origin form posts are refused." user={null} />, 403);
      }
    }
    await next();
  });

  sessionRoutes(app, ctx, options.sessionTtlSeconds ?? 8 * 3600);
  for (const mount of PAGES) mount(app, ctx);

  app.notFound((c) => page(c as C, <ErrorPage status={404} message={`There is no page at ${c.req.path}.`} user={null} />, 404));
  app.onError((err, c) => {
    c.get('log')?.error({ err }, 'console error');
    return page(c as C, <ErrorPage status={500} message="Internal error. The details are in the service's log." user={null} />, 500);
  });
  return app;
}
