/**
 * Who may do what (issue 7, "Tokens"). The one place that decides it: routes and middleware
 * call `authorize` / `mayAttempt`, and never compare roles themselves. Pure.
 *
 * - admin: everything.
 * - editor: reads, and the scoped writes below, each only inside its scope patterns. A pattern
 *   is a scope and everything under it (`scopeContains`). So an editor of
 *   `registry.acme.io/team-a` cannot create `registry.acme.io` or `*`, which would govern
 *   scopes outside its pattern. A write without a scope (a revocation that applies
 *   everywhere) is admin-only, and so is `apply --prune`, which can remove any scope. Reading
 *   and signing an offline tenant's pending roles counts as a write to every one of the
 *   tenant's patterns: the editor's patterns must cover them all.
 * - reader: reads only.
 * Every other action (tokens, upstreams, sync, CRLs, root and key ceremonies, tenants, and
 * any write route not listed as scoped) is admin-only: default deny.
 */
import { scopeContains } from '../domain/scope.js';
import { KeyshareError, Codes } from '../errors.js';
import type { TokenRole } from './tokens.js';

/** Action names; they are also the `action` of audit entries. */
export const Actions = {
  READ: 'read',
  AUDIT_READ: 'audit.read',
  SCOPE_CREATE: 'scope.create',
  SCOPE_DELETE: 'scope.delete',
  ANCHOR_ADD: 'anchor.add',
  ANCHOR_REMOVE: 'anchor.remove',
  /** Hide an (upstream) anchor at a scope, and lift that (federation, issue 5). */
  ANCHOR_BLOCK: 'anchor.block',
  ANCHOR_UNBLOCK: 'anchor.unblock',
  REVOKE: 'revocation.add',
  APPLY: 'apply',
  APPLY_PRUNE: 'apply.prune',
  /** An offline tenant's roles waiting for its signature: read them, and publish them signed. */
  TENANT_PENDING: 'tenant.pending',
  TENANT_SIGN: 'tenant.sign',
  CRL_ADD: 'crl.add',
  TOKEN_CREATE: 'token.create',
  TOKEN_LIST: 'token.list',
  TOKEN_REVOKE: 'token.revoke',
  TOKEN_ROTATE: 'token.rotate',
  /** Issue a short-lived signing certificate from a managed CA (issue 18). */
  CA_ISSUE: 'ca.issue',
  /** Create or import a signing authority. */
  CA_CREATE: 'ca.create',
  /** A `fetch --report` (issue 21): the only thing a client token may do, and only a client token does. */
  CLIENT_REPORT: 'client.report',
} as const;

/** Actions every role may perform. */
const READ_ACTIONS: ReadonlySet<string> = new Set([Actions.READ, Actions.AUDIT_READ]);

/** Writes an editor may perform inside its scope patterns. */
const SCOPED_ACTIONS: ReadonlySet<string> = new Set([
  Actions.SCOPE_CREATE,
  Actions.SCOPE_DELETE,
  Actions.ANCHOR_ADD,
  Actions.ANCHOR_REMOVE,
  Actions.ANCHOR_BLOCK,
  Actions.ANCHOR_UNBLOCK,
  Actions.REVOKE,
  Actions.APPLY,
  Actions.TENANT_PENDING,
  Actions.TENANT_SIGN,
]);

/** Writes a signer may perform inside its scope patterns (issue 18): only issuing certificates. */
const SIGNER_ACTIONS: ReadonlySet<string> = new Set([Actions.CA_ISSUE]);

/** The writes a role may perform inside its scope patterns. */
function scopedActionsOf(role: TokenRole): ReadonlySet<string> {
  return role === 'editor' ? SCOPED_ACTIONS : role === 'signer' ? SIGNER_ACTIONS : new Set();
}

/** The caller as far as authorisation is concerned (structurally the HTTP Principal). */
export interface Subject {
  tokenId?: string;
  role: TokenRole;
  scopes: readonly string[] | null;
}

