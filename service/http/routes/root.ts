/**
 * /api/v1/root/... (the root ceremony) and /api/v1/keys/{role}/rotate. Admin tokens only:
 * these change who the repository's clients trust.
 */
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../context.js';
import { ErrorBody } from '../schemas.js';
import { validationHook } from '../validation.js';
import { KeyshareError, Codes } from '../../errors.js';
import { rotateLogKey } from '../../tlog/rotate.js';
import { audited } from '../authz.js';

const json = <T extends z.ZodType>(schema: T, description: string) => ({ content: { 'application/json': { schema } }, description });
const errors = {
  400: json(ErrorBody, 'invalid request, or a threshold not met (THRESHOLD_NOT_MET), an unknown key (UNKNOWN_KEY), a bad signature (BAD_SIGNATURE)'),
  401: json(ErrorBody, 'missing or invalid token'),
  403: json(ErrorBody, 'not an admin token'),
  404: json(ErrorBody, 'no root is staged (NO_PROPOSAL)'),
  409: json(ErrorBody, 'a root is already staged (PROPOSAL_PENDING)'),
};

const ThresholdReport = z.object({
  version: z.number(),
  threshold: z.number(),
  signedBy: z.array(z.string()),
  unsigned: z.array(z.string()),
  missing: z.number(),
});
const Proposal = z
  .object({
    version: z.number(),
    createdAt: z.string(),
    reason: z.string().nullable(),
    changes: z.array(z.string()),
    status: z.object({ trusted: ThresholdReport, proposed: ThresholdReport, met: z.boolean() }),
    missing: z.string(),
    metadata: z.record(z.string(), z.any()).openapi({ description: 'the staged root N+1 with its signatures (TUF root metadata)' }),
  })
  .openapi('RootProposal');
const ProposalCreate = z
  .object({
    addKeys: z.array(z.string()).optional().openapi({ description: 'PEM public keys (Ed25519 or ECDSA P-256) to add as root keys' }),
    removeKeys: z.array(z.string()).optional().openapi({ description: 'TUF key IDs of root keys to remove' }),
    threshold: z.number().int().optional(),
    expires: z.string().optional().openapi({ description: 'a duration (365d, 52w, 1y) or an ISO 8601 time' }),
  })
  .openapi('RootProposalCreate');
const SignaturesBody = z
  .object({
    signatures: z
      .array(z.object({ keyid: z.string(), sig: z.string() }))
      .optional()
      .openapi({ description: 'hex signatures over the canonical JSON of the staged root\'s "signed"' }),
    metadata: z.record(z.string(), z.any()).optional().openapi({ description: 'the staged root as signed offline: its signatures are imported' }),
  })
  .openapi('RootSignatures');
const PublishResult = z
  .object({ version: z.number(), rotatedRoles: z.array(z.string()), rolesSigned: z.array(z.string()), timestampVersion: z.number() })
  .openapi('RootPublished');
const RoleParam = z.object({ role: z.enum(['targets', 'snapshot', 'timestamp']).openapi({ param: { name: 'role', in: 'path' } }) });

