/**
 * The console's Rollout page (`/ui/rollout`, issue 21): per revocation, how many reporting
 * clients hold it. Its view and its route, mounted by ../console.tsx.
 */
import type { FC } from 'hono/jsx';
import { revocationRollouts, type RevocationRollout } from '../../../rollout.js';
import type { Flash } from '../session.js';
import { Layout, type PageUser } from '../layout.js';
import { page, takeFlash, userOf, type ConsoleApp, type ConsoleContext } from '../kit.js';

export const RolloutPage: FC<{ user: PageUser; flash: Flash | null; rollouts: RevocationRollout[] }> = ({ user, flash, rollouts }) => (
  <Layout title="Rollout" user={user} active="/ui/rollout" flash={flash}>
    <table>
      <caption>For each revocation: the reporting clients (keyshare fetch --report) that hold a version carrying it</caption>
      <thead>
        <tr>
          <th scope="col">Revocation</th>
          <th scope="col">Scope</th>
          <th scope="col">From version</th>
          <th scope="col">Clients holding it</th>
          <th scope="col">Behind</th>
        </tr>
      </thead>
      <tbody>
        {rollouts.map((r) => (
          <tr>
            <td>
              {r.kind} <code>{r.id}</code>
            </td>
            <td>{r.scope ?? 'everywhere'}</td>
            <td>{r.carriedFrom ?? 'not published yet'}</td>
            <td>
              {r.holding} of {r.clients} ({r.percent}%)
            </td>
            <td>{r.behind.length ? r.behind.slice(0, 20).join(', ') + (r.behind.length > 20 ? ', …' : '') : 'none'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  </Layout>
);

export function rolloutRoutes(app: ConsoleApp, { clock, clientLimits }: ConsoleContext): void {
  app.get('/rollout', async (c) => {
    const s = c.get('session');
    return page(c, <RolloutPage user={userOf(s)} flash={takeFlash(s)} rollouts={await revocationRollouts(c.get('instance').records.rollout, clock(), clientLimits)} />);
  });
}
