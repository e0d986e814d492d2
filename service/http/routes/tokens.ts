/** /api/v1/tokens: create, list, revoke and rotate API tokens. Admin tokens only. */
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { AppEnv } from '../context.js';
import { ErrorBody } from '../schemas.js';
import { validationHook } from '../validation.js';
import { Actions } from '../../auth/authorize.js';
import { authorizeFor } from '../authz.js';
import { markAudited } from '../middleware/audit.js';

const json = <T extends z.ZodType>(schema: T, description: string) => ({ content: { 'application/json': { schema } }, description });
const errors = {
  400: json(ErrorBody, 'invalid request'),
  401: json(ErrorBody, 'missing or invalid token'),
  403: json(ErrorBody, 'not an admin token'),
  404: json(ErrorBody, 'no such token (TOKEN_NOT_FOUND)'),
  409: json(ErrorBody, 'the last admin token cannot be revoked (LAST_ADMIN_TOKEN)'),
};

const Role = z.enum(['admin', 'editor', 'reader', 'signer', 'client']).openapi('TokenRole');
const SignerFields = {
  ca: z.string().nullable().optional().openapi({ description: 'signer tokens only: the one signing authority it may use (none: any within its scopes)' }),
  maxValiditySeconds: z.number().nullable().optional().openapi({ description: 'signer tokens only: the longest validity of a certificate it gets' }),
};
const TokenCreate = z
  .object({
    role: Role,
    scopes: z
      .array(z.string().min(1))
      .nullable()
      .optional()
      .openapi({ description: 'editor tokens only: the scope patterns it may write (a pattern is a scope and everything under it)' }),
    expires: z.string().nullable().optional().openapi({ description: 'a duration such as 30d or 12h; none: the token does not expire', example: '30d' }),
    ca: SignerFields.ca,
    maxValidity: z.string().nullable().optional().openapi({ description: 'signer tokens only: the longest validity of a certificate it gets (default 1h)', example: '1h' }),
  })
  .openapi('TokenCreate');
const CreatedToken = z
  .object({
    id: z.string(),
    token: z.string().openapi({ description: 'the secret bearer token: shown only this once' }),
    role: Role,
    scopes: z.array(z.string()).nullable(),
    expiresAt: z.string().nullable(),
    ...SignerFields,
  })
  .openapi('CreatedToken');
const Token = z
  .object({
    id: z.string(),
    role: Role,
    scopes: z.array(z.string()).nullable(),
    createdAt: z.string(),
    expiresAt: z.string().nullable(),
    revokedAt: z.string().nullable(),
    status: z.enum(['active', 'expired', 'revoked']),
    ...SignerFields,
  })
  .openapi('Token');
const TokenParam = z.object({ id: z.string().min(1).openapi({ param: { name: 'id', in: 'path' }, example: '0123456789ab' }) });

const createToken = createRoute({
  method: 'post',
  path: '/',
  tags: ['tokens'],
  summary: 'Create a token (its secret is in the response, and only there)',
  request: { body: { content: { 'application/json': { schema: TokenCreate } }, required: true } },
  responses: { 201: json(CreatedToken, 'created'), ...errors },
});
const listTokens = createRoute({
  method: 'get',
  path: '/',
  tags: ['tokens'],
  summary: 'List tokens (never their secrets)',
  responses: { 200: json(z.object({ tokens: z.array(Token) }), 'every token'), ...errors },
});
const revokeToken = createRoute({
  method: 'delete',
  path: '/{id}',
  tags: ['tokens'],
  summary: 'Revoke a token: the next request with it is refused',
  request: { params: TokenParam },
  responses: { 200: json(z.object({ token: Token }), 'revoked'), ...errors },
});
const rotateToken = createRoute({
  method: 'post',
  path: '/{id}/rotate',
  tags: ['tokens'],
  summary: 'Replace a token with a new secret (same role, scopes and expiry) and revoke the old one, atomically',
  request: { params: TokenParam },
  responses: { 201: json(CreatedToken.extend({ replaced: z.string() }), 'the replacement'), ...errors },
});

export function tokenRoutes(): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.openapi(createToken, async (c) => {
    authorizeFor(c, Actions.TOKEN_CREATE, []);
    const body = c.req.valid('json');
    const created = await c.get('instance').tokens.create(c.get('principal').tokenId, { role: body.role, scopes: body.scopes, expires: body.expires, ca: body.ca, maxValidity: body.maxValidity });
    markAudited(c.req.raw); // the token service recorded it, in the same transaction
    c.header('cache-control', 'no-store');
    return c.json(created, 201);
  });
  app.openapi(listTokens, async (c) => {
    authorizeFor(c, Actions.TOKEN_LIST, []);
    return c.json({ tokens: await c.get('instance').tokens.list() }, 200);
  });
  app.openapi(revokeToken, async (c) => {
    authorizeFor(c, Actions.TOKEN_REVOKE, []);
    const token = await c.get('instance').tokens.revoke(c.get('principal').tokenId, c.req.valid('param').id);
    markAudited(c.req.raw);
    return c.json({ token }, 200);
  });
  app.openapi(rotateToken, async (c) => {
    authorizeFor(c, Actions.TOKEN_ROTATE, []);
    const created = await c.get('instance').tokens.rotate(c.get('principal').tokenId, c.req.valid('param').id);
    markAudited(c.req.raw);
    c.header('cache-control', 'no-store');
    return c.json(created, 201);
  });
  return app;
}
