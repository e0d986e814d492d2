/**
 * /api/v1/scopes/{scope}/blocks: local blocks of (upstream) anchors (service/anchor-blocks.ts,
 * service/domain/federation.ts). Scoped writes: an editor may block inside its scope patterns.
 */
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { AppEnv } from '../context.js';
import { AnchorParam, ErrorBody, Published, ScopeParam } from '../schemas.js';
import { validationHook } from '../validation.js';
import { published } from './scopes.js';
import { Actions } from '../../auth/authorize.js';
import { scopeDigest } from '../../audit/digest.js';
import { audited } from '../authz.js';
import { DryRunQuery, isDryRun, planned } from '../dry-run.js';

const json = <T extends z.ZodType>(schema: T, description: string) => ({ content: { 'application/json': { schema } }, description });
const errors = {
  400: json(ErrorBody, 'invalid request'),
  401: json(ErrorBody, 'missing or invalid token'),
  403: json(ErrorBody, 'the token may not write at this scope'),
  404: json(ErrorBody, 'no such scope, or no such block'),
};

const Block = z.object({ scope: z.string(), anchorId: z.string(), createdAt: z.string() }).openapi('AnchorBlock');

const listBlocks = createRoute({
  method: 'get',
  path: '/{scope}/blocks',
  tags: ['anchors'],
  summary: 'List the anchors blocked at a scope',
  request: { params: ScopeParam },
  responses: { 200: json(z.object({ blocks: z.array(Block) }), 'the blocks'), ...errors },
});
const addBlock = createRoute({
  method: 'post',
  path: '/{scope}/blocks',
  tags: ['anchors'],
  summary: "Block an anchor at a scope: it is left out of this scope's trust (and of scopes inheriting from it), whatever the upstream says",
  request: { params: ScopeParam, query: DryRunQuery, body: { content: { 'application/json': { schema: z.object({ id: z.string().min(1).max(100) }) } }, required: true } },
  responses: {
    200: json(z.object({ added: z.boolean(), block: Block, plan: z.array(z.any()), dryRun: z.boolean(), published: Published }), 'with dryRun: planned'),
    201: json(z.object({ added: z.boolean(), block: Block, published: Published }), 'blocked'),
    ...errors,
  },
});
const removeBlock = createRoute({
  method: 'delete',
  path: '/{scope}/blocks/{id}',
  tags: ['anchors'],
  summary: 'Lift a block',
  request: { params: AnchorParam, query: DryRunQuery },
  responses: { 200: json(z.object({ published: Published, plan: z.array(z.any()).optional(), dryRun: z.boolean().optional() }), 'lifted (or, with dryRun, planned)'), ...errors },
});

const listAllBlocks = createRoute({
  method: 'get',
  path: '/',
  tags: ['anchors'],
  summary: 'List every anchor block, at every scope (also at scopes that are gone)',
  responses: { 200: json(z.object({ blocks: z.array(Block) }), 'the blocks'), ...errors },
});

/** /api/v1/blocks: every block (issue 24: `keyshare anchor blocks`). */
export function allBlockRoutes(): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.openapi(listAllBlocks, async (c) => {
    return c.json({ blocks: await c.get('instance').blocks.list() }, 200);
  });
  return app;
}

export function blockRoutes(): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  const blocks = (c: { get(k: 'instance'): AppEnv['Variables']['instance'] }) => c.get('instance').blocks;
  app.openapi(listBlocks, async (c) => c.json({ blocks: await blocks(c).list(c.req.valid('param').scope) }, 200));
  app.openapi(addBlock, async (c) => {
    const { scope } = c.req.valid('param');
    const { id } = c.req.valid('json');
    const { records } = c.get('instance');
    if (isDryRun(c)) {
      const { result, plan } = await planned(c, Actions.ANCHOR_BLOCK, [scope], () => blocks(c).block(scope, id));
      return c.json({ added: result.added, block: result.block, plan, dryRun: true, published: null }, 200);
    }
    const r = await audited(c, { action: Actions.ANCHOR_BLOCK, scopes: [scope], scope, target: id, digest: () => scopeDigest(records.trust, scope) }, () => blocks(c).block(scope, id));
    return c.json({ added: r.added, block: r.block, published: published(r) }, 201);
  });
  app.openapi(removeBlock, async (c) => {
    const { scope, id } = c.req.valid('param');
    const { records } = c.get('instance');
    if (isDryRun(c)) {
      const { plan } = await planned(c, Actions.ANCHOR_UNBLOCK, [scope], () => blocks(c).unblock(scope, id));
      return c.json({ plan, dryRun: true, published: null }, 200);
    }
    const r = await audited(c, { action: Actions.ANCHOR_UNBLOCK, scopes: [scope], scope, target: id, digest: () => scopeDigest(records.trust, scope) }, () => blocks(c).unblock(scope, id));
    return c.json({ published: published(r) }, 200);
  });
  return app;
}
