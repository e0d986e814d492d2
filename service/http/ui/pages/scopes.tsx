/** The console's scopes page (`/ui/scopes`): its view, and its routes (scopes and their anchors: add, remove), mounted by ../console.tsx. */
import { anchorIdOf } from '../../../domain/anchor.js';
import type { Level } from '../../../domain/types.js';
import { detectMaterial } from '../../../crypto/index.js';
import { KeyshareError, Codes } from '../../../errors.js';
import { consoleWrite, type ConsoleWrite } from '../actions.js';
import { scopeTree } from '../model.js';
import { canWrite, confirmFirst, done, failure, page, str, takeFlash, userOf, type C, type ConsoleApp, type ConsoleContext } from '../kit.js';
import type { FC } from 'hono/jsx';
import { LEVELS } from '../../../domain/types.js';
import type { EffectiveAnchor, ScopeNode } from '../model.js';
import { CRITICAL_DAYS, WARN_DAYS } from '../model.js';
import type { Flash } from '../session.js';
import { Csrf, ExpiryText, Id, Layout, ScopeLink, scopeAnchor, type PageUser } from '../layout.js';

/** Issue 21: a destructive change is a form whose first post answers the plan and asks to confirm (console.tsx). */
const RemoveForm: FC<{ action: string; csrf: string; fields: Record<string, string>; label: string }> = ({ action, csrf, fields, label }) => (
  <form method="post" action={action} class="inline">
    <Csrf token={csrf} />
    {Object.entries(fields).map(([name, value]) => (
      <input type="hidden" name={name} value={value} />
    ))}
    <button type="submit" aria-label={label}>
      Remove…
    </button>
  </form>
);

const AnchorTable: FC<{ node: ScopeNode; now: Date; canRevoke: boolean; csrf: string }> = ({ node, now, canRevoke, csrf }) => (
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
              {a.definedAt === node.scope && <RemoveForm action="/ui/anchors/remove" csrf={csrf} fields={{ scope: node.scope, id: a.id }} label={`Remove ${a.name} (${a.id}) from ${node.scope}`} />}
            </td>
          )}
        </tr>
      ))}
    </tbody>
  </table>
);

/** Where a scope is shown on the scopes page: every scope name elsewhere links there. */

function noAnchorsReason(node: ScopeNode): string {
  const { revoked, blocked } = node.excluded;
  if (revoked + blocked === 0) return 'No effective anchors: none is defined here' + (node.inherit && node.scope !== '*' ? ' or in a parent scope.' : '.');
  const n = revoked + blocked;
  const why = blocked === 0 ? 'revoked' : revoked === 0 ? 'blocked here or in a parent scope' : `revoked (${revoked}) or blocked (${blocked})`;
  return `No effective anchors: ${n === 1 ? 'the one anchor' : `all ${n} anchors`} defined here${node.inherit ? ' or inherited' : ''} ${n === 1 ? 'is' : 'are'} ${why}.`;
}

const ScopeItem: FC<{ node: ScopeNode; now: Date; canRevoke: boolean; csrf: string }> = ({ node, now, canRevoke, csrf }) => (
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
        {canRevoke && <RemoveForm action="/ui/scopes/remove" csrf={csrf} fields={{ scope: node.scope }} label={`Remove scope ${node.scope}`} />}
      </p>
      {node.anchors.length > 0 ? <AnchorTable node={node} now={now} canRevoke={canRevoke} csrf={csrf} /> : <p class="muted">{noAnchorsReason(node)}</p>}
      {node.children.length > 0 && (
        <ul class="tree">
          {node.children.map((child) => (
            <ScopeItem node={child} now={now} canRevoke={canRevoke} csrf={csrf} />
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
            <ScopeItem node={n} now={now} canRevoke={canWrite} csrf={user.csrf} />
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

/** A confirmed removal (of a scope or an anchor), back on the scopes page with its outcome. */
async function removal(c: C, w: ConsoleWrite, remove: () => Promise<unknown>, title: string, action: string, ok: string, failed: string) {
  const body = await c.req.parseBody();
  try {
    const asked = await confirmFirst(c, body, w, remove, { title, action, back: '/ui/scopes' });
    if (asked) return asked;
    await consoleWrite(c.get('instance'), c.get('principal'), w, remove);
    return done(c, '/ui/scopes', 'ok', ok);
  } catch (e) {
    return done(c, '/ui/scopes', 'error', `${failed}: ${failure(e)}`);
  }
}

/** The anchor of the add form: an uploaded file or pasted material, never a private key. */
async function anchorInput(body: Record<string, unknown>) {
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
  return {
    ...(isCert ? { certificate: material } : { publicKey: material }),
    type: isCert ? ((str(body.type) || 'ca') as 'ca') : undefined,
    name: str(body.name) || undefined,
    trustedIdentities: isCert && identities.length ? identities : undefined,
  };
}

export function scopesRoutes(app: ConsoleApp, { clock }: ConsoleContext): void {
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
      const input = await anchorInput(body);
      // The audit log's target column: the anchor's ID, as for the API.
      const target = await anchorIdOf(input);
      const { service } = c.get('instance');
      const r = await consoleWrite(c.get('instance'), c.get('principal'), { action: 'anchor.add', scope, target }, () => service.addAnchor(scope, input));
      return done(c, '/ui/scopes', 'ok', `Added ${r.anchor.type} anchor ${r.anchor.name} (${r.anchor.id}) to ${scope}.`);
    } catch (e) {
      return done(c, '/ui/scopes', 'error', `Could not add the anchor to ${scope || '(no scope)'}: ${failure(e)}`);
    }
  });

  app.post('/anchors/remove', async (c) => {
    const body = await c.req.parseBody();
    const scope = str(body.scope);
    const id = str(body.id);
    const remove = () => c.get('instance').service.removeAnchor(scope, id);
    return removal(c, { action: 'anchor.remove', scope, target: id }, remove, `Remove anchor ${id} from ${scope}`, '/ui/anchors/remove', `Removed anchor ${id} from ${scope}.`, 'Could not remove the anchor');
  });

  app.post('/scopes/remove', async (c) => {
    const body = await c.req.parseBody();
    const scope = str(body.scope);
    const remove = () => c.get('instance').service.deleteScope(scope);
    return removal(c, { action: 'scope.delete', scope }, remove, `Remove scope ${scope}`, '/ui/scopes/remove', `Removed scope ${scope}.`, `Could not remove scope ${scope}`);
  });
}
