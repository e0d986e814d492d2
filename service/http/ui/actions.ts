/**
 * The console's writes go through the same gate as the admin API's: `authorize` decides
 * (service/auth/authorize.ts), the change runs inside the audit log's `run` so that it and its
 * entry land together (service/audit/log.ts), and a refusal is recorded as a denied attempt.
 */
import { ForbiddenError, authorize } from '../../auth/authorize.js';
import { revocationsDigest, scopeDigest } from '../../audit/digest.js';
import type { Instance } from '../../instance.js';
import type { Principal } from '../context.js';
import type { AuditRow } from './pages/audit.js';
import { dryRun } from '../../dry-run.js';
import type { ScopePlan } from '../../domain/plan.js';

export interface ConsoleWrite {
  action: string;
  /** The scope written to; null means "everywhere" (a revocation without scope). */
  scope: string | null;
  /** For a revocation: the digest covers the revocations at `scope` (or everywhere). */
  nullScope?: boolean;
  target?: string | null;
}

/** What was revoked, for the audit entry (the same as the API's). */
export function revocationTarget(b: { kind: string; issuer?: string; serial?: string; id?: string; digest?: string }): string | null {
  return b.kind === 'key' ? (b.id ?? null) : b.kind === 'signature' ? (b.digest ?? null) : b.issuer ? `${b.issuer}/${b.serial ?? ''}` : null;
}

export async function consoleWrite<T>(instance: Instance, principal: Principal, w: ConsoleWrite, fn: () => Promise<T>): Promise<T> {
  const { records, audit } = instance;
  try {
    authorize(principal, w.action, [w.scope]);
  } catch (e) {
    if (e instanceof ForbiddenError) {
      await audit.append({
        actor: principal.tokenId,
        action: w.action,
        outcome: 'denied',
        scope: w.scope,
        target: w.target ?? null,
        details: { via: 'console', code: e.code, message: e.message },
      });
    }
    throw e;
  }
  const digest = w.action === 'revocation.add' ? () => revocationsDigest(records.trust, w.scope) : w.scope !== null ? () => scopeDigest(records.trust, w.scope!) : undefined;
  return audit.run(principal.tokenId, { action: w.action, scope: w.scope, target: w.target ?? null, details: { via: 'console' }, digest }, fn);
}

/**
 * Issue 21: the plan of a console write before it is confirmed: the same authorisation, then the
 * same write run and rolled back (service/dry-run.ts). Nothing is stored or audited.
 */
export async function consolePlan(instance: Instance, principal: Principal, w: ConsoleWrite, fn: () => Promise<unknown>): Promise<ScopePlan[]> {
  authorize(principal, w.action, [w.scope]);
  return (await dryRun(instance.records.dryRun, fn)).plan;
}

/** The newest audit entries before `before` (a seq), newest first, and where older ones start. */
export async function consoleAudit(instance: Instance, before: number | null, pageSize: number): Promise<{ entries: AuditRow[]; older: number | null } | null> {
  const { audit } = instance;
  const head = await audit.head();
  if (!head) return { entries: [], older: null };
  const top = Math.min(before !== null ? before - 1 : head.seq, head.seq);
  const from = Math.max(0, top - pageSize);
  const entries = (await audit.list({ afterSeq: from, limit: top - from }))
    .filter((e) => e.seq <= top)
    .reverse();
  return { entries, older: from > 0 ? from + 1 : null };
}
