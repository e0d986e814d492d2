/**
 * The web console at /ui/ (CONTRACT.md "HTTP"): server-rendered pages and plain HTML forms that
 * work without JavaScript.
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
import { evaluateHealth } from '../../health.js';
import { recentVersions } from '../../history.js';
import { DEFAULT_CLIENT_LIMITS, revocationRollouts, type ClientLimitsConfig } from '../../rollout.js';
import { HistoryPage, RolloutPage } from './history-views.js';
import { anchorIdOf } from '../../domain/anchor.js';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { html } from 'hono/html';
import type { JSX } from 'hono/jsx/jsx-runtime';
import { detectMaterial } from '../../crypto/index.js';
import { KeyshareError, Codes, isKeyshareError } from '../../errors.js';
import type { Level } from '../../domain/types.js';
import { DEFAULT_EXPIRY, lifetimeOf, type ExpiryConfig } from '../../repo/layout.js';
import type { AppEnv } from '../context.js';
import { consoleAudit, consolePlan, consoleWrite, revocationTarget, type ConsoleWrite } from './actions.js';
import { ConfirmPage } from './pages/confirm.js';
import { expiringAnchors, expiryOf, roleExpiry, roleStates, scopeTree } from './model.js';
import {
  COOKIE_PATH,
  SESSION_COOKIE,
  SIGNIN_COOKIE,
  SessionStore,
  principalForToken,
  principalForTokenId,
  randomId,
  sameSecret,
  type ConsoleSession,
} from './session.js';
import {
  AuditPage,
  CONSOLE_CSS,
  CrlsPage,
  ErrorPage,
  OverviewPage,
  RepositoryPage,
  RevocationsPage,
  ScopesPage,
  SignInPage,
  UpstreamsPage,
  type PageUser,
} from './views.js';

export interface ConsoleOptions {
  /** Session lifetime (default 8 hours). */
  sessionTtlSeconds?: number;
  clock?: () => Date;
  /** Largest form body, uploads included (default 1 MiB). */
  maxBodyBytes?: number;
  /** Issue 21: the client registry's limits, as the API's (the Rollout page counts the same clients). */
  clientLimits?: ClientLimitsConfig;
}

type ConsoleEnv = { Variables: AppEnv['Variables'] & { session: ConsoleSession } };
type C = Context<ConsoleEnv>;

const CSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
const AUDIT_PAGE = 50;

const page = (c: C, el: JSX.Element, status: 200 | 400 | 401 | 403 | 404 | 500 = 200) => c.html(html`<!doctype html>${el}`, status);

const userOf = (s: ConsoleSession): PageUser => ({ tokenId: s.tokenId, role: s.role, scopes: s.scopes, csrf: s.csrf });

/** HTTPS as the browser sees it: behind a proxy, only a --trusted-proxy's X-Forwarded-Proto counts (service/http/client.ts). */
const isHttps = (c: C) => c.var.client.https;

/** Takes the one-time message left by the last form post. */
function takeFlash(s: ConsoleSession) {
  const f = s.flash;
  s.flash = null;
  return f;
}

/** Post/Redirect/Get: a form post answers with a redirect and leaves its outcome in the session. */
function done(c: C, to: string, kind: 'ok' | 'error', text: string) {
  c.get('session').flash = { kind, text };
  return c.redirect(to, 303);
}

function str(v: unknown): string {
  return typeof v === 'string' ? v.trim() : '';
}

/** A readable message for a failed write: the stable code and what it means. */
function failure(e: unknown): string {
  if (isKeyshareError(e)) return `${e.code}: ${e.message}`;
  return 'internal error';
}

