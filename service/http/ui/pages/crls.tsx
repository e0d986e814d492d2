/** The console's CRLs page (`/ui/crls`): its view and its route, mounted by ../console.tsx. */
import { expiryOf } from '../model.js';
import { page, takeFlash, userOf, type ConsoleApp, type ConsoleContext } from '../kit.js';
import type { FC } from 'hono/jsx';
import type { CrlSummary } from '../../../store/index.js';
import { crlNumberDecimal } from '../../../domain/crl.js';
import type { Expiry } from '../model.js';
import type { Flash } from '../session.js';
import { ExpiryText, Id, Layout, type PageUser } from '../layout.js';

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

export function crlsRoutes(app: ConsoleApp, { clock }: ConsoleContext): void {
  app.get('/crls', async (c) => {
    const s = c.get('session');
    const { records } = c.get('instance');
    const now = clock();
    const names = new Map((await records.trust.listAnchors()).map((a) => [a.id, a.subject ?? a.name]));
    const crls = (await records.crls.crlSummaries()).map((x) => ({ ...x, issuerName: names.get(x.issuer) ?? null, expiry: expiryOf(x.nextUpdate, now) }));
    return page(c, <CrlsPage user={userOf(s)} flash={takeFlash(s)} now={now} crls={crls} />);
  });
}
