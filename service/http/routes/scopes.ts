/** /api/v1/scopes and their anchors. */
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { AppEnv } from '../context.js';
import { Anchor, AnchorCreate, AnchorParam, ErrorBody, Published, Scope, ScopeCreate, ScopeParam } from '../schemas.js';
import { validationHook } from '../validation.js';
import type { AnchorRecord } from '../../domain/types.js';
import { Actions } from '../../auth/authorize.js';
import { scopeDigest } from '../../audit/digest.js';
import { audited } from '../authz.js';
import { anchorIdOf } from '../../domain/anchor.js';
import { DryRunQuery, isDryRun, planned } from '../dry-run.js';

const json = <T extends z.ZodType>(schema: T, description: string) => ({ content: { 'application/json': { schema } }, description });
const errors = {
  400: json(ErrorBody, 'invalid request'),
  401: json(ErrorBody, 'missing or invalid token'),
  403: json(ErrorBody, 'the token may not write at this scope'),
  404: json(ErrorBody, 'no such scope or anchor'),
  409: json(ErrorBody, 'already exists'),
};

const listScopes = createRoute({
  method: 'get',
  path: '/',
  tags: ['scopes'],
  summary: 'List scopes',
  responses: { 200: json(z.object({ scopes: z.array(Scope) }), 'every defined scope'), ...errors },
});
const createScope = createRoute({
  method: 'post',
  path: '/',
  tags: ['scopes'],
  summary: 'Create a scope',
  request: { query: DryRunQuery, body: { content: { 'application/json': { schema: ScopeCreate } }, required: true } },
  responses: {
    200: json(z.object({ scope: Scope, plan: z.array(z.any()), dryRun: z.boolean(), published: Published }), 'with dryRun: planned'),
    201: json(z.object({ scope: Scope, published: Published }), 'created'),
    ...errors,
  },
});
const getScope = createRoute({
  method: 'get',
  path: '/{scope}',
  tags: ['scopes'],
  summary: 'Read a scope with its own anchors',
  request: { params: ScopeParam },
  responses: { 200: json(z.object({ scope: Scope, anchors: z.array(Anchor) }), 'the scope'), ...errors },
});
const deleteScope = createRoute({
  method: 'delete',
  path: '/{scope}',
  tags: ['scopes'],
  summary: 'Remove a scope and its anchors',
  request: { params: ScopeParam, query: DryRunQuery },
  responses: { 200: json(z.object({ published: Published, plan: z.array(z.any()).optional(), dryRun: z.boolean().optional() }), 'removed (or, with dryRun, planned)'), ...errors },
});
const addAnchor = createRoute({
  method: 'post',
  path: '/{scope}/anchors',
  tags: ['anchors'],
  summary: 'Add an anchor (certificate, public key or OpenPGP key) to a scope',
  request: { params: ScopeParam, query: DryRunQuery, body: { content: { 'application/json': { schema: AnchorCreate } }, required: true } },
  responses: {
    200: json(z.object({ anchor: Anchor, plan: z.array(z.any()), dryRun: z.boolean(), published: Published }), 'with dryRun: planned'),
    201: json(z.object({ anchor: Anchor, published: Published }), 'added'),
    ...errors,
  },
});
const removeAnchor = createRoute({
  method: 'delete',
  path: '/{scope}/anchors/{id}',
  tags: ['anchors'],
  summary: 'Remove an anchor from a scope',
  request: { params: AnchorParam, query: DryRunQuery },
  responses: { 200: json(z.object({ published: Published, plan: z.array(z.any()).optional(), dryRun: z.boolean().optional() }), 'removed (or, with dryRun, planned)'), ...errors },
});

export const published = (r: { published: { timestampVersion: number } | null }) =>
  r.published ? { timestampVersion: r.published.timestampVersion } : null;

