/**
 * The console's pages, server-rendered with hono's JSX. Plain HTML forms (no JavaScript),
 * landmarks, labelled controls, captioned tables, and warnings said in words as well as colour.
 */
import type { Child, FC, PropsWithChildren } from 'hono/jsx';
import { LEVELS, REVOCATION_REASONS, type Revocations } from '../../domain/types.js';
import type { CrlSummary, UpstreamSummary } from '../../store/index.js';
import { crlNumberDecimal } from '../../domain/crl.js';
import type { EffectiveAnchor, Expiry, ExpiringAnchor, RoleState, ScopeNode } from './model.js';
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

const Csrf: FC<{ token: string }> = ({ token }) => <input type="hidden" name="csrf" value={token} />;

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

const Id: FC<{ id: string }> = ({ id }) => (
  <code class="id" title={id}>
    {id}
  </code>
);

const AnchorTable: FC<{ node: ScopeNode; now: Date; canRevoke: boolean }> = ({ node, now, canRevoke }) => (
  <table>
    <caption>
      Effective anchors of <code>{node.scope}</code> ({node.anchors.length})
    </caption>
    <thead>
      <tr>
        <th scope="col">Name</th>
        <th scope="col">Subject</th>
        <th scope="col">Type</th>
        <th scope="col">ID</th>
        <th scope="col">Expiry</th>
        <th scope="col">Defined at</th>
        {canRevoke && <th scope="col">Action</th>}
      </tr>
    </thead>
    <tbody>
      {node.anchors.map((a: EffectiveAnchor) => (
        <tr class={`row-${a.expiry.kind}`}>
          <td>{a.name}</td>
          <td>{a.subject ?? <span class="muted">—</span>}</td>
          <td>{a.type}</td>
          <td>
            <Id id={a.id} />
          </td>
          <td>
            <ExpiryText expiry={a.expiry} now={now} />
          </td>
          <td>{a.definedAt === node.scope ? <span>this scope</span> : <code>{a.definedAt}</code>}</td>
          {canRevoke && (
            <td>
              <a href={`/ui/revocations?kind=key&id=${encodeURIComponent(a.id)}`} aria-label={`Revoke ${a.name} (${a.id})`}>
                Revoke…
              </a>
            </td>
          )}
        </tr>
      ))}
    </tbody>
  </table>
);

/** Where a scope is shown on the scopes page: every scope name elsewhere links there. */
const scopeAnchor = (scope: string) => `scope-${encodeURIComponent(scope)}`;
export const ScopeLink: FC<{ scope: string }> = ({ scope }) => (
  <a href={`/ui/scopes#${scopeAnchor(scope)}`}>
    <code>{scope}</code>
  </a>
);

/** Why a scope has no effective anchors. */
function noAnchorsReason(node: ScopeNode): string {
  const { revoked, blocked } = node.excluded;
  if (revoked + blocked === 0) return 'No effective anchors: none is defined here' + (node.inherit && node.scope !== '*' ? ' or in a parent scope.' : '.');
  const n = revoked + blocked;
  const why = blocked === 0 ? 'revoked' : revoked === 0 ? 'blocked here or in a parent scope' : `revoked (${revoked}) or blocked (${blocked})`;
  return `No effective anchors: ${n === 1 ? 'the one anchor' : `all ${n} anchors`} defined here${node.inherit ? ' or inherited' : ''} ${n === 1 ? 'is' : 'are'} ${why}.`;
}

const ScopeItem: FC<{ node: ScopeNode; now: Date; canRevoke: boolean }> = ({ node, now, canRevoke }) => (
  <li>
    <section class="scope" id={scopeAnchor(node.scope)} aria-label={`Scope ${node.scope}`}>
      <h3>
        <ScopeLink scope={node.scope} />
      </h3>
      <p class="meta">
        level <strong>{node.level}</strong>
        {node.ownLevel ? '' : node.levelFrom ? ` (inherited from ${node.levelFrom})` : ' (default)'} ·{' '}
        {node.scope === '*' ? 'the default scope' : node.inherit ? 'inherits from parents' : <strong>does not inherit</strong>}
        {node.source ? ` · from upstream ${node.source}` : ''}
      </p>
      {node.anchors.length > 0 ? <AnchorTable node={node} now={now} canRevoke={canRevoke} /> : <p class="muted">{noAnchorsReason(node)}</p>}
      {node.children.length > 0 && (
        <ul class="tree">
          {node.children.map((child) => (
            <ScopeItem node={child} now={now} canRevoke={canRevoke} />
          ))}
        </ul>
      )}
    </section>
  </li>
);

