/**
 * The console's sign-in, sessions and sign-out (the security rules are in ./console.tsx's
 * header): a token signs in once, the session cookie carries only a random ID, and every request
 * after sign-in needs a live session whose token is still valid, and a form post its CSRF token.
 */
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { ErrorPage, SignInPage } from './layout.js';
import { page, str, userOf, type C, type ConsoleApp, type ConsoleContext } from './kit.js';
import { COOKIE_PATH, SESSION_COOKIE, SIGNIN_COOKIE, SessionStore, principalForToken, principalForTokenId, randomId, sameSecret, type ConsoleSession } from './session.js';

/** HTTPS as the browser sees it: behind a proxy, only a --trusted-proxy's X-Forwarded-Proto counts (service/http/client.ts). */
const isHttps = (c: C) => c.var.client.https;

/** Mounts /signin and /signout, and between them the gate that every later route of `app` passes. */
export function sessionRoutes(app: ConsoleApp, { clock }: ConsoleContext, ttlSeconds: number): void {
  const sessions = new SessionStore({ ttlSeconds, clock });

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
    setCookie(c, SESSION_COOKIE, session.id, { httpOnly: true, sameSite: 'Strict', path: COOKIE_PATH, secure: isHttps(c), maxAge: ttlSeconds });
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
}
