/**
 * What the console's page modules share (service/http/ui/console.tsx mounts them): the request
 * context with its session, rendering a page, the Post/Redirect/Get flash, form fields, and the
 * confirmation that a destructive change asks for first.
 */
import type { Context, Hono } from 'hono';
import { html } from 'hono/html';
import type { JSX } from 'hono/jsx/jsx-runtime';
import { isKeyshareError } from '../../errors.js';
import type { ClientLimitsConfig } from '../../rollout.js';
import type { AppEnv } from '../context.js';
import { consolePlan, type ConsoleWrite } from './actions.js';
import type { PageUser } from './layout.js';
import { ConfirmPage } from './pages/confirm.js';
import type { ConsoleSession } from './session.js';

export type ConsoleEnv = { Variables: AppEnv['Variables'] & { session: ConsoleSession } };
export type C = Context<ConsoleEnv>;
export type ConsoleApp = Hono<ConsoleEnv>;

/** What the console's routes are given once, when the console is built. */
export interface ConsoleContext {
  clock: () => Date;
  /** Issue 21: the client registry's limits, as the API's (the Rollout page counts the same clients). */
  clientLimits: ClientLimitsConfig;
}

export const page = (c: C, el: JSX.Element, status: 200 | 400 | 401 | 403 | 404 | 500 = 200) => c.html(html`<!doctype html>${el}`, status);

export const userOf = (s: ConsoleSession): PageUser => ({ tokenId: s.tokenId, role: s.role, scopes: s.scopes, csrf: s.csrf });

export const canWrite = (s: ConsoleSession) => s.role !== 'reader';

/** Takes the one-time message left by the last form post. */
export function takeFlash(s: ConsoleSession) {
  const f = s.flash;
  s.flash = null;
  return f;
}

/** Post/Redirect/Get: a form post answers with a redirect and leaves its outcome in the session. */
export function done(c: C, to: string, kind: 'ok' | 'error', text: string) {
  c.get('session').flash = { kind, text };
  return c.redirect(to, 303);
}

export function str(v: unknown): string {
  return typeof v === 'string' ? v.trim() : '';
}

/** A readable message for a failed write: the stable code and what it means. */
export function failure(e: unknown): string {
  if (isKeyshareError(e)) return `${e.code}: ${e.message}`;
  return 'internal error';
}

/**
 * Issue 21: a destructive change is made only when its form comes back with `confirm=1`; the
 * first post answers its plan (the dry run of the same write) with a Confirm button.
 */
export async function confirmFirst(c: C, body: Record<string, unknown>, w: ConsoleWrite, fn: () => Promise<unknown>, ask: { title: string; action: string; back: string }) {
  if (body.confirm === '1') return null;
  const fields = Object.fromEntries(Object.entries(body).flatMap(([k, v]) => (typeof v === 'string' && k !== 'csrf' && k !== 'confirm' ? [[k, v]] : [])));
  const plan = await consolePlan(c.get('instance'), c.get('principal'), w, fn);
  return page(c, <ConfirmPage user={userOf(c.get('session'))} c={{ ...ask, fields, plan }} />);
}
