/**
 * CRLs: `POST /api/v1/crls` adds one, `GET /api/v1/crls` lists them (admin API), and
 * `GET /crl/{issuer-hex}.crl` serves the newest one of a CA anchor at a stable URL for a
 * certificate's CRL distribution point (CONTRACT.md "HTTP, besides /tuf/").
 */
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import { Hono } from 'hono';
import type { AppEnv } from '../context.js';
import { ErrorBody, Published } from '../schemas.js';
import { validationHook } from '../validation.js';
import { published } from './scopes.js';
import { crlTargetPath } from '../../domain/trust.js';
import { crlNumberDecimal } from '../../domain/crl.js';
import { MAX_CRL_BYTES } from '../../crypto/index.js';
import type { CrlRecord } from '../../store/index.js';
import { normalizeAnchorId } from '../../domain/anchor.js';
import { addCrlFromUrl, checkCrlUrl } from '../../crl/refresh.js';
import { Actions } from '../../auth/authorize.js';
import { crlsDigest } from '../../audit/digest.js';
import { audited } from '../authz.js';
import { Codes } from '../../errors.js';

const json = <T extends z.ZodType>(schema: T, description: string) => ({ content: { 'application/json': { schema } }, description });
const errors = {
  400: json(ErrorBody, 'refused: CRL_INVALID, CRL_UNKNOWN_ISSUER, CRL_BAD_SIGNATURE, CRL_NOT_YET_VALID, CRL_EXPIRED, CRL_NO_NEXT_UPDATE'),
  401: json(ErrorBody, 'missing or invalid token'),
  403: json(ErrorBody, 'adding a CRL needs an admin token'),
  409: json(ErrorBody, 'ROLLBACK: the CRL number is not greater than the stored one'),
  413: json(ErrorBody, `CRL_TOO_LARGE: a CRL is limited to ${MAX_CRL_BYTES} bytes`),
};

export const CrlCreate = z
  .object({
    crl: z.string().min(1).optional().openapi({ description: 'the CRL: PEM ("X509 CRL"), or DER as base64 with encoding=base64' }),
    encoding: z.enum(['text', 'base64']).optional(),
    url: z.string().min(1).max(2048).optional().openapi({
      description: 'where the CA publishes its CRL (http or https): without crl, fetched now; either way, fetched again on a schedule derived from nextUpdate',
    }),
    issuer: z.string().optional().openapi({ description: 'the CA anchor ID the CRL must belong to' }),
  })
  .refine((b) => b.crl !== undefined || b.url !== undefined, { message: 'give crl, url, or both' })
  .openapi('CrlCreate');

export const CrlView = z
  .object({
    issuer: z.string().openapi({ description: 'the CA anchor ID' }),
    crlNumber: z.string().openapi({ description: 'RFC 5280 5.2.3 CRL number, in decimal (as openssl shows it)' }),
    crlNumberHex: z.string().openapi({ description: 'the same CRL number in lower-case hex' }),
    thisUpdate: z.string(),
    nextUpdate: z.string(),
    target: z.string().openapi({ description: 'TUF target path, also served at /{target}' }),
    url: z.string().nullable().openapi({ description: 'where the service fetches the next CRL, if anywhere' }),
    lastFetchAt: z.string().nullable(),
    lastError: z.string().nullable(),
    updatedAt: z.string(),
    size: z.number(),
  })
  .openapi('Crl');

const addCrl = createRoute({
  method: 'post',
  path: '/',
  tags: ['crls'],
  summary: 'Add a CRL signed by one of the CA anchors',
  description:
    'Checked in order: the issuer is a CA anchor, the signature verifies with its key, thisUpdate is not in the future, nextUpdate is present and not passed, and the CRL number is greater than the stored one (RFC 5280 5.2.3). The CRL is then published byte for byte as target crl/{issuer-hex}.crl.',
  request: { body: { content: { 'application/json': { schema: CrlCreate } }, required: true } },
  responses: {
    201: json(
      z.object({
        crl: z.object({
          issuer: z.string(),
          crlNumber: z.string(),
          crlNumberHex: z.string(),
          thisUpdate: z.string(),
          nextUpdate: z.string(),
          revoked: z.number(),
          digest: z.string(),
          target: z.string(),
          url: z.string().nullable(),
        }),
        published: Published,
      }),
      'accepted',
    ),
    ...errors,
  },
});

const listCrls = createRoute({
  method: 'get',
  path: '/',
  tags: ['crls'],
  summary: 'List the stored CRLs (the newest per CA anchor)',
  responses: { 200: json(z.object({ crls: z.array(CrlView) }), 'every stored CRL'), 401: errors[401] },
});

export function crlView(c: CrlRecord): z.infer<typeof CrlView> {
  return {
    issuer: c.issuer,
    crlNumber: crlNumberDecimal(c.crlNumber),
    crlNumberHex: c.crlNumber,
    thisUpdate: c.thisUpdate,
    nextUpdate: c.nextUpdate,
    target: crlTargetPath(c.issuer),
    url: c.url,
    lastFetchAt: c.lastFetchAt,
    lastError: c.lastError,
    updatedAt: c.updatedAt,
    size: c.der.length,
  };
}

/** Mounted at /api/v1/crls. */
export function crlRoutes(): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.openapi(listCrls, async (c) => c.json({ crls: (await c.get('instance').records.crls.listCrls()).map(crlView) }, 200));
  app.openapi(addCrl, async (c) => {
    const body = c.req.valid('json');
    const { service, records, outbound } = c.get('instance');
    const issuer = body.issuer === undefined ? undefined : normalizeAnchorId(body.issuer);
    const url = body.url === undefined ? undefined : checkCrlUrl(body.url);
    // Admin-only (service/auth/authorize.ts): a CRL changes the trust of every scope with its CA.
    const r = await audited(c, { action: Actions.CRL_ADD, scopes: [], target: url ?? null, digest: () => crlsDigest(records.crls) }, () => {
      // Without the CRL itself: fetch it from the URL now (same checks), then keep it fresh.
      if (body.crl === undefined) return addCrlFromUrl(records.crls, service, url!, { issuer, outbound });
      const input = body.encoding === 'base64' ? new Uint8Array(Buffer.from(body.crl, 'base64')) : body.crl;
      return service.addCrl(input, { ...(url !== undefined ? { url } : {}), expectIssuer: issuer });
    });
    return c.json({ crl: r.crl, published: published(r) }, 201);
  });
  return app;
}

/** Mounted at /crl: the DER of the newest CRL of a CA anchor, no token needed. */
export function crlFileRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get('/:file{[0-9a-fA-F]{64}\\.crl}', async (c) => {
    const hex = c.req.param('file').slice(0, 64).toLowerCase();
    const crl = await c.get('instance').records.crls.getCrl(`sha256:${hex}`);
    if (!crl) return c.json({ code: Codes.NOT_FOUND, message: `no CRL for issuer sha256:${hex}` }, 404);
    const etag = `"crl-${hex}-${crl.crlNumber}"`;
    c.header('ETag', etag);
    // A CRL changes when its CA issues the next one; caches may keep it a short while.
    c.header('Cache-Control', 'public, max-age=60');
    c.header('Last-Modified', new Date(crl.thisUpdate).toUTCString());
    if (c.req.header('if-none-match') === etag) return c.body(null, 304);
    c.header('Content-Type', 'application/pkix-crl');
    return c.body(new Uint8Array(crl.der) as Uint8Array<ArrayBuffer>);
  });
  return app;
}
