/**
 * Token management (issue 7, "Tokens"): create, list, revoke, rotate. Tokens are random and
 * shown once; only their hash is stored (tokens.ts). Each change and its audit entry land in
 * one transaction. Who may call these is decided by authorize.ts (admins only).
 */
import { parseScope } from '../domain/scope.js';
import { KeyshareError, Codes } from '../errors.js';
import type { TokenRecord, TokenRecords, Transactions } from '../store/index.js';
import { parseDuration } from '../util/duration.js';
import type { AuditLog } from '../audit/log.js';
import { tokenDigest } from '../audit/digest.js';
import { issueToken, type TokenRole } from './tokens.js';
import { Actions } from './authorize.js';

export const TOKEN_ROLES: readonly TokenRole[] = ['admin', 'editor', 'reader', 'signer', 'client'];
/** A signer token's longest certificate validity when none is given (issue 18). */
export const DEFAULT_MAX_VALIDITY = '1h';
export const TokenCodes = {
  TOKEN_NOT_FOUND: 'TOKEN_NOT_FOUND',
  /** Revoking or demoting the last admin token would lock every admin out. */
  LAST_ADMIN_TOKEN: 'LAST_ADMIN_TOKEN',
} as const;
export const { TOKEN_NOT_FOUND, LAST_ADMIN_TOKEN } = TokenCodes;
/** More patterns than this on one token is a mistake, not a policy. */
const MAX_PATTERNS = 256;

export interface TokenCreate {
  role: TokenRole;
  /** Scope patterns, editors only: the scope and everything under it. */
  scopes?: string[] | null;
  /** A duration (30d, 12h); none means the token does not expire. */
  expires?: string | null;
  /** Signer tokens only: the one CA they may use (none: every CA within their scopes). */
  ca?: string | null;
  /** Signer tokens only: the longest validity of a certificate they get (default 1h). */
  maxValidity?: string | null;
}

/** What `token create` prints (CONTRACT.md): the secret is in `token`, shown only this once. */
export interface CreatedToken {
  id: string;
  token: string;
  role: TokenRole;
  scopes: string[] | null;
  expiresAt: string | null;
  ca?: string | null;
  maxValiditySeconds?: number | null;
}

export interface TokenView {
  id: string;
  role: TokenRole;
  scopes: string[] | null;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  status: 'active' | 'expired' | 'revoked';
  ca?: string | null;
  maxValiditySeconds?: number | null;
}

const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

