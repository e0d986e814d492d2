/**
 * The console's History page (`/ui/history`, issue 21): the newest versions that changed trust,
 * each with its diff and the audit entries that led to it. Its view and its route, mounted by
 * ../console.tsx.
 */
import type { FC } from 'hono/jsx';
import { recentVersions, type VersionEntry } from '../../../history.js';
import type { AuditRecord } from '../../../store/index.js';
import type { Flash } from '../session.js';
import { Layout, type PageUser } from '../layout.js';
import { page, takeFlash, userOf, type ConsoleApp } from '../kit.js';
import { PlanList } from './confirm.js';

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

export function historyRoutes(app: ConsoleApp): void {
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
}
