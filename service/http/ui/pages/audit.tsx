/** The console's audit page (`/ui/audit`): its view and its route, mounted by ../console.tsx. */
import { consoleAudit } from '../actions.js';
import { page, takeFlash, userOf, type ConsoleApp } from '../kit.js';
import type { FC } from 'hono/jsx';
import type { Flash } from '../session.js';
import { Layout, ScopeLink, type PageUser } from '../layout.js';

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

const AUDIT_PAGE = 50;

export function auditRoutes(app: ConsoleApp): void {
  app.get('/audit', async (c) => {
    const s = c.get('session');
    const before = Number(c.req.query('before'));
    const result = await consoleAudit(c.get('instance'), Number.isInteger(before) && before > 0 ? before : null, AUDIT_PAGE);
    return page(c, <AuditPage user={userOf(s)} flash={takeFlash(s)} entries={result?.entries ?? null} older={result?.older ?? null} />);
  });
}