const flatten = (nodes: ScopeNode[]): string[] => nodes.flatMap((n) => [n.scope, ...flatten(n.children)]);

export const ScopesPage: FC<{ user: PageUser; flash: Flash | null; tree: ScopeNode[]; now: Date; canWrite: boolean }> = ({ user, flash, tree, now, canWrite }) => {
  const all = flatten(tree).sort();
  return (
    <Layout title="Scopes" user={user} active="/ui/scopes" flash={flash}>
      <p>
        Each scope with the anchors it trusts: its own and those it inherits. Certificates expiring within {WARN_DAYS} days are flagged, and within {CRITICAL_DAYS} days
        marked urgent.
      </p>
      <h2 id="tree">Scope tree</h2>
      {tree.length === 0 ? (
        <p class="muted">No scopes yet.</p>
      ) : (
        <ul class="tree top" aria-labelledby="tree">
          {tree.map((n) => (
            <ScopeItem node={n} now={now} canRevoke={canWrite} />
          ))}
        </ul>
      )}
      {canWrite ? (
        <div class="forms">
          <form method="post" action="/ui/scopes" class="card">
            <Csrf token={user.csrf} />
            <fieldset>
              <legend>Add a scope</legend>
              <p>
                <label for="new-scope">Scope</label>
                <input id="new-scope" name="scope" required placeholder="registry.acme.io/team-a" aria-describedby="new-scope-help" />
              </p>
              <p id="new-scope-help" class="help">
                <code>*</code>, <code>*.example.com</code>, <code>host[:port]</code> or <code>host[:port]/path</code>.
              </p>
              <p>
                <label for="new-level">Level</label>
                <select id="new-level" name="level">
                  <option value="">inherited</option>
                  {LEVELS.map((l) => (
                    <option value={l}>{l}</option>
                  ))}
                </select>
              </p>
              <p>
                <input id="new-noinherit" type="checkbox" name="noInherit" value="1" /> <label for="new-noinherit">Do not inherit from parent scopes</label>
              </p>
              <p>
                <button type="submit">Add scope</button>
              </p>
            </fieldset>
          </form>
          <form method="post" action="/ui/anchors" enctype="multipart/form-data" class="card">
            <Csrf token={user.csrf} />
            <fieldset>
              <legend>Add an anchor</legend>
              <p>
                <label for="anchor-scope">Scope</label>
                <select id="anchor-scope" name="scope" required>
                  {all.map((s) => (
                    <option value={s}>{s}</option>
                  ))}
                </select>
              </p>
              <p>
                <label for="anchor-file">Certificate or public key file</label>
                <input id="anchor-file" type="file" name="file" aria-describedby="anchor-file-help" />
              </p>
              <p id="anchor-file-help" class="help">
                An X.509 certificate (PEM or DER), a PEM public key (e.g. <code>cosign.pub</code>) or an OpenPGP public key. Never a private key.
              </p>
              <p>
                <label for="anchor-pem">…or paste it</label>
                <textarea id="anchor-pem" name="material" rows={4} spellcheck={false} placeholder="-----BEGIN CERTIFICATE-----"></textarea>
              </p>
              <p>
                <label for="anchor-type">Certificate type</label>
                <select id="anchor-type" name="type">
                  <option value="ca">ca</option>
                  <option value="signingAuthority">signingAuthority</option>
                  <option value="tsa">tsa</option>
                </select>
              </p>
              <p>
                <label for="anchor-name">Name</label>
                <input id="anchor-name" name="name" placeholder="from the subject when empty" />
              </p>
              <p>
                <label for="anchor-identities">Trusted identities</label>
                <input id="anchor-identities" name="identities" placeholder="x509.subject: CN=ci, O=Acme" aria-describedby="anchor-identities-help" />
              </p>
              <p id="anchor-identities-help" class="help">
                Optional, certificates only: one or more <code>x509.subject: …</code> values separated by <code>;</code>. Empty means any.
              </p>
              <p>
                <button type="submit">Add anchor</button>
              </p>
            </fieldset>
          </form>
        </div>
      ) : (
        <p class="muted">This token can only read: sign in with an editor or admin token to change trust.</p>
      )}
    </Layout>
  );
};

