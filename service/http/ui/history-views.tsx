/**
 * The console's History and Rollout pages (issue 21): the newest versions that changed trust,
 * each with its diff and the audit entries that led to it; and, per revocation, how many
 * reporting clients hold it.
 */
import type { FC } from 'hono/jsx';
import type { ScopePlan } from '../../domain/plan.js';
import type { VersionEntry } from '../../history.js';
import type { RevocationRollout } from '../../rollout.js';
import type { AuditRecord } from '../../store/index.js';
import { Layout, type PageUser } from './views.js';
import type { Flash } from './session.js';

export const PlanList: FC<{ plan: ScopePlan[] }> = ({ plan }) => (
  <ul>
    {plan.map((p) => (
      <li>
        <code>{p.scope}</code>: {p.change}
        {p.level ? `, level ${p.level.from ?? '-'} → ${p.level.to ?? '-'}` : ''}
        <ul>
          {p.anchorsAdded.map((a) => (
            <li>
              + {a.type} anchor {a.name} <code>{a.id}</code>
              {a.definedAt !== p.scope ? ` (from ${a.definedAt})` : ''}
            </li>
          ))}
          {p.anchorsRemoved.map((a) => (
            <li>
              − {a.type} anchor {a.name} <code>{a.id}</code>
            </li>
          ))}
          {p.revoked.map((r) => (
            <li>
              revoke {r.kind} <code>{r.id}</code> ({r.reason})
            </li>
          ))}
        </ul>
      </li>
    ))}
  </ul>
);

export const HistoryPage: FC<{ user: PageUser; flash: Flash | null; versions: (VersionEntry & { audit: AuditRecord[] })[] }> = ({ user, flash, versions }) => (
  <Layout title="History" user={user} active="/ui/history" flash={flash}>
    {versions.length === 0 && <p>No version has changed trust yet.</p>}
    {versions.map((v) => (
      <section>
        <h2>
          Version {v.version} <small>({v.publishedAt})</small>
        </h2>
        <PlanList plan={v.changes} />
        {v.audit.length > 0 && (
          <p>
            Caused by:{' '}
            {v.audit.map((a) => (
              <>
                <a href={`/ui/audit?before=${a.seq + 1}`}>
                  #{a.seq} {a.action}
                  {a.target ? ` ${a.target}` : ''}
                </a>{' '}
              </>
            ))}
          </p>
        )}
      </section>
    ))}
  </Layout>
);

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