const getProposal = createRoute({
  method: 'get',
  path: '/root/proposal',
  tags: ['root'],
  summary: 'The staged root N+1: changes, signatures present and missing, and the metadata to sign offline',
  responses: { 200: json(Proposal, 'the staged root'), ...errors },
});
const createProposal = createRoute({
  method: 'post',
  path: '/root/proposal',
  tags: ['root'],
  summary: 'Stage root N+1: add or remove root keys, change the threshold or the expiry',
  request: { body: { content: { 'application/json': { schema: ProposalCreate } }, required: true } },
  responses: { 201: json(Proposal, 'staged'), ...errors },
});
const deleteProposal = createRoute({
  method: 'delete',
  path: '/root/proposal',
  tags: ['root'],
  summary: 'Discard the staged root (and any online key it staged)',
  responses: { 200: json(z.object({ discarded: z.boolean() }), 'discarded'), ...errors },
});
const addSignatures = createRoute({
  method: 'post',
  path: '/root/proposal/signatures',
  tags: ['root'],
  summary: 'Add signatures to the staged root, by key ID or as a signed copy of it',
  request: { body: { content: { 'application/json': { schema: SignaturesBody } }, required: true } },
  responses: { 200: json(Proposal, 'the staged root with the new signatures'), ...errors },
});
const publishRoot = createRoute({
  method: 'post',
  path: '/root/publish',
  tags: ['root'],
  summary: 'Publish the staged root when the thresholds of root N and root N+1 are both met (TUF spec 5.3.4)',
  responses: { 200: json(PublishResult, 'published'), ...errors },
});
const rotateKey = createRoute({
  method: 'post',
  path: '/keys/{role}/rotate',
  tags: ['keys'],
  summary: 'Rotate an online key: publishes at once while root keys are in the data dir, otherwise stages root N+1 for signing',
  request: {
    params: RoleParam,
    body: {
      content: {
        'application/json': {
          schema: z
            .object({
              pkcs11: z.string().startsWith('pkcs11:').optional().openapi({
                description: 'generate the new key in this PKCS#11 token (RFC 7512 URI with module-path; PIN as pin-value, pin-source or KEYSHARE_PKCS11_PIN)',
              }),
            })
            .openapi('KeyRotate'),
        },
      },
      required: false,
    },
  },
  responses: {
    200: json(z.object({ role: z.string(), keyid: z.string(), published: PublishResult.nullable(), proposal: Proposal.nullable() }), 'rotated or staged'),
    ...errors,
  },
});

const rotateLogKeyRoute = createRoute({
  method: 'post',
  path: '/keys/log/rotate',
  tags: ['keys'],
  summary: "Rotate the transparency log's key (issue 23): a new key for the same log, stated in the signed top-level targets by a publish",
  responses: {
    200: json(z.object({ previous: z.string(), key: z.string(), timestampVersion: z.number() }).openapi('LogKeyRotation'), 'rotated and published'),
    ...errors,
  },
});

function requireAdmin(): MiddlewareHandler<AppEnv> {
  return async function requireAdminMiddleware(c, next) {
    if (c.get('principal')?.role !== 'admin') throw new KeyshareError(Codes.FORBIDDEN, 'root and key operations need an admin token');
    await next();
  };
}

/** The root ceremony, built once with the instance (service/instance.ts). */
const ceremony = (c: { get(k: 'instance'): AppEnv['Variables']['instance'] }) => c.get('instance').ceremony;

export function rootRoutes(): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.use('/root/*', requireAdmin());
  app.use('/keys/*', requireAdmin());
  app.openapi(getProposal, async (c) => c.json((await ceremony(c).status()) as never, 200));
  app.openapi(createProposal, async (c) => c.json((await ceremony(c).propose(c.req.valid('json'))) as never, 201));
  app.openapi(deleteProposal, async (c) => {
    await ceremony(c).discard();
    return c.json({ discarded: true }, 200);
  });
  app.openapi(addSignatures, async (c) => {
    const body = c.req.valid('json');
    if (!body.metadata === !body.signatures) throw new KeyshareError(Codes.BAD_REQUEST, 'give either signatures or metadata');
    const cer = ceremony(c);
    return c.json((await (body.metadata ? cer.importSigned(body.metadata) : cer.addSignatures(body.signatures!))) as never, 200);
  });
  app.openapi(publishRoot, async (c) => c.json((await ceremony(c).publish()) as never, 200));
  // Issue 23, `key rotate log`: the transparency log's key (service/tlog/rotate.ts); before the online roles' route.
  app.openapi(rotateLogKeyRoute, async (c) => {
    const inst = c.get('instance');
    const r = await audited(c, { action: 'log.key.rotate', scopes: [null], target: 'log' }, () => rotateLogKey(inst));
    return c.json(r, 200);
  });
  app.openapi(rotateKey, async (c) => {
    const body = (c.req.header('content-type')?.includes('json') ? c.req.valid('json') : {}) ?? {};
    return c.json((await ceremony(c).rotate(c.req.valid('param').role, { pkcs11: body.pkcs11 })) as never, 200);
  });
  return app;
}
