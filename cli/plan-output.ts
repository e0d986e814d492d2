/** How the CLI prints a plan (`--dry-run`) and a diff (`keyshare diff`): per scope, in human terms. */
import type { ScopePlan } from '../service/domain/plan.js';

/** One scope of a plan, as lines: `~ scope: level strict → audit`, then `+`/`-`/`~` anchors and revocations. */
export function planLines(p: ScopePlan): string[] {
  const head = [p.change === 'create' ? 'create' : p.change === 'remove' ? 'remove' : 'update'];
  if (p.level) head.push(`level ${p.level.from ?? '-'} → ${p.level.to ?? '-'}`);
  if (p.inherit) head.push(`inherit ${p.inherit.from ?? '-'} → ${p.inherit.to ?? '-'}`);
  const anchor = (sign: string, a: ScopePlan['anchorsAdded'][number]) => `    ${sign} ${a.type} anchor ${a.name} ${a.id}${a.definedAt !== p.scope ? ` (from ${a.definedAt})` : ''}`;
  return [
    `  ${p.scope}: ${head.join(', ')}`,
    ...p.anchorsAdded.map((a) => anchor('+', a)),
    ...p.anchorsRemoved.map((a) => anchor('-', a)),
    ...p.anchorsChanged.map((a) => anchor('~', a)),
    ...p.revoked.map((r) => `    revoke ${r.kind} ${r.id} (${r.reason})`),
  ];
}

/** A dry run's answer: the plan, or that it changes nothing. */
export function dryRunLines(plan: ScopePlan[]): string[] {
  return plan.length === 0 ? ['dry run: no changes'] : ['dry run, nothing was changed; the plan:', ...plan.flatMap(planLines)];
}

/** `?dryRun=true` appended to an API path when `--dry-run` was given. */
export const withDryRun = (path: string, dryRun: unknown) => (dryRun ? `${path}${path.includes('?') ? '&' : '?'}dryRun=true` : path);
