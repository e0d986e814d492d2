/** The zod schemas that validate admin requests; the OpenAPI description is generated from them. */
import { z } from '@hono/zod-openapi';
import { LEVELS, REVOCATION_REASONS } from '../domain/types.js';

export const ErrorBody = z.object({ code: z.string(), message: z.string() }).openapi('Error');

export const Level = z.enum(LEVELS as [string, ...string[]]).openapi('Level');
export const Reason = z.enum(REVOCATION_REASONS).openapi('RevocationReason');

export const ScopeParam = z.object({
  scope: z.string().min(1).openapi({ param: { name: 'scope', in: 'path' }, description: 'URL-encoded scope', example: 'registry.acme.io%2Fteam-a' }),
});
export const AnchorParam = ScopeParam.extend({
  id: z.string().min(1).openapi({ param: { name: 'id', in: 'path' }, example: 'sha256:…' }),
});

export const ScopeCreate = z
  .object({ scope: z.string(), inherit: z.boolean().optional(), level: Level.nullable().optional() })
  .openapi('ScopeCreate');

export const Scope = z
  .object({ scope: z.string(), inherit: z.boolean(), level: Level.nullable(), source: z.string().nullable().optional() })
  .openapi('Scope');

export const AnchorCreate = z
  .object({
    certificate: z.string().optional().openapi({ description: 'PEM, or base64 DER with encoding=base64' }),
    publicKey: z.string().optional().openapi({ description: 'PEM public key or OpenPGP key (armored, or base64 binary with encoding=base64)' }),
    encoding: z.enum(['text', 'base64']).optional(),
    type: z.enum(['ca', 'signingAuthority', 'tsa', 'publicKey', 'pgp']).optional(),
    name: z.string().optional(),
    trustedIdentities: z.array(z.string()).optional(),
  })
  .openapi('AnchorCreate');

export const Anchor = z
  .object({
    scope: z.string(),
    id: z.string(),
    name: z.string(),
    type: z.string(),
    material: z.string(),
    trustedIdentities: z.array(z.string()).nullable(),
    subject: z.string().nullable().optional(),
    notAfter: z.string().nullable().optional(),
  })
  .openapi('Anchor');

export const RevocationCreate = z
  .object({
    kind: z.enum(['certificate', 'key', 'signature']),
    issuer: z.string().optional(),
    serial: z.string().optional(),
    id: z.string().optional(),
    digest: z.string().optional(),
    certificate: z.string().optional().openapi({
      description: 'revoke this certificate (PEM, or DER as base64 with encoding=base64): its serial is read from it, and its issuer is itself (self-issued), the CA anchor that signed it, or a CA certificate given after it',
    }),
    encoding: z.enum(['text', 'base64']).optional(),
    reason: Reason.optional(),
    scope: z.string().nullable().optional(),
  })
  .openapi('RevocationCreate');

export const ApplyBody = z
  .object({
    scopes: z.array(z.any()).optional(),
    revoked: z.record(z.string(), z.any()).optional(),
  })
  .passthrough()
  .openapi('ApplyFile');

export const Published = z.object({ timestampVersion: z.number() }).nullable().openapi('Published');
