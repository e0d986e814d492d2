/**
 * /api/v1/ca: keyshare's signing authorities (issue 18). Admins create, import, list and show
 * them; `signer` tokens (and admins) get short-lived signing certificates from
 * `POST /api/v1/ca/{name}/certificates` with a PKCS#10 CSR.
 */
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { AppEnv } from '../context.js';
import { ErrorBody } from '../schemas.js';
import { validationHook } from '../validation.js';
import { Actions } from '../../auth/authorize.js';
import { audited } from '../authz.js';
import { markAudited } from '../middleware/audit.js';
import { KeyshareError, Codes, CaCodes } from '../../errors.js';
import { CaCryptoCodes } from '../../crypto/ca.js';

const json = <T extends z.ZodType>(schema: T, description: string) => ({ content: { 'application/json': { schema } }, description });
const errors = {
  400: json(ErrorBody, 'refused: CA_NAME_INVALID, CSR_INVALID, CSR_BAD_SIGNATURE, CSR_CA_KEY, CSR_KEY_UNSUPPORTED, IDENTITY_INVALID, VALIDITY_TOO_LONG, CA_KEY_MISMATCH, NOT_A_CA'),
  401: json(ErrorBody, 'missing or invalid token'),
  403: json(ErrorBody, 'FORBIDDEN: creating a CA needs an admin token; issuing needs a signer token within the CA scopes (and bound to this CA, if bound)'),
  404: json(ErrorBody, CaCodes.CA_NOT_FOUND),
  409: json(ErrorBody, CaCodes.CA_EXISTS),
  413: json(ErrorBody, CaCryptoCodes.CSR_TOO_LARGE),
  429: json(ErrorBody, 'RATE_LIMITED: too many certificates for this token this minute'),
  503: json(ErrorBody, 'CA_KEY_UNAVAILABLE: this replica has neither the CA key file nor its HSM'),
};

const CaCreate = z
  .object({
    name: z.string().openapi({ example: 'release' }),
    scopes: z.array(z.string().min(1)).min(1).max(256).openapi({ description: 'the scopes whose trust gets the CA as a `ca` anchor (and the TSA root as `tsa`)' }),
    key: z
      .object({ pem: z.string().min(1).optional(), uri: z.string().min(1).max(4096).optional() })
      .refine((k) => (k.pem === undefined) !== (k.uri === undefined), { message: 'give key.pem or key.uri' })
      .nullable()
      .optional()
      .openapi({ description: 'the issuing key: PEM private key, or a pkcs11: URI (a module the operator allowed); none: keyshare generates one' }),
    certificate: z.string().min(1).nullable().optional().openapi({ description: '`ca import`: the CA certificate, optionally followed by its chain up to the root (PEM)' }),
    validity: z.string().nullable().optional().openapi({ description: 'CA certificate validity (default 5y; the root keyshare makes lives twice as long)', example: '5y' }),
    subject: z.string().nullable().optional().openapi({ description: 'C, ST and O of every certificate the CA issues (default C=ZZ, ST=keyshare, O=<name>)', example: 'C=US, ST=WA, O=Acme' }),
  })
  .openapi('CaCreate');

const CaView = z
  .object({
    name: z.string(),
    scopes: z.array(z.string()),
    id: z.string().openapi({ description: 'the CA anchor ID of the issuing certificate; its CRL is crl/{hex}.crl' }),
    subject: z.string(),
    notAfter: z.string(),
    root: z.object({ id: z.string(), subject: z.string(), notAfter: z.string() }).nullable(),
    key: z.string().openapi({ description: '`file`, or the pkcs11: URI without PIN' }),
    trustedIdentity: z.string(),
    crl: z.object({ crlNumber: z.string(), thisUpdate: z.string(), nextUpdate: z.string(), target: z.string() }).nullable(),
    tsa: z.object({ id: z.string(), subject: z.string() }).nullable(),
    createdAt: z.string(),
  })
  .openapi('SigningAuthority');

const IssueBody = z
  .object({
    csr: z.string().openapi({ description: 'a PKCS#10 CSR, PEM' }),
    validity: z.string().nullable().optional().openapi({ description: "at most the token's --max-validity (default 10m, or less)", example: '10m' }),
    identity: z.string().nullable().optional().openapi({ description: 'CN and OU of the subject (RFC 4514)', example: 'CN=ci:release, OU=team-a' }),
  })
  .openapi('CertificateRequest');

const Issued = z
  .object({
    issuer: z.string(),
    serial: z.string(),
    subject: z.string(),
    notBefore: z.string(),
    notAfter: z.string(),
    certificate: z.string().openapi({ description: 'the leaf, PEM' }),
    chain: z.string().openapi({ description: 'leaf, issuing CA and root, PEM' }),
  })
  .openapi('IssuedCertificate');

const NameParam = z.object({ name: z.string().min(1).openapi({ param: { name: 'name', in: 'path' }, example: 'release' }) });

const createCa = createRoute({
  method: 'post',
  path: '/',
  tags: ['ca'],
  summary: 'Create a signing authority (an intermediate under a root keyshare makes), or import one with `certificate` and `key`',
  request: { body: { content: { 'application/json': { schema: CaCreate } }, required: true } },
  responses: { 201: json(CaView.extend({ rootKeyPath: z.string().nullable() }), 'created'), ...errors },
});
const listCas = createRoute({ method: 'get', path: '/', tags: ['ca'], summary: 'List signing authorities', responses: { 200: json(z.object({ cas: z.array(CaView) }), 'every CA'), ...errors } });
const showCa = createRoute({ method: 'get', path: '/{name}', tags: ['ca'], summary: 'Show a signing authority', request: { params: NameParam }, responses: { 200: json(CaView, 'the CA'), ...errors } });
const issue = createRoute({
  method: 'post',
  path: '/{name}/certificates',
  tags: ['ca'],
  summary: 'Issue a short-lived code-signing certificate for a CSR (signer token)',
  request: { params: NameParam, body: { content: { 'application/json': { schema: IssueBody } }, required: true } },
  responses: { 201: json(Issued, 'issued'), ...errors },
});

export function caRoutes(): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.openapi(createCa, async (c) => {
    const body = c.req.valid('json');
    const { ca } = c.get('instance');
    const created = await audited(c, { action: Actions.CA_CREATE, scopes: [], target: body.name, details: { scopes: body.scopes, import: !!body.certificate } }, () =>
      ca.create({ name: body.name, scopes: body.scopes, key: body.key as never, certificate: body.certificate, validity: body.validity, subject: body.subject }),
    );
    return c.json(created, 201);
  });
  app.openapi(listCas, async (c) => c.json({ cas: await c.get('instance').ca.list() }, 200));
  app.openapi(showCa, async (c) => c.json(await c.get('instance').ca.show(c.req.valid('param').name), 200));
  app.openapi(issue, async (c) => {
    const { name } = c.req.valid('param');
    const body = c.req.valid('json');
    const instance = c.get('instance');
    const principal = c.get('principal');
    const token = await instance.records.tokens.getToken(principal.tokenId);
    if (!token) throw new KeyshareError(Codes.UNAUTHORIZED, 'a valid bearer token is required');
    const issued = await instance.ca.issue({ name, principal, token, csr: body.csr, validity: body.validity, identity: body.identity, baseUrl: c.get('client').origin }); // behind a --trusted-proxy, the origin clients use (issue 16 finding 7)
    markAudited(c.req.raw); // the CA service recorded it (token, CSR key ID, serial, subject, validity)
    c.header('cache-control', 'no-store');
    return c.json(issued, 201);
  });
  return app;
}
