/** The console's revocations page (`/ui/revocations`): its view, and its routes (list, revoke), mounted by ../console.tsx. */
import { KeyshareError, Codes } from '../../../errors.js';
import { consoleWrite, revocationTarget, type ConsoleWrite } from '../actions.js';
import { canWrite, confirmFirst, done, failure, page, str, takeFlash, userOf, type ConsoleApp } from '../kit.js';
import type { Child, FC } from 'hono/jsx';
import { REVOCATION_REASONS, type Revocations } from '../../../domain/types.js';
import type { Flash } from '../session.js';
import { Csrf, Id, Layout, type PageUser } from '../layout.js';

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

export function revocationsRoutes(app: ConsoleApp): void {
  app.get('/revocations', async (c) => {
    const s = c.get('session');
    const q = c.req.query();
    const { trust } = c.get('instance').records;
    return page(
      c,
      <RevocationsPage
        user={userOf(s)}
        flash={takeFlash(s)}
        revocations={await trust.listRevocations()}
        canWrite={canWrite(s)}
        prefill={{ kind: q.kind, id: q.id, digest: q.digest, issuer: q.issuer, serial: q.serial }}
        scopes={(await trust.listScopes()).map((x) => x.scope)}
      />,
    );
  });

  app.post('/revocations', async (c) => {
    const body = await c.req.parseBody();
    const kind = str(body.kind) as 'key' | 'certificate' | 'signature';
    const scope = str(body.scope) || null;
    const input = {
      kind,
      id: kind === 'key' ? str(body.id) : undefined,
      digest: kind === 'signature' ? str(body.digest) : undefined,
      issuer: kind === 'certificate' ? str(body.issuer) : undefined,
      serial: kind === 'certificate' ? str(body.serial) : undefined,
      reason: str(body.reason) || undefined,
      scope,
    };
    try {
      if (!['key', 'certificate', 'signature'].includes(kind)) throw new KeyshareError(Codes.BAD_REQUEST, 'choose what to revoke');
      const { service } = c.get('instance');
      const w: ConsoleWrite = { action: 'revocation.add', scope, nullScope: true, target: revocationTarget(input) };
      const what = kind === 'key' ? `key ${input.id}` : kind === 'signature' ? `signature ${input.digest}` : `certificate ${input.serial} of ${input.issuer}`;
      const asked = await confirmFirst(c, body, w, () => service.revoke(input), { title: `Revoke ${what} ${scope ? `at ${scope}` : 'everywhere'}`, action: '/ui/revocations', back: '/ui/revocations' });
      if (asked) return asked;
      const r = await consoleWrite(c.get('instance'), c.get('principal'), w, () => service.revoke(input));
      return done(c, '/ui/revocations', 'ok', r.added ? `Revoked ${what} ${scope ? `at ${scope}` : 'everywhere'}.` : `${what} was already revoked.`);
    } catch (e) {
      return done(c, '/ui/revocations', 'error', `Could not revoke: ${failure(e)}`);
    }
  });
}
