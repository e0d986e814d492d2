/**
 * What every console page shares: the layout, navigation, sign-in and error pages, small
 * pieces (IDs, scope links, expiry text) and the style sheet. One file per page in pages/.
 * Server-rendered with hono's JSX: plain HTML forms (no JavaScript), landmarks, labelled
 * controls, captioned tables, and warnings said in words as well as colour.
 */
import type { FC, PropsWithChildren } from 'hono/jsx';
import type { Expiry } from './model.js';
import { CRITICAL_DAYS, WARN_DAYS, relative } from './model.js';
import type { Flash } from './session.js';

export interface PageUser {
  tokenId: string;
  role: string;
  scopes: string[] | null;
  csrf: string;
}

export const NAV = [
  { href: '/ui/', label: 'Overview' },
  { href: '/ui/scopes', label: 'Scopes' },
  { href: '/ui/revocations', label: 'Revocations' },
  { href: '/ui/crls', label: 'CRLs' },
  { href: '/ui/upstreams', label: 'Upstreams' },
  { href: '/ui/repository', label: 'Repository' },
  { href: '/ui/audit', label: 'Audit log' },
  { href: '/ui/history', label: 'History' },
  { href: '/ui/rollout', label: 'Rollout' },
] as const;

export const Csrf: FC<{ token: string }> = ({ token }) => <input type="hidden" name="csrf" value={token} />;

export const Layout: FC<PropsWithChildren<{ title: string; user: PageUser | null; active?: string; flash?: Flash | null }>> = ({ title, user, active, flash, children }) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <title>{title} · keyshare</title>
      <link rel="stylesheet" href="/ui/console.css" />
    </head>
    <body>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <p class="brand">
          <a href="/ui/">keyshare</a> <span>console</span>
        </p>
        {user && (
          <nav aria-label="Console">
            <ul>
              {NAV.map((n) => (
                <li>
                  <a href={n.href} aria-current={active === n.href ? 'page' : undefined}>
                    {n.label}
                  </a>
                </li>
              ))}
            </ul>
          </nav>
        )}
        {user && (
          <form method="post" action="/ui/signout" class="signout">
            <Csrf token={user.csrf} />
            <span class="who">
              token <code>{user.tokenId}</code> ({user.role}
              {user.scopes ? `: ${user.scopes.join(', ')}` : ''})
            </span>{' '}
            <button type="submit">Sign out</button>
          </form>
        )}
      </header>
      <main id="main" tabindex={-1}>
        <h1>{title}</h1>
        {flash && (
          <p class={`flash ${flash.kind}`} role={flash.kind === 'error' ? 'alert' : 'status'}>
            {flash.text}
          </p>
        )}
        {children}
      </main>
    </body>
  </html>
);

export const SignInPage: FC<{ csrf: string; error?: string }> = ({ csrf, error }) => (
  <Layout title="Sign in" user={null} flash={error ? { kind: 'error', text: error } : null}>
    <form method="post" action="/ui/signin" class="card narrow">
      <Csrf token={csrf} />
      <p>
        <label for="token">API token</label>
        <input id="token" name="token" type="password" autocomplete="off" required spellcheck={false} aria-describedby="token-help" />
      </p>
      <p id="token-help" class="help">
        An admin, editor or reader token: <code>keyshare token create</code>, or <code>&lt;data&gt;/admin.token</code>. It is checked once and is not kept in
        your browser.
      </p>
      <p>
        <button type="submit">Sign in</button>
      </p>
    </form>
  </Layout>
);