export class TokenService {
  constructor(
    private readonly store: TokenRecords & Pick<Transactions, 'transaction'>,
    private readonly audit: AuditLog,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Checks role, patterns and expiry; throws BAD_REQUEST or SCOPE_INVALID. */
  private validate(input: TokenCreate, now: Date): { role: TokenRole; scopes: string[] | null; expiresAt: string | null; ca?: string | null; maxValiditySeconds?: number | null } {
    if (!TOKEN_ROLES.includes(input.role)) throw new KeyshareError(Codes.BAD_REQUEST, `role must be one of ${TOKEN_ROLES.join(', ')}`);
    const patterns = [...new Set(input.scopes ?? [])];
    const scoped = input.role === 'editor' || input.role === 'signer';
    if (input.role !== 'signer' && (input.ca || input.maxValidity)) throw new KeyshareError(Codes.BAD_REQUEST, '--ca and --max-validity apply to signer tokens only');
    if (scoped) {
      if (patterns.length === 0) throw new KeyshareError(Codes.BAD_REQUEST, `an ${input.role} token needs --scopes: the scope patterns it may ${input.role === 'editor' ? 'write' : 'sign for'}`);
      if (patterns.length > MAX_PATTERNS) throw new KeyshareError(Codes.BAD_REQUEST, `at most ${MAX_PATTERNS} scope patterns`);
      for (const p of patterns) parseScope(p);
    } else if (patterns.length > 0) {
      throw new KeyshareError(Codes.BAD_REQUEST, `scope patterns apply to editor and signer tokens only (an ${input.role} token ${input.role === 'admin' ? 'writes' : input.role === 'client' ? 'reports' : 'reads'} everywhere)`);
    }
    const expiresAt = input.expires ? iso(new Date(now.getTime() + parseDuration(input.expires))) : null;
    if (input.role === 'signer') {
      if (input.ca != null && !/^[a-z0-9][a-z0-9-]{0,62}$/.test(input.ca)) throw new KeyshareError(Codes.BAD_REQUEST, `--ca names a signing authority, not ${JSON.stringify(input.ca)}`);
      const maxValiditySeconds = Math.floor(parseDuration(input.maxValidity ?? DEFAULT_MAX_VALIDITY) / 1000);
      return { role: input.role, scopes: patterns.sort(), expiresAt, ca: input.ca ?? null, maxValiditySeconds };
    }
    return { role: input.role, scopes: scoped ? patterns.sort() : null, expiresAt };
  }

  async create(actor: string | null, input: TokenCreate): Promise<CreatedToken> {
    const now = this.clock();
    const { role, scopes, expiresAt, ...signer } = this.validate(input, now);
    const issued = issueToken();
    const rec: TokenRecord = { id: issued.id, hash: issued.hash, role, scopes, expiresAt, createdAt: iso(now), revokedAt: null, ...signer };
    await this.store.transaction(async () => {
      await this.store.addToken(rec);
      await this.audit.append({ actor, action: Actions.TOKEN_CREATE, outcome: 'ok', target: rec.id, before: null, after: tokenDigest(rec), details: { role, scopes, expiresAt, ...signer } });
    });
    return { id: rec.id, token: issued.token, role, scopes, expiresAt, ...signer };
  }

  async list(): Promise<TokenView[]> {
    const now = this.clock();
    return (await this.store.listTokens()).map((r) => this.view(r, now));
  }

  async get(id: string): Promise<TokenView> {
    return this.view(await this.require(id), this.clock());
  }

  /**
   * Revokes a token at once (the next request with it is UNAUTHORIZED). Idempotent. Refuses to
   * revoke the last usable admin token: create another first (or use `rotate`).
   */
  async revoke(actor: string | null, id: string): Promise<TokenView> {
    const now = this.clock();
    return this.store.transaction(async () => {
      const rec = await this.require(id);
      if (rec.revokedAt !== null) return this.view(rec, now);
      if (rec.role === 'admin' && this.isActive(rec, now) && !(await this.store.listTokens()).some((t) => t.id !== id && t.role === 'admin' && this.isActive(t, now))) {
        throw new KeyshareError(LAST_ADMIN_TOKEN, `token ${id} is the last admin token; create another admin token first (keyshare token rotate-admin)`);
      }
      await this.store.revokeToken(id, iso(now));
      const after = await this.require(id);
      await this.audit.append({ actor, action: Actions.TOKEN_REVOKE, outcome: 'ok', target: id, before: tokenDigest(rec), after: tokenDigest(after) });
      return this.view(after, now);
    });
  }

  /**
   * Replaces a token with a new secret of the same role, patterns and expiry, and revokes the
   * old one, in one transaction (this is how the admin token from `init` is rotated).
   */
  async rotate(actor: string | null, id: string): Promise<CreatedToken & { replaced: string }> {
    const now = this.clock();
    const issued = issueToken();
    return this.store.transaction(async () => {
      const old = await this.require(id);
      if (!this.isActive(old, now)) throw new KeyshareError(Codes.CONFLICT, `token ${id} is ${this.view(old, now).status}; create a new one instead`);
      const rec: TokenRecord = { ...old, id: issued.id, hash: issued.hash, createdAt: iso(now), revokedAt: null };
      await this.store.addToken(rec);
      await this.store.revokeToken(id, iso(now));
      await this.audit.append({
        actor,
        action: Actions.TOKEN_ROTATE,
        outcome: 'ok',
        target: id,
        before: tokenDigest(old),
        after: tokenDigest(await this.require(id)),
        details: { replacement: rec.id },
      });
      return { id: rec.id, token: issued.token, role: rec.role as TokenRole, scopes: rec.scopes, expiresAt: rec.expiresAt, replaced: id };
    });
  }

  private async require(id: string): Promise<TokenRecord> {
    const rec = /^[0-9a-f]{12}$/.test(id) ? await this.store.getToken(id) : null;
    if (!rec) throw new KeyshareError(TOKEN_NOT_FOUND, `no token ${JSON.stringify(id)}`);
    return rec;
  }

  private isActive(r: TokenRecord, now: Date): boolean {
    return r.revokedAt === null && (r.expiresAt === null || Date.parse(r.expiresAt) > now.getTime());
  }

  private view(r: TokenRecord, now: Date): TokenView {
    return {
      id: r.id,
      role: r.role as TokenRole,
      scopes: r.scopes,
      createdAt: r.createdAt,
      expiresAt: r.expiresAt,
      revokedAt: r.revokedAt,
      status: r.revokedAt !== null ? 'revoked' : this.isActive(r, now) ? 'active' : 'expired',
      ...(r.role === 'signer' ? { ca: r.ca ?? null, maxValiditySeconds: r.maxValiditySeconds ?? null } : {}),
    };
  }
}