export const OverviewPage: FC<{
  user: PageUser;
  flash: Flash | null;
  now: Date;
  counts: { scopes: number; anchors: number; revocations: number };
  expiring: ExpiringAnchor[];
  roles: (RoleState & { health: Expiry })[];
  /** CRLs stale or due within 7 days, and upstreams whose last sync failed. */
  attention: { staleCrls: number; dueCrls: number; failingUpstreams: string[]; health: { level: 'warn' | 'error'; message: string }[] };
}> = ({ user, flash, now, counts, expiring, roles, attention }) => (
  <Layout title="Overview" user={user} active="/ui/" flash={flash}>
    {(attention.staleCrls > 0 || attention.dueCrls > 0 || attention.failingUpstreams.length > 0 || attention.health.length > 0) && (
      <section class="card attention" aria-labelledby="attention">
        <h2 id="attention">Needs attention</h2>
        <ul>
          {attention.health.map((w) => (
            <li class="health-warning">{w.level === 'error' ? <strong class="exp expired">{w.message}</strong> : <span class="exp critical">{w.message}</span>}</li>
          ))}
          {attention.staleCrls > 0 && (
            <li>
              <a href="/ui/crls">
                <strong class="exp expired">{attention.staleCrls === 1 ? '1 CRL is' : `${attention.staleCrls} CRLs are`} past nextUpdate</strong>
              </a>
            </li>
          )}
          {attention.dueCrls > 0 && (
            <li>
              <a href="/ui/crls">
                <span class="exp critical">
                  {attention.dueCrls === 1 ? '1 CRL reaches' : `${attention.dueCrls} CRLs reach`} nextUpdate within {CRITICAL_DAYS} days
                </span>
              </a>
            </li>
          )}
          {attention.failingUpstreams.length > 0 && (
            <li>
              <a href="/ui/upstreams">
                <strong class="exp expired">Last sync failed: {attention.failingUpstreams.join(', ')}</strong>
              </a>
            </li>
          )}
        </ul>
      </section>
    )}
    <ul class="counts" aria-label="Totals">
      <li>
        <a href="/ui/scopes">
          <strong>{counts.scopes}</strong> scopes
        </a>
      </li>
      <li>
        <strong>{counts.anchors}</strong> anchors
      </li>
      <li>
        <a href="/ui/revocations">
          <strong>{counts.revocations}</strong> revocations
        </a>
      </li>
    </ul>
    <h2>Anchors expiring within {WARN_DAYS} days</h2>
    {expiring.length === 0 ? (
      <p class="ok-text">None: no anchor expires within {WARN_DAYS} days.</p>
    ) : (
      <table>
        <caption>{expiring.length === 1 ? '1 anchor needs' : `${expiring.length} anchors need`} attention</caption>
        <thead>
          <tr>
            <th scope="col">Scope</th>
            <th scope="col">Name</th>
            <th scope="col">Subject</th>
            <th scope="col">ID</th>
            <th scope="col">Expiry</th>
          </tr>
        </thead>
        <tbody>
          {expiring.map((a) => (
            <tr class={`row-${a.expiry.kind}`}>
              <td>
                <ScopeLink scope={a.scope} />
              </td>
              <td>{a.name}</td>
              <td>{a.subject ?? ''}</td>
              <td>
                <Id id={a.id} />
              </td>
              <td>
                <ExpiryText expiry={a.expiry} now={now} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    )}
    <RolesTable roles={roles} now={now} />
  </Layout>
);

const RolesTable: FC<{ roles: (RoleState & { health: Expiry })[]; now: Date }> = ({ roles, now }) => (
  <>
    <h2>Published repository</h2>
    <table>
      <caption>The newest version of each TUF role and when it expires (roles are re-signed automatically before they expire)</caption>
      <thead>
        <tr>
          <th scope="col">Role</th>
          <th scope="col">Version</th>
          <th scope="col">Expires</th>
          <th scope="col">Status</th>
        </tr>
      </thead>
      <tbody>
        {roles.map((r) => (
          <tr class={`row-${r.health.kind}`}>
            <th scope="row">{r.role === 'bins' ? `hashed bins (${r.count})` : r.role}</th>
            <td>{r.role === 'bins' ? `up to ${r.version}` : r.version}</td>
            <td>
              <time datetime={r.expires}>{r.expires}</time> ({relative(r.expires, now)})
            </td>
            <td>
              {r.health.kind === 'expired' ? (
                <strong class="exp expired">Expired</strong>
              ) : r.health.kind === 'critical' ? (
                <strong class="exp critical">Expiring soon: not re-signed in time</strong>
              ) : r.health.kind === 'warning' ? (
                <span class="exp warning">Due for re-signing</span>
              ) : (
                <span class="exp ok">Fresh</span>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  </>
);

export const RepositoryPage: FC<{ user: PageUser; flash: Flash | null; now: Date; roles: (RoleState & { health: Expiry })[] }> = ({ user, flash, now, roles }) => (
  <Layout title="Repository" user={user} active="/ui/repository" flash={flash}>
    <p>
      The TUF repository is served under <a href="/tuf/timestamp.json">/tuf/</a>. Clients pin <code>root.json</code> out of band.
    </p>
    <RolesTable roles={roles} now={now} />
  </Layout>
);

export interface RevokePrefill {
  kind?: string;
  id?: string;
  digest?: string;
  issuer?: string;
  serial?: string;
}

export const RevocationsPage: FC<{ user: PageUser; flash: Flash | null; revocations: Revocations; canWrite: boolean; prefill: RevokePrefill; scopes: string[] }> = ({
  user,
  flash,
  revocations,
  canWrite,
  prefill,
  scopes,
}) => {
  const scopeCell = (s: string | null | undefined) => (s ? <code>{s}</code> : <span>everywhere</span>);
  return (
    <Layout title="Revocations" user={user} active="/ui/revocations" flash={flash}>
      {canWrite ? (
        <form method="post" action="/ui/revocations" class="card medium">
          <Csrf token={user.csrf} />
          <fieldset>
            <legend>Revoke</legend>
            <p>
              <label for="rev-kind">What</label>
              <select id="rev-kind" name="kind">
                <option value="key" selected={prefill.kind !== 'signature' && prefill.kind !== 'certificate'}>
                  a key or certificate anchor, by ID
                </option>
                <option value="certificate" selected={prefill.kind === 'certificate'}>
                  a certificate, by issuer and serial
                </option>
                <option value="signature" selected={prefill.kind === 'signature'}>
                  a signature, by digest
                </option>
              </select>
            </p>
            <p>
              <label for="rev-id">Key ID (for a key)</label>
              <input id="rev-id" name="id" value={prefill.id ?? ''} placeholder="sha256:… or pgp:…" spellcheck={false} />
            </p>
            <p>
              <label for="rev-issuer">Issuer anchor ID (for a certificate)</label>
              <input id="rev-issuer" name="issuer" value={prefill.issuer ?? ''} placeholder="sha256:…" spellcheck={false} />
            </p>
            <p>
              <label for="rev-serial">Serial, hex (for a certificate)</label>
              <input id="rev-serial" name="serial" value={prefill.serial ?? ''} spellcheck={false} />
            </p>
            <p>
              <label for="rev-digest">Digest (for a signature)</label>
              <input id="rev-digest" name="digest" value={prefill.digest ?? ''} placeholder="sha256:…" spellcheck={false} />
            </p>
            <p>
              <label for="rev-reason">Reason</label>
              <select id="rev-reason" name="reason">
                {REVOCATION_REASONS.map((r) => (
                  <option value={r} selected={r === 'keyCompromise'}>
                    {r}
                  </option>
                ))}
              </select>
            </p>
            <p>
              <label for="rev-scope">Scope</label>
              <select id="rev-scope" name="scope">
                <option value="">everywhere</option>
                {scopes.map((s) => (
                  <option value={s}>{s}</option>
                ))}
              </select>
            </p>
            <p>
              <button type="submit">Revoke</button>
            </p>
          </fieldset>
        </form>
      ) : (
        <p class="muted">This token can only read.</p>
      )}
      <h2>Keys</h2>
      <RevTable
        caption={`${revocations.keys.length} revoked keys`}
        head={['Key ID', 'Reason', 'Revoked at', 'Scope']}
        rows={revocations.keys.map((k) => [<Id id={k.id} />, k.reason, k.revokedAt, scopeCell(k.scope)])}
      />
      <h2>Certificates</h2>
      <RevTable
        caption={`${revocations.certificates.length} revoked certificates`}
        head={['Issuer', 'Serial', 'Reason', 'Revoked at', 'Scope']}
        rows={revocations.certificates.map((r) => [<Id id={r.issuer} />, <code>{r.serial}</code>, r.reason, r.revokedAt, scopeCell(r.scope)])}
      />
      <h2>Signatures</h2>
      <RevTable
        caption={`${revocations.signatures.length} revoked signatures`}
        head={['Digest', 'Reason', 'Revoked at', 'Scope']}
        rows={revocations.signatures.map((s) => [<Id id={s.digest} />, s.reason, s.revokedAt, scopeCell(s.scope)])}
      />
    </Layout>
  );
};

const RevTable: FC<{ caption: string; head: string[]; rows: Child[][] }> = ({ caption, head, rows }) =>
  rows.length === 0 ? (
    <p class="muted">None.</p>
  ) : (
    <table>
      <caption>{caption}</caption>
      <thead>
        <tr>
          {head.map((h) => (
            <th scope="col">{h}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr>
            {r.map((cell) => (
              <td>{cell}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );

export const CrlsPage: FC<{ user: PageUser; flash: Flash | null; now: Date; crls: (CrlSummary & { issuerName: string | null; expiry: Expiry })[] }> = ({ user, flash, now, crls }) => (
  <Layout title="CRLs" user={user} active="/ui/crls" flash={flash}>
    <p>
      The newest CRL known for each CA anchor, published as <code>crl/&lt;issuer&gt;.crl</code> and at <code>/crl/&lt;issuer&gt;.crl</code>. A CRL past its
      nextUpdate is stale. Add one with <code>keyshare crl add FILE</code>.
    </p>
    {crls.length === 0 ? (
      <p class="muted">No CRLs yet.</p>
    ) : (
      <table>
        <caption>{crls.length} CRLs</caption>
        <thead>
          <tr>
            <th scope="col">Issuer</th>
            <th scope="col">CRL number</th>
            <th scope="col">This update</th>
            <th scope="col">Next update</th>
            <th scope="col">Source</th>
            <th scope="col">Last error</th>
          </tr>
        </thead>
        <tbody>
          {crls.map((c) => (
            <tr class={`row-${c.expiry.kind}`}>
              <td>
                {c.issuerName && <span>{c.issuerName} </span>}
                <Id id={c.issuer} />
              </td>
              <td>
                <code>{crlNumberDecimal(c.crlNumber)}</code>
              </td>
              <td>{c.thisUpdate}</td>
              <td>{c.expiry.kind === 'expired' ? <strong class="exp expired">Stale since {c.nextUpdate}</strong> : <ExpiryText expiry={c.expiry} now={now} />}</td>
              <td>{c.url ? <code>{c.url}</code> : 'uploaded'}</td>
              <td>{c.lastError ? <span class="exp expired">{c.lastError}</span> : <span class="muted">none</span>}</td>
            </tr>
          ))}
        </tbody>
      </table>
    )}
  </Layout>
);

export const UpstreamsPage: FC<{ user: PageUser; flash: Flash | null; now: Date; upstreams: UpstreamSummary[] }> = ({ user, flash, now, upstreams }) => (
  <Layout title="Upstreams" user={user} active="/ui/upstreams" flash={flash}>
    <p>
      Other keyshare services this one follows. Lag is the time since the last successful sync. Add one with <code>keyshare upstream add</code>.
    </p>
    {upstreams.length === 0 ? (
      <p class="muted">No upstreams.</p>
    ) : (
      <table>
        <caption>{upstreams.length} upstreams</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">URL</th>
            <th scope="col">Mode</th>
            <th scope="col">Timestamp version</th>
            <th scope="col">Last success (lag)</th>
            <th scope="col">Last error</th>
          </tr>
        </thead>
        <tbody>
          {upstreams.map((u) => (
            <tr class={u.lastError ? 'row-expired' : ''}>
              <th scope="row">{u.name}</th>
              <td>
                <code>{u.url}</code>
              </td>
              <td>
                {u.mode}
                {u.scopes && u.scopes.length > 0 ? ` (${u.scopes.join(', ')})` : ''}
              </td>
              <td>{u.timestampVersion ?? <span class="muted">none yet</span>}</td>
              <td>{u.lastSuccessAt ? `${u.lastSuccessAt} (${relative(u.lastSuccessAt, now).replace(/ ago$/, '')} behind)` : <strong class="exp warning">never synced</strong>}</td>
              <td>{u.lastError ? <strong class="exp expired">{u.lastError}</strong> : <span class="muted">none</span>}</td>
            </tr>
          ))}
        </tbody>
      </table>
    )}
  </Layout>
);

export interface AuditRow {
  seq: number;
  at: string;
  tokenId: string | null;
  action: string;
  scope: string | null;
  target: string | null;
  outcome: string;
}

export const AuditPage: FC<{ user: PageUser; flash: Flash | null; entries: AuditRow[] | null; older: number | null }> = ({ user, flash, entries, older }) => (
  <Layout title="Audit log" user={user} active="/ui/audit" flash={flash}>
    {entries === null ? (
      <p class="muted">The audit log is not available in this version of keyshare.</p>
    ) : entries.length === 0 ? (
      <p class="muted">No audit entries yet.</p>
    ) : (
      <>
        <p>
          Every change and every denied attempt, newest first. <code>keyshare audit verify</code> checks the hash chain.
        </p>
        <table>
          <caption>Audit entries {entries[entries.length - 1]!.seq} to {entries[0]!.seq}</caption>
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">Time</th>
              <th scope="col">Token</th>
              <th scope="col">Action</th>
              <th scope="col">Scope</th>
              <th scope="col">Target</th>
              <th scope="col">Outcome</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((e) => (
              <tr class={e.outcome === 'ok' ? '' : 'row-expired'}>
                <td>{e.seq}</td>
                <td>
                  <time datetime={e.at}>{e.at}</time>
                </td>
                <td>{e.tokenId ? <code>{e.tokenId}</code> : <span class="muted">none</span>}</td>
                <td>{e.action}</td>
                <td>{e.scope ? <ScopeLink scope={e.scope} /> : ''}</td>
                <td>{e.target ? <code class="id">{e.target}</code> : ''}</td>
                <td>{e.outcome === 'ok' ? e.outcome : <strong>{e.outcome}</strong>}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {older !== null && (
          <p>
            <a href={`/ui/audit?before=${older}`}>Older entries</a>
          </p>
        )}
      </>
    )}
  </Layout>
);

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
input:not([type=checkbox]):not([type=file]), select, textarea { width:100%; padding:.4em; border:1px solid #8c959f; border-radius:4px; font:inherit; }
textarea { font-family: ui-monospace, monospace; font-size:.85em; }
button { padding:.45em 1em; border-radius:6px; border:1px solid var(--accent); background:var(--accent); color:#fff; font:inherit; cursor:pointer; }
.signout button { background:#fff; color:var(--accent); }
.counts { list-style:none; display:flex; gap:1em; padding:0; } .counts li { border:1px solid var(--line); border-radius:8px; padding:.6em 1em; }
.counts strong { font-size:1.4em; display:block; }
`;
