/**
 * Web console sessions. A session is held in server memory, keyed by a random 256-bit ID that
 * is the only thing the browser keeps (an HttpOnly, SameSite=Strict cookie). The token typed at
 * sign-in is checked once and never stored: the session keeps the token's ID, and every request
 * re-reads that token's record, so a revoked or expired token ends its sessions at once.
 * Each session has its own CSRF token for the synchroniser pattern (OWASP CSRF cheat sheet).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { TokenRole } from '../../auth/tokens.js';
import { parseToken, secretMatches } from '../../auth/tokens.js';
import type { TokenRecords } from '../../store/port.js';
import type { Principal } from '../context.js';

export const SESSION_COOKIE = 'ks_session';
/** Before sign-in: a short-lived cookie paired with the sign-in form's CSRF field (login CSRF). */
export const SIGNIN_COOKIE = 'ks_signin';
export const COOKIE_PATH = '/ui';

export interface Flash {
  kind: 'ok' | 'error';
  text: string;
}

export interface ConsoleSession {
  id: string;
  tokenId: string;
  role: TokenRole;
  scopes: string[] | null;
  csrf: string;
  createdAt: number;
  expiresAt: number;
  flash: Flash | null;
}

export const randomId = () => randomBytes(32).toString('base64url');

/** Constant-time comparison of two CSRF tokens. */
export function sameSecret(a: string | undefined | null, b: string | undefined | null): boolean {
  if (typeof a !== 'string' || typeof b !== 'string' || a.length === 0) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Checks a token as the admin API's bearer authentication does: shape, hash (constant time), not revoked, not expired. */
export async function principalForToken(tokens: Pick<TokenRecords, 'getToken'>, token: string, now: Date): Promise<Principal | null> {
  const parsed = parseToken(token);
  if (!parsed) return null;
  return principalForTokenId(tokens, parsed.id, now, parsed.secret);
}

/** The principal of a token ID, if the token is still valid (and, when given, its secret matches). */
export async function principalForTokenId(tokens: Pick<TokenRecords, 'getToken'>, tokenId: string, now: Date, secret?: string): Promise<Principal | null> {
  const record = await tokens.getToken(tokenId);
  if (!record) return null;
  if (secret !== undefined && !secretMatches(secret, record.hash)) return null;
  if (record.revokedAt !== null) return null;
  if (record.expiresAt !== null && Date.parse(record.expiresAt) <= now.getTime()) return null;
  return { tokenId: record.id, role: record.role as TokenRole, scopes: record.scopes };
}

export interface SessionStoreOptions {
  ttlSeconds: number;
  clock?: () => Date;
  /** A token's oldest sessions are dropped beyond this many of its own (issue 16, finding 10). */
  maxSessionsPerToken?: number;
}

/** Per token, not global: signing in again and again with one token never evicts another token's session. */
export const MAX_SESSIONS_PER_TOKEN = 16;

export class SessionStore {
  private readonly sessions = new Map<string, ConsoleSession>();
  /** Session IDs per token ID, in creation order. */
  private readonly byToken = new Map<string, Set<string>>();
  private readonly clock: () => Date;

  constructor(private readonly options: SessionStoreOptions) {
    this.clock = options.clock ?? (() => new Date());
  }

  create(principal: Principal): ConsoleSession {
    this.sweep();
    const now = this.clock().getTime();
    const session: ConsoleSession = {
      id: randomId(),
      tokenId: principal.tokenId,
      role: principal.role,
      scopes: principal.scopes,
      csrf: randomId(),
      createdAt: now,
      expiresAt: now + this.options.ttlSeconds * 1000,
      flash: null,
    };
    // Sessions of one token, oldest first (a Map keeps insertion order).
    const own = this.byToken.get(principal.tokenId) ?? new Set<string>();
    this.byToken.set(principal.tokenId, own);
    own.add(session.id);
    this.sessions.set(session.id, session);
    const max = this.options.maxSessionsPerToken ?? MAX_SESSIONS_PER_TOKEN;
    for (const id of own) {
      if (own.size <= max) break;
      this.delete(id);
    }
    return session;
  }

  get(id: string | undefined): ConsoleSession | null {
    if (!id) return null;
    const s = this.sessions.get(id);
    if (!s) return null;
    if (s.expiresAt <= this.clock().getTime()) {
      this.delete(id);
      return null;
    }
    return s;
  }

  delete(id: string): void {
    const s = this.sessions.get(id);
    this.sessions.delete(id);
    if (!s) return;
    const own = this.byToken.get(s.tokenId);
    own?.delete(id);
    if (own?.size === 0) this.byToken.delete(s.tokenId);
  }

  get size(): number {
    return this.sessions.size;
  }

  private sweep(): void {
    const now = this.clock().getTime();
    for (const [id, s] of this.sessions) if (s.expiresAt <= now) this.delete(id);
  }
}
