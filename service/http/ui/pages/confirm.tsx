/**
 * Issue 21: the console shows the plan of a destructive change (revoke, anchor removal, scope
 * removal) and asks for confirmation before making it. The plan is the dry run of the same write
 * (service/dry-run.ts); confirming posts the same form again with `confirm=1`.
 */
import type { FC } from 'hono/jsx';
import type { ScopePlan } from '../../../domain/plan.js';
import { Csrf, Layout, type PageUser } from '../layout.js';

/** What a write changes, per scope: the plan of a confirmation, and the diff of a published version. */
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

export interface Confirmation {
  /** What is asked, e.g. "Revoke key sha256:...". */
  title: string;
  /** Where the form posts (the same route as the first post). */
  action: string;
  /** The fields of the first post, sent again. */
  fields: Record<string, string>;
  /** Where Cancel goes. */
  back: string;
  plan: ScopePlan[];
}

export const ConfirmPage: FC<{ user: PageUser; c: Confirmation }> = ({ user, c }) => (
  <Layout title="Confirm" user={user}>
    <h2>{c.title}</h2>
    {c.plan.length === 0 ? (
      <p>The plan: this changes no scope's effective trust.</p>
    ) : (
      <section aria-label="Plan">
        <p>
          The plan: what changes in the effective trust of {c.plan.length} scope{c.plan.length === 1 ? '' : 's'} (anchors that stop or start being trusted, inherited ones
          included; revocations; level changes). Nothing has changed yet.
        </p>
        <PlanList plan={c.plan} />
      </section>
    )}
    <form method="post" action={c.action}>
      <Csrf token={user.csrf} />
      {Object.entries(c.fields).map(([name, value]) => (
        <input type="hidden" name={name} value={value} />
      ))}
      <input type="hidden" name="confirm" value="1" />
      <button type="submit">Confirm: {c.title}</button> <a href={c.back}>Cancel</a>
    </form>
  </Layout>
);