export const anchorView = (a: AnchorRecord) => ({
  scope: a.scope,
  id: a.id,
  name: a.name,
  type: a.type,
  material: a.material,
  trustedIdentities: a.trustedIdentities,
  subject: a.subject ?? null,
  notAfter: a.notAfter ?? null,
});

const decode = (value: string, encoding?: string) => (encoding === 'base64' ? Buffer.from(value, 'base64') : value);

export function scopeRoutes(): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.openapi(listScopes, async (c) => c.json({ scopes: await c.get('instance').service.listScopes() }, 200));
  app.openapi(createScope, async (c) => {
    const body = c.req.valid('json');
    const { service, records } = c.get('instance');
    const create = () => service.createScope({ scope: body.scope, inherit: body.inherit, level: body.level as never });
    if (isDryRun(c)) {
      const { result, plan } = await planned(c, Actions.SCOPE_CREATE, [body.scope], create);
      return c.json({ scope: result.scope, plan, dryRun: true, published: null }, 200);
    }
    const r = await audited(c, { action: Actions.SCOPE_CREATE, scopes: [body.scope], scope: body.scope, digest: () => scopeDigest(records.trust, body.scope) }, create);
    return c.json({ scope: r.scope, published: published(r) }, 201);
  });
  app.openapi(getScope, async (c) => {
    const r = await c.get('instance').service.getScope(c.req.valid('param').scope);
    return c.json({ scope: r.scope, anchors: r.anchors.map(anchorView) }, 200);
  });
  app.openapi(deleteScope, async (c) => {
    const { scope } = c.req.valid('param');
    const { service, records } = c.get('instance');
    if (isDryRun(c)) {
      const { plan } = await planned(c, Actions.SCOPE_DELETE, [scope], () => service.deleteScope(scope));
      return c.json({ plan, dryRun: true, published: null }, 200);
    }
    const r = await audited(c, { action: Actions.SCOPE_DELETE, scopes: [scope], scope, digest: () => scopeDigest(records.trust, scope) }, () => service.deleteScope(scope));
    return c.json({ published: published(r) }, 200);
  });
  app.openapi(addAnchor, async (c) => {
    const body = c.req.valid('json');
    const { scope } = c.req.valid('param');
    const { service, records } = c.get('instance');
    const input = {
      certificate: body.certificate === undefined ? undefined : decode(body.certificate, body.encoding),
      publicKey: body.publicKey === undefined ? undefined : decode(body.publicKey, body.encoding),
      type: body.type,
      name: body.name,
      trustedIdentities: body.trustedIdentities,
    };
    // The audit entry's target is the anchor's ID (issue 15: the console's audit log showed none).
    const target = await anchorIdOf(input);
    if (isDryRun(c)) {
      const { result, plan } = await planned(c, Actions.ANCHOR_ADD, [scope], () => service.addAnchor(scope, input));
      return c.json({ anchor: anchorView(result.anchor), plan, dryRun: true, published: null }, 200);
    }
    const r = await audited(c, { action: Actions.ANCHOR_ADD, scopes: [scope], scope, target, digest: () => scopeDigest(records.trust, scope) }, () =>
      service.addAnchor(scope, input),
    );
    return c.json({ anchor: anchorView(r.anchor), published: published(r) }, 201);
  });
  app.openapi(removeAnchor, async (c) => {
    const { scope, id } = c.req.valid('param');
    const { service, records } = c.get('instance');
    if (isDryRun(c)) {
      const { plan } = await planned(c, Actions.ANCHOR_REMOVE, [scope], () => service.removeAnchor(scope, id));
      return c.json({ plan, dryRun: true, published: null }, 200);
    }
    const r = await audited(c, { action: Actions.ANCHOR_REMOVE, scopes: [scope], scope, target: id, digest: () => scopeDigest(records.trust, scope) }, () =>
      service.removeAnchor(scope, id),
    );
    return c.json({ published: published(r) }, 200);
  });
  return app;
}