export function consoleRoutes(options: ConsoleOptions = {}): Hono<ConsoleEnv> {
  const clock = options.clock ?? (() => new Date());
  const sessions = new SessionStore({ ttlSeconds: options.sessionTtlSeconds ?? 8 * 3600, clock });
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
      if (origin && origin !== 'null' && origin !== c.var.client.origin) {
        return page(c, <ErrorPage status={403} message="Cross-origin form posts are refused." user={null} />, 403);
      }
      if (origin === 'null') return page(c, <ErrorPage status={403} message="Cross-origin form posts are refused." user={null} />, 403);
    }
    await next();
  });

  const signInPage = (c: C, error?: string, status: 200 | 400 | 401 = 200) => {
    const csrf = randomId();
    setCookie(c, SIGNIN_COOKIE, csrf, { httpOnly: true, sameSite: 'Strict', path: COOKIE_PATH, secure: isHttps(c), maxAge: 600 });
    return page(c, <SignInPage csrf={csrf} error={error} />, status);
  };

  /** The session of this request, if any and if its token is still valid. */
  const currentSession = async (c: C): Promise<ConsoleSession | null> => {
    const s = sessions.get(getCookie(c, SESSION_COOKIE));
    if (!s) return null;
    const principal = await principalForTokenId(c.get('instance').records.tokens, s.tokenId, clock());
    if (!principal) {
      sessions.delete(s.id);
      return null;
    }
    // Role or scopes may have changed since sign-in: the token's record decides.
    s.role = principal.role;
    s.scopes = principal.scopes;
    return s;
  };

  app.get('/signin', async (c) => ((await currentSession(c)) ? c.redirect('/ui/', 303) : signInPage(c)));

  app.post('/signin', async (c) => {
    const body = await c.req.parseBody();
    if (!sameSecret(getCookie(c, SIGNIN_COOKIE), str(body.csrf))) {
      return signInPage(c, 'The sign-in form expired. Please try again.', 400);
    }
    const principal = await principalForToken(c.get('instance').records.tokens, str(body.token), clock());
    if (!principal) {
      c.get('log')?.info({ event: 'console.signin', outcome: 'denied' }, 'console sign-in refused');
      return signInPage(c, 'That token is not valid (unknown, revoked or expired).', 401);
    }
    // A fresh session ID at every sign-in (no session fixation).
    const old = sessions.get(getCookie(c, SESSION_COOKIE));
    if (old) sessions.delete(old.id);
    const session = sessions.create(principal);
    deleteCookie(c, SIGNIN_COOKIE, { path: COOKIE_PATH });
    setCookie(c, SESSION_COOKIE, session.id, {
      httpOnly: true,
      sameSite: 'Strict',
      path: COOKIE_PATH,
      secure: isHttps(c),
      maxAge: options.sessionTtlSeconds ?? 8 * 3600,
    });
    c.get('log')?.info({ event: 'console.signin', outcome: 'ok', tokenId: principal.tokenId }, 'console sign-in');
    // Issue 16, finding 10: every console sign-in is in the audit log.
    await c.get('instance').audit.append({ actor: principal.tokenId, action: 'console.signin', outcome: 'ok', details: { role: principal.role } });
    return c.redirect('/ui/', 303);
  });

  // Everything below needs a session.
  app.use('*', async function requireSession(c, next) {
    const s = await currentSession(c);
    if (!s) {
      if (c.req.method === 'GET' || c.req.method === 'HEAD') return signInPage(c);
      return signInPage(c, 'Your session has ended. Please sign in again.', 401);
    }
    c.set('session', s);
    c.set('principal', { tokenId: s.tokenId, role: s.role, scopes: s.scopes });
    if (c.req.method === 'POST') {
      const body = await c.req.parseBody();
      if (!sameSecret(s.csrf, str(body.csrf))) {
        return page(c, <ErrorPage status={403} message="The form's security token did not match. Reload the page and try again." user={userOf(s)} />, 403);
      }
    }
    await next();
  });

  app.post('/signout', (c) => {
    sessions.delete(c.get('session').id);
    deleteCookie(c, SESSION_COOKIE, { path: COOKIE_PATH });
    return c.redirect('/ui/signin', 303);
  });

  const canWrite = (s: ConsoleSession) => s.role !== 'reader';

  const overview = async (c: C) => {
    const s = c.get('session');
    const instance = c.get('instance');
    const { records } = instance;
    const now = clock();
    const expiry: ExpiryConfig = { ...DEFAULT_EXPIRY, ...JSON.parse((await records.changes.getMeta('expiry')) ?? '{}') };
    const revocations = await records.trust.listRevocations();
    const crls = (await records.crls.crlSummaries()).map((x) => expiryOf(x.nextUpdate, now));
    return page(
      c,
      <OverviewPage
        user={userOf(s)}
        flash={takeFlash(s)}
        now={now}
        counts={{
          scopes: (await records.trust.listScopes()).length,
          anchors: (await records.trust.listAnchors()).length,
          revocations: revocations.keys.length + revocations.certificates.length + revocations.signatures.length,
        }}
        expiring={await expiringAnchors(records.trust, now)}
        attention={{
          staleCrls: crls.filter((x) => x.kind === 'expired').length,
          dueCrls: crls.filter((x) => x.kind === 'critical').length,
          failingUpstreams: (await records.upstreams.upstreamSummaries()).filter((u) => u.lastError).map((u) => u.name),
          // Issue 24 row 8: the root's expiry (and a failed store check), as /readyz and the log say them.
          health: evaluateHealth({ now, roles: instance.publisher.servedRoles(), database: 'up', staleKeys: instance.publisher.staleKeyRoles(), storeCheck: instance.storeCheck ?? null }).warnings,
        }}
        roles={(await roleStates(records.repository, now)).map((r) => ({ ...r, health: roleExpiry(r, lifetimeOf(r.role === 'bins' ? 'targets' : r.role, expiry), now) }))}
      />,
    );
  };
  app.get('/', overview);

  app.get('/scopes', async (c) => {
    const s = c.get('session');
    const now = clock();
    return page(c, <ScopesPage user={userOf(s)} flash={takeFlash(s)} tree={await scopeTree(c.get('instance').records.trust, now)} now={now} canWrite={canWrite(s)} />);
  });

  app.post('/scopes', async (c) => {
    const body = await c.req.parseBody();
    const scope = str(body.scope);
    const level = str(body.level);
    try {
      const { service } = c.get('instance');
      await consoleWrite(c.get('instance'), c.get('principal'), { action: 'scope.create', scope }, () =>
        service.createScope({ scope, inherit: body.noInherit !== '1', level: level ? (level as Level) : null }),
      );
      return done(c, '/ui/scopes', 'ok', `Created scope ${scope}.`);
    } catch (e) {
      return done(c, '/ui/scopes', 'error', `Could not create scope ${scope || '(empty)'}: ${failure(e)}`);
    }
  });

  app.post('/anchors', async (c) => {
    const body = await c.req.parseBody();
    const scope = str(body.scope);
    try {
      const file = body.file;
      let material: string | Uint8Array | null = null;
      if (file instanceof File && file.size > 0) material = new Uint8Array(await file.arrayBuffer());
      else if (str(body.material)) material = str(body.material);
      if (material === null) throw new KeyshareError(Codes.ANCHOR_INVALID, 'choose a file, or paste a certificate or public key');
      const kind = detectMaterial(material);
      if (kind === 'privateKey') throw new KeyshareError(Codes.BAD_PUBLIC_KEY, 'this is a private key: never upload private keys');
      const identities = str(body.identities)
        .split(';')
        .map((x) => x.trim())
        .filter(Boolean);
      const isCert = kind === 'certificate';
      const { service } = c.get('instance');
      const input = {
        ...(isCert ? { certificate: material } : { publicKey: material }),
        type: isCert ? ((str(body.type) || 'ca') as 'ca') : undefined,
        name: str(body.name) || undefined,
        trustedIdentities: isCert && identities.length ? identities : undefined,
      };
      // The audit log's target column: the anchor's ID, as for the API.
      const target = await anchorIdOf(input);
      const r = await consoleWrite(c.get('instance'), c.get('principal'), { action: 'anchor.add', scope, target }, () => service.addAnchor(scope, input));
      return done(c, '/ui/scopes', 'ok', `Added ${r.anchor.type} anchor ${r.anchor.name} (${r.anchor.id}) to ${scope}.`);
    } catch (e) {
      return done(c, '/ui/scopes', 'error', `Could not add the anchor to ${scope || '(no scope)'}: ${failure(e)}`);
    }
  });

  app.get('/revocations', async (c) => {
    const s = c.get('session');
    const q = c.req.query();
    return page(
      c,
      <RevocationsPage
        user={userOf(s)}
        flash={takeFlash(s)}
        revocations={await c.get('instance').records.trust.listRevocations()}
        canWrite={canWrite(s)}
        prefill={{ kind: q.kind, id: q.id, digest: q.digest, issuer: q.issuer, serial: q.serial }}
        scopes={(await c.get('instance').records.trust.listScopes()).map((x) => x.scope)}
      />,
    );
  });

  /**
   * Issue 21: a destructive change is made only when its form comes back with `confirm=1`; the
   * first post answers its plan (the dry run of the same write) with a Confirm button.
   */
  const confirmFirst = async (c: C, body: Record<string, unknown>, w: ConsoleWrite, fn: () => Promise<unknown>, ask: { title: string; action: string; back: string }) => {
    if (body.confirm === '1') return null;
    const fields = Object.fromEntries(Object.entries(body).flatMap(([k, v]) => (typeof v === 'string' && k !== 'csrf' && k !== 'confirm' ? [[k, v]] : [])));
    const plan = await consolePlan(c.get('instance'), c.get('principal'), w, fn);
    return page(c, <ConfirmPage user={userOf(c.get('session'))} c={{ ...ask, fields, plan }} />);
  };

  app.post('/anchors/remove', async (c) => {
    const body = await c.req.parseBody();
    const scope = str(body.scope);
    const id = str(body.id);
    const w: ConsoleWrite = { action: 'anchor.remove', scope, target: id };
    const remove = () => c.get('instance').service.removeAnchor(scope, id);
    try {
      const asked = await confirmFirst(c, body, w, remove, { title: `Remove anchor ${id} from ${scope}`, action: '/ui/anchors/remove', back: '/ui/scopes' });
      if (asked) return asked;
      await consoleWrite(c.get('instance'), c.get('principal'), w, remove);
      return done(c, '/ui/scopes', 'ok', `Removed anchor ${id} from ${scope}.`);
    } catch (e) {
      return done(c, '/ui/scopes', 'error', `Could not remove the anchor: ${failure(e)}`);
    }
  });

  app.post('/scopes/remove', async (c) => {
    const body = await c.req.parseBody();
    const scope = str(body.scope);
    const w: ConsoleWrite = { action: 'scope.delete', scope };
    const remove = () => c.get('instance').service.deleteScope(scope);
    try {
      const asked = await confirmFirst(c, body, w, remove, { title: `Remove scope ${scope}`, action: '/ui/scopes/remove', back: '/ui/scopes' });
      if (asked) return asked;
      await consoleWrite(c.get('instance'), c.get('principal'), w, remove);
      return done(c, '/ui/scopes', 'ok', `Removed scope ${scope}.`);
    } catch (e) {
      return done(c, '/ui/scopes', 'error', `Could not remove scope ${scope}: ${failure(e)}`);
    }
  });

  app.post('/revocations', async (c) => {
    const body = await c.req.parseBody();
    const kind = str(body.kind) as 'key' | 'certificate' | 'signature';
    const scope = str(body.scope) || null;
    const input = {
      kind,
      id: kind === 'key' ? str(body.id) : undefined,
      digest: kind === 'signature' ? str(body.digest) : undefined,
      issuer: kind === 'certificate' ? str(body.issuer) : undefined,
      serial: kind === 'certificate' ? str(body.serial) : undefined,
      reason: str(body.reason) || undefined,
      scope,
    };
    try {
      if (!['key', 'certificate', 'signature'].includes(kind)) throw new KeyshareError(Codes.BAD_REQUEST, 'choose what to revoke');
      const { service } = c.get('instance');
      const w: ConsoleWrite = { action: 'revocation.add', scope, nullScope: true, target: revocationTarget(input) };
      const what = kind === 'key' ? `key ${input.id}` : kind === 'signature' ? `signature ${input.digest}` : `certificate ${input.serial} of ${input.issuer}`;
      const asked = await confirmFirst(c, body, w, () => service.revoke(input), { title: `Revoke ${what} ${scope ? `at ${scope}` : 'everywhere'}`, action: '/ui/revocations', back: '/ui/revocations' });
      if (asked) return asked;
      const r = await consoleWrite(c.get('instance'), c.get('principal'), w, () => service.revoke(input));
      return done(c, '/ui/revocations', 'ok', r.added ? `Revoked ${what} ${scope ? `at ${scope}` : 'everywhere'}.` : `${what} was already revoked.`);
    } catch (e) {
      return done(c, '/ui/revocations', 'error', `Could not revoke: ${failure(e)}`);
    }
  });

  app.get('/crls', async (c) => {
    const s = c.get('session');
    const { records } = c.get('instance');
    const now = clock();
    const names = new Map((await records.trust.listAnchors()).map((a) => [a.id, a.subject ?? a.name]));
    const crls = (await records.crls.crlSummaries()).map((x) => ({ ...x, issuerName: names.get(x.issuer) ?? null, expiry: expiryOf(x.nextUpdate, now) }));
    return page(c, <CrlsPage user={userOf(s)} flash={takeFlash(s)} now={now} crls={crls} />);
  });

  app.get('/upstreams', async (c) => {
    const s = c.get('session');
    return page(c, <UpstreamsPage user={userOf(s)} flash={takeFlash(s)} now={clock()} upstreams={await c.get('instance').records.upstreams.upstreamSummaries()} />);
  });

  app.get('/repository', async (c) => {
    const s = c.get('session');
    const instance = c.get('instance');
    const now = clock();
    const expiry: ExpiryConfig = { ...DEFAULT_EXPIRY, ...JSON.parse((await instance.records.changes.getMeta('expiry')) ?? '{}') };
    const roles = (await roleStates(instance.records.repository, now)).map((r) => ({ ...r, health: roleExpiry(r, lifetimeOf(r.role === 'bins' ? 'targets' : r.role, expiry), now) }));
    return page(c, <RepositoryPage user={userOf(s)} flash={takeFlash(s)} now={now} roles={roles} />);
  });

  app.get('/audit', async (c) => {
    const s = c.get('session');
    const before = Number(c.req.query('before'));
    const result = await consoleAudit(c.get('instance'), Number.isInteger(before) && before > 0 ? before : null, AUDIT_PAGE);
    return page(c, <AuditPage user={userOf(s)} flash={takeFlash(s)} entries={result?.entries ?? null} older={result?.older ?? null} />);
  });

  // Issue 21: versions with their diffs and the audit entries that caused them; the rollout of revocations.
  app.get('/history', async (c) => {
    const s = c.get('session');
    const { records, audit } = c.get('instance');
    const versions = await recentVersions(records.history, 20);
    const withAudit = [];
    for (const [i, v] of versions.entries()) {
      const previous = versions[i + 1]?.publishedAt;
      const entries = await audit.list({ since: previous ?? new Date(Date.parse(v.publishedAt) - 3600_000).toISOString(), limit: 200 });
      withAudit.push({ ...v, audit: entries.filter((a) => a.at <= v.publishedAt && a.outcome === 'ok' && (!previous || a.at > previous)).slice(-10) });
    }
    return page(c, <HistoryPage user={userOf(s)} flash={takeFlash(s)} versions={withAudit} />);
  });
  app.get('/rollout', async (c) => {
    const s = c.get('session');
    return page(c, <RolloutPage user={userOf(s)} flash={takeFlash(s)} rollouts={await revocationRollouts(c.get('instance').records.rollout, clock(), options.clientLimits ?? DEFAULT_CLIENT_LIMITS)} />);
  });

  app.notFound((c) => page(c as C, <ErrorPage status={404} message={`There is no page at ${c.req.path}.`} user={null} />, 404));
  app.onError((err, c) => {
    c.get('log')?.error({ err }, 'console error');
    return page(c as C, <ErrorPage status={500} message="Internal error. The details are in the service's log." user={null} />, 500);
  });
  return app;
}
