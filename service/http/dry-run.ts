/**
 * `?dryRun=true` on every admin write (issue 21, CONTRACT.md "CLI": `--dry-run`): the route's
 * own authorisation and write, run by service/dry-run.ts and rolled back. The answer is the plan
 * per scope; nothing is stored, published or audited.
 */
import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { AppEnv } from './context.js';
import { authorizeFor } from './authz.js';
import { markAudited } from './middleware/audit.js';
import { dryRun } from '../dry-run.js';
import type { ScopePlan } from '../domain/plan.js';

export const DryRunQuery = z.object({
  dryRun: z.enum(['true', 'false']).optional().openapi({ description: 'answer the plan per scope (anchors added, removed, changed, revocations, level changes) and change nothing' }),
});

export const isDryRun = (c: Context<AppEnv>): boolean => c.req.query('dryRun') === 'true';

/** The plan of `write` (after the same authorisation as the change), with nothing changed. */
export async function planned<T>(c: Context<AppEnv>, action: string, scopes: readonly (string | null)[], write: () => Promise<T>): Promise<{ result: T; plan: ScopePlan[] }> {
  authorizeFor(c, action, scopes);
  markAudited(c.req.raw); // a plan changes nothing: no audit entry
  return dryRun(c.get('instance').records.dryRun, write);
}