/** FORBIDDEN, with the action and scopes for the audit log. */
export class ForbiddenError extends KeyshareError {
  constructor(
    readonly action: string,
    readonly scopes: readonly (string | null)[],
    message: string,
  ) {
    super(Codes.FORBIDDEN, message);
    this.name = 'ForbiddenError';
  }
}

export function isScopedAction(action: string): boolean {
  return SCOPED_ACTIONS.has(action);
}

/** Whether the role may attempt `action` at all (before its scopes are known). */
export function mayAttempt(who: Subject, action: string): boolean {
  // Issue 21: a client token only reports (it does not even read); only a client token reports.
  if (who.role === 'client' || action === Actions.CLIENT_REPORT) return who.role === 'client' && action === Actions.CLIENT_REPORT;
  if (who.role === 'admin' || READ_ACTIONS.has(action)) return true;
  return scopedActionsOf(who.role).has(action);
}

/** Throws FORBIDDEN unless the role may attempt `action` somewhere (the scopes are checked later). */
export function authorizeAttempt(who: Subject, action: string): void {
  if (mayAttempt(who, action)) return;
  throw new ForbiddenError(
    action,
    [],
    who.role === 'client' ? 'a client token can only report (POST /api/v1/clients/reports)' : action === Actions.CLIENT_REPORT ? 'reports need a client token' : who.role === 'reader' ? 'this token can only read' : action === Actions.CA_ISSUE ? 'issuing certificates needs a signer token' : `${action} needs an admin token`,
  );
}

/**
 * Throws FORBIDDEN unless `who` may perform `action` on every one of `scopes`. A null scope
 * means "everywhere" (e.g. a revocation without scope). A scope that is not a valid scope
 * fails with SCOPE_INVALID for an editor (nothing can be written there anyway).
 */
export function authorize(who: Subject, action: string, scopes: readonly (string | null)[]): void {
  if (who.role === 'client' || action === Actions.CLIENT_REPORT) {
    if (mayAttempt(who, action)) return;
    throw new ForbiddenError(action, scopes, who.role === 'client' ? 'a client token can only report' : 'reports need a client token');
  }
  if (who.role === 'admin' || READ_ACTIONS.has(action)) return;
  if (who.role === 'reader') throw new ForbiddenError(action, scopes, 'this token can only read');
  if (!scopedActionsOf(who.role).has(action)) {
    throw new ForbiddenError(action, scopes, action === Actions.CA_ISSUE ? 'issuing certificates needs a signer token' : `${action} needs an admin token`);
  }
  const patterns = who.scopes ?? [];
  for (const scope of scopes) {
    if (scope === null) {
      throw new ForbiddenError(action, scopes, `${action} without a scope applies everywhere and needs an admin token`);
    }
    if (!patterns.some((p) => scopeContains(p, scope))) {
      throw new ForbiddenError(
        action,
        scopes,
        `this token may write only inside ${patterns.length ? patterns.map((p) => JSON.stringify(p)).join(', ') : 'no scope'}, not at ${JSON.stringify(scope)}`,
      );
    }
  }
}

/** The scopes an apply file writes to: every listed scope, and every revocation's scope (null: everywhere). */
export function applyFileScopes(file: unknown): (string | null)[] {
  const f = (file ?? {}) as { scopes?: unknown; revoked?: unknown };
  const out: (string | null)[] = [];
  if (Array.isArray(f.scopes)) for (const s of f.scopes) out.push(String((s as { scope?: unknown } | null)?.scope ?? ''));
  if (f.revoked && typeof f.revoked === 'object') {
    for (const list of Object.values(f.revoked as Record<string, unknown>)) {
      if (!Array.isArray(list)) continue;
      for (const r of list) {
        const scope = (r as { scope?: unknown } | null)?.scope;
        out.push(scope === undefined || scope === null ? null : String(scope));
      }
    }
  }
  return out;
}
