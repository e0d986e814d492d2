/** The console's overview page (`/ui/`): its view and its route, mounted by ../console.tsx. */
import { evaluateHealth } from '../../../health.js';
import { expiringAnchors, expiryOf, roleRows } from '../model.js';
import { page, takeFlash, userOf, type ConsoleApp, type ConsoleContext } from '../kit.js';
import type { FC } from 'hono/jsx';
import type { Expiry, ExpiringAnchor, RoleState } from '../model.js';
import { CRITICAL_DAYS, WARN_DAYS } from '../model.js';
import type { Flash } from '../session.js';
import { ExpiryText, Id, Layout, ScopeLink, type PageUser } from '../layout.js';
import { RolesTable } from './repository.js';

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

export function overviewRoutes(app: ConsoleApp, { clock }: ConsoleContext): void {
  app.get('/', async (c) => {
    const s = c.get('session');
    const instance = c.get('instance');
    const { records } = instance;
    const now = clock();
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
        roles={await roleRows(records, now)}
      />,
    );
  });
}
