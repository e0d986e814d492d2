/** The console's upstreams page (`/ui/upstreams`): its view and its route, mounted by ../console.tsx. */
import { page, takeFlash, userOf, type ConsoleApp, type ConsoleContext } from '../kit.js';
import type { FC } from 'hono/jsx';
import type { UpstreamSummary } from '../../../store/index.js';
import { relative } from '../model.js';
import type { Flash } from '../session.js';
import { Layout, type PageUser } from '../layout.js';

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

export function upstreamsRoutes(app: ConsoleApp, { clock }: ConsoleContext): void {
  app.get('/upstreams', async (c) => {
    const s = c.get('session');
    return page(c, <UpstreamsPage user={userOf(s)} flash={takeFlash(s)} now={clock()} upstreams={await c.get('instance').records.upstreams.upstreamSummaries()} />);
  });
}
