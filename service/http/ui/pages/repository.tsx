/** The console's repository page (`/ui/repository`): its view and its route, mounted by ../console.tsx. */
import { roleRows } from '../model.js';
import { page, takeFlash, userOf, type ConsoleApp, type ConsoleContext } from '../kit.js';
import type { FC } from 'hono/jsx';
import type { Expiry, RoleState } from '../model.js';
import { relative } from '../model.js';
import type { Flash } from '../session.js';
import { Layout, type PageUser } from '../layout.js';

export const RolesTable: FC<{ roles: (RoleState & { health: Expiry })[]; now: Date }> = ({ roles, now }) => (
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

export function repositoryRoutes(app: ConsoleApp, { clock }: ConsoleContext): void {
  app.get('/repository', async (c) => {
    const s = c.get('session');
    const now = clock();
    return page(c, <RepositoryPage user={userOf(s)} flash={takeFlash(s)} now={now} roles={await roleRows(c.get('instance').records, now)} />);
  });
}