export const ExpiryText: FC<{ expiry: Expiry; now: Date }> = ({ expiry, now }) => {
  if (expiry.kind === 'none' || !expiry.at) return <span class="muted">no expiry</span>;
  const when = <time datetime={expiry.at}>{expiry.at.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC')}</time>;
  const rel = relative(expiry.at, now);
  switch (expiry.kind) {
    case 'expired':
      return (
        <span class="exp expired">
          <strong>Expired</strong> {rel}: {when}
        </span>
      );
    case 'critical':
      return (
        <span class="exp critical">
          <strong>Expires {rel}</strong> (under {CRITICAL_DAYS} days): {when}
        </span>
      );
    case 'warning':
      return (
        <span class="exp warning">
          <strong>Expires {rel}</strong> (under {WARN_DAYS} days): {when}
        </span>
      );
    default:
      return (
        <span class="exp ok">
          {when} ({rel})
        </span>
      );
  }
};


export const Id: FC<{ id: string }> = ({ id }) => (
  <code class="id" title={id}>
    {id}
  </code>
);


export const scopeAnchor = (scope: string) => `scope-${encodeURIComponent(scope)}`;
export const ScopeLink: FC<{ scope: string }> = ({ scope }) => (
  <a href={`/ui/scopes#${scopeAnchor(scope)}`}>
    <code>{scope}</code>
  </a>
);

/** Why a scope has no effective anchors. */

export const ErrorPage: FC<{ status: number; message: string; user: PageUser | null }> = ({ status, message, user }) => (
  <Layout title={status === 403 ? 'Not allowed' : status === 404 ? 'Not found' : 'Something went wrong'} user={user} flash={{ kind: 'error', text: message }}>
    <p>
      <a href="/ui/">Back to the overview</a>
    </p>
  </Layout>
);

export const CONSOLE_CSS = `
:root { --fg:#1b1f24; --muted:#57606a; --bg:#fff; --line:#d0d7de; --accent:#0a58ca; --warn-bg:#fff4d6; --warn:#7a4d00; --crit-bg:#ffe3e0; --crit:#a40e26; --ok:#116329; }
* { box-sizing: border-box; }
body { margin:0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color:var(--fg); background:var(--bg); }
a { color:var(--accent); }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.skip { position:absolute; left:-999px; top:0; background:#000; color:#fff; padding:.5em 1em; }
.skip:focus { left:0; z-index:10; }
.top { display:flex; flex-wrap:wrap; align-items:center; gap:1em; padding:.6em 1.2em; border-bottom:1px solid var(--line); background:#f6f8fa; }
.brand { margin:0; font-weight:700; } .brand a { color:var(--fg); text-decoration:none; } .brand span { color:var(--muted); font-weight:400; }
nav ul { list-style:none; display:flex; flex-wrap:wrap; gap:.2em 1em; margin:0; padding:0; }
nav a[aria-current=page] { font-weight:700; text-decoration:none; color:var(--fg); border-bottom:2px solid var(--accent); }
.signout { margin-left:auto; } .who { color:var(--muted); font-size:.9em; }
main { padding:1em 1.2em 3em; max-width:1400px; }
h1 { font-size:1.6em; margin:.2em 0 .6em; } h2 { font-size:1.25em; margin-top:1.6em; } h3 { font-size:1.05em; margin:.2em 0; }
table { border-collapse:collapse; width:100%; margin:.5em 0 1em; font-size:.92em; }
caption { text-align:left; color:var(--muted); padding:.3em 0; }
th, td { border:1px solid var(--line); padding:.35em .5em; text-align:left; vertical-align:top; }
thead th { background:#f6f8fa; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size:.92em; }
code.id { word-break:break-all; }
.muted { color:var(--muted); }
.help { color:var(--muted); font-size:.9em; margin-top:-.4em; }
.exp.warning { color:var(--warn); } .exp.critical, .exp.expired { color:var(--crit); } .exp.ok, .ok-text { color:var(--ok); }
tr.row-warning td { background:var(--warn-bg); } tr.row-critical td, tr.row-expired td { background:var(--crit-bg); }
.flash { padding:.6em .9em; border-radius:6px; border:1px solid; }
.flash.ok { background:#dafbe1; border-color:#4ac26b; } .flash.error { background:var(--crit-bg); border-color:var(--crit); }
.tree { list-style:none; padding-left:1.2em; border-left:2px solid var(--line); }
ul.tree.top { padding-left:0; border-left:0; }
.scope { margin:.6em 0; } .meta { margin:.1em 0 .4em; color:var(--muted); }
.forms { display:grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap:1em; margin-top:2em; }
.card { border:1px solid var(--line); border-radius:8px; padding:.8em 1em; background:#fff; }
.attention { border-color:var(--crit); margin-bottom:1em; } .attention h2 { margin-top:0; }
.card.narrow { max-width:520px; } .card.medium { max-width:760px; }
fieldset { border:0; padding:0; margin:0; } legend { font-weight:700; font-size:1.1em; margin-bottom:.4em; }
label { display:block; font-weight:600; margin-bottom:.2em; }
input[type=checkbox] + label { display:inline; font-weight:400; }
form.inline { display:inline; margin-left:.5em; }
input:not([type=checkbox]):not([type=file]), select, textarea { width:100%; padding:.4em; border:1px solid #8c959f; border-radius:4px; font:inherit; }
textarea { font-family: ui-monospace, monospace; font-size:.85em; }
button { padding:.45em 1em; border-radius:6px; border:1px solid var(--accent); background:var(--accent); color:#fff; font:inherit; cursor:pointer; }
.signout button { background:#fff; color:var(--accent); }
.counts { list-style:none; display:flex; gap:1em; padding:0; } .counts li { border:1px solid var(--line); border-radius:8px; padding:.6em 1em; }
.counts strong { font-size:1.4em; display:block; }
`;
